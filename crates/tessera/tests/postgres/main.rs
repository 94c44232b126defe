//! The binary on PostgreSQL: real `tessera serve` processes on one database (replicas),
//! and moving an installation from SQLite with `tessera export` / `import`. Every test
//! needs `TESSERA_TEST_POSTGRES_URL` and says "skipped" without it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "tests"
)]

mod common;
mod migrate;
mod replicas;
