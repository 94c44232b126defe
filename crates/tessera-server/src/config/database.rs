//! `[database]`: where the state lives, and the pool's limits.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[database]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`; defaults to
    /// `sqlite://<data_dir>/tessera.db`.
    pub url: Option<String>,
    /// Connection pool size.
    pub max_connections: u32,
    /// How long a request waits for a connection before answering 503.
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
    /// Longest a single statement may run on PostgreSQL before it is cancelled (503).
    #[serde(with = "humantime_serde")]
    pub statement_timeout: Duration,
    /// How often a running server re-reads the signing keys, so that a key rotated by
    /// another replica (or the CLI) is published and used within this bound.
    #[serde(with = "humantime_serde")]
    pub key_reload_interval: Duration,
    /// How often a running server removes expired tokens, codes, sessions, revocation
    /// entries and login counters.
    #[serde(with = "humantime_serde")]
    pub prune_interval: Duration,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
            key_reload_interval: Duration::from_secs(10),
            prune_interval: Duration::from_secs(600),
        }
    }
}

/// The database engines Tessera stores its state in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file, one machine.
    Sqlite,
    /// One server, many replicas.
    Postgres,
}

impl Backend {
    /// The backend a database URL names, if any.
    pub fn of(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}
