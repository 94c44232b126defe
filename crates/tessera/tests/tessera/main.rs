//! The `tessera` binary's integration tests, in one binary: the CLI (`cli`), crash safety
//! under SIGKILL (`crash`), and replicas and migration on PostgreSQL (`postgres`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]
#![allow(missing_docs, reason = "integration tests")]

mod cli;
mod common;
mod crash;
mod postgres;
