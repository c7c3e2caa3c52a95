//! Shared STS pieces.
