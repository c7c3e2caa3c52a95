//! Test fixtures shared by the workspace's integration tests.
//!
//! The API is synchronous: tests drive the project's binaries as subprocesses. Each server
//! fixture runs its own tokio runtime on a background thread, listens on 127.0.0.1 only, and
//! shuts down when dropped.
//!
//! - [`FakeSts`]: a scripted STS (`AssumeRoleWithWebIdentity`) over HTTP or HTTPS.
//! - [`FakeKube`]: a fake Kubernetes API server that the real `kubectl` and kube-rs accept.
//! - [`Moto`]: the moto server from PyPI, a faithful local STS and IAM (see `tests/setup-venv`).
//! - [`run::Run`]: a finished run of a binary, and the assertions tests make on it.
//! - [`server::BackgroundServer`] and [`tls::ServerTls`]: building blocks for more fakes.

pub mod fake_iam;
pub mod fake_kube;
pub mod fake_sts;
pub mod fault_sts;
pub mod hostile_kube;
pub mod moto;
pub mod run;
pub mod server;
mod sts_xml;
pub mod tls;

pub use fake_kube::FakeKube;
pub use fake_sts::{FakeSts, IssuedCredentials, Reply, StsRequest};
pub use moto::{Moto, venv_bin, venv_dir};
pub use run::Run;
