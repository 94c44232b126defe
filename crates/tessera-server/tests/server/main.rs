//! The server's integration tests, in one binary: `api` (HTTP against a real server on a
//! random port), `store` (the conformance suite both backends pass), `postgres`
//! (PostgreSQL faults) and `vault` (the Vault key backends against a real OpenBao).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]
#![allow(missing_docs, reason = "integration tests")]

mod api;
mod postgres;
mod store;
mod vault;
