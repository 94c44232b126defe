//! The binary on PostgreSQL: real `tessera serve` processes on one database (replicas),
//! and moving an installation from SQLite with `tessera export` / `import`. Every test
//! needs `TESSERA_TEST_POSTGRES_URL` and says "skipped" without it.

mod migrate;
mod replicas;
