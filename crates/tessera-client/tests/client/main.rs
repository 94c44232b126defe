//! The client crate's integration tests, in one binary: local and remote verification,
//! shadow users, the axum extractor and back-channel logout, against a real Tessera.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]
#![allow(missing_docs, reason = "integration tests")]

mod axum;
mod logout;
mod remote;
mod shadow;
mod verify;
