//! The self-hosted issuer kit: signing keys and their `kid`, the discovery document and JWKS,
//! publishing on S3, the IAM provider's thumbprint and commands, and apiserver settings.
//!
//! Everything here but [`tls`] is pure: values in, values out.

pub mod apiserver;
pub mod documents;
pub mod keys;
pub mod provider;
pub mod publish;
pub mod s3;
pub mod tls;
