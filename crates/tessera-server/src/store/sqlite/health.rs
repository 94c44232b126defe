//! Recovery of the SQLite pool after the file could not be written (an immutable or
//! read-only file, a failing or full disk), without a restart.
//!
//! Such an outage leaves two kinds of pooled connection that stay broken after the file
//! is writable again:
//! - a connection *opened* during the outage is read-only for good: SQLite falls back to
//!   read-only when it cannot open the file for writing, and never upgrades;
//! - a connection whose `COMMIT` failed: SQLite has rolled the transaction back, sqlx's
//!   queued `ROLLBACK` then fails, and sqlx still counts the connection inside a
//!   transaction, so every later `BEGIN` on it fails.
//!
//! [`Health::keeps`] runs before an idle connection is handed out: it refuses (and the pool
//! closes) one that sqlx counts inside a transaction, and one opened before the database
//! was last found writable again. That moment is set by [`watch`]: once a write failed
//! for an I/O reason ([`note_fault`]), it probes every [`PROBE`] with a connection of its
//! own (a committed write that changes nothing), and when a probe succeeds every
//! connection older than that is replaced as it is next acquired. Writes answer 503
//! meanwhile and recover within a probe interval of the file becoming writable.

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions as _, Connection as _};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How often an unwritable database is probed.
pub const PROBE: Duration = Duration::from_millis(100);

/// Writes that failed for an I/O reason in this process (any store: the count only says
/// "look"; a needless probe costs one connection and one empty transaction).
static IO_FAULTS: AtomicU64 = AtomicU64::new(0);

/// Records that a statement failed because the file could not be written.
pub fn note_fault() {
    IO_FAULTS.fetch_add(1, Ordering::Relaxed);
}

/// When the database was last found writable again after a fault.
#[derive(Debug, Default)]
pub struct Health {
    writable_since: Mutex<Option<Instant>>,
    /// A write failed for an I/O reason and no probe has succeeded since: `/readyz` says
    /// so, for a load balancer to send writes elsewhere.
    unwritable: AtomicBool,
}

impl Health {
    /// Whether an idle connection, opened `age` ago, may be handed out (`before_acquire`);
    /// the pool closes it otherwise and opens another.
    pub fn keeps(&self, conn: &SqliteConnection, age: Duration) -> bool {
        if conn.is_in_transaction() {
            tracing::warn!(
                "a pooled SQLite connection was left inside a failed transaction; replacing it"
            );
            return false;
        }
        let since = *self
            .writable_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let opened = Instant::now().checked_sub(age);
        match (since, opened) {
            (Some(since), Some(opened)) => opened >= since,
            _ => true,
        }
    }

    /// Whether writes are expected to work: no I/O fault since the last successful probe.
    pub fn writable(&self) -> bool {
        !self.unwritable.load(Ordering::Relaxed)
    }

    /// Retires every connection opened before now.
    fn writable_again(&self) {
        self.unwritable.store(false, Ordering::Relaxed);
        *self
            .writable_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
    }
}

/// Watches for I/O faults and probes the database until it is writable again. Ends with
/// the pool, whose `before_acquire` hook holds `health`. `turn` is this process's writers' lock:
/// the probe takes it so that it never waits in SQLite's busy handler behind them.
pub async fn watch(
    options: SqliteConnectOptions,
    turn: Arc<tokio::sync::Mutex<()>>,
    health: Weak<Health>,
) {
    let mut seen = IO_FAULTS.load(Ordering::Relaxed);
    let mut suspect = false;
    loop {
        let Some(live) = health.upgrade() else { return };
        let faults = IO_FAULTS.load(Ordering::Relaxed);
        if faults != seen {
            seen = faults;
            suspect = true;
        }
        if suspect {
            let probe = {
                let _turn = turn.lock().await;
                probe(&options).await
            };
            match probe {
                Ok(()) => {
                    live.writable_again();
                    suspect = false;
                    tracing::info!("the database is writable; replacing connections opened before");
                }
                Err(e) => {
                    live.unwritable.store(true, Ordering::Relaxed);
                    tracing::debug!(error = %e, "the database is still not writable");
                }
            }
        }
        drop(live);
        tokio::time::sleep(PROBE).await;
    }
}

/// Opens a connection and commits a write that changes nothing on it: `user_version`
/// (unused by Tessera and by sqlx's migrations) set to its own value. A connection that
/// SQLite opened read-only still starts a write transaction, so only a committed write
/// tells.
async fn probe(options: &SqliteConnectOptions) -> Result<(), sqlx::Error> {
    let mut conn = options.connect().await?;
    let result = rewrite_user_version(&mut conn).await;
    conn.close().await.ok();
    result
}

async fn rewrite_user_version(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut *tx)
        .await?;
    // PRAGMA takes no bound parameters; the value is the integer just read.
    sqlx::query(&format!("PRAGMA user_version = {version}"))
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connections_opened_before_the_database_was_writable_again_are_replaced() {
        let conn = SqliteConnectOptions::new()
            .in_memory(true)
            .connect()
            .await
            .unwrap();
        let health = Health::default();
        assert!(health.keeps(&conn, Duration::from_secs(60)), "no fault yet");
        health.writable_again();
        assert!(!health.keeps(&conn, Duration::from_secs(60)));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(health.keeps(&conn, Duration::from_millis(1)));
    }

    #[tokio::test]
    async fn a_connection_counted_inside_a_transaction_is_replaced() {
        let mut conn = SqliteConnectOptions::new()
            .in_memory(true)
            .connect()
            .await
            .unwrap();
        let health = Health::default();
        // What a failed COMMIT leaves: sqlx counts a transaction SQLite no longer has.
        let tx = conn.begin().await.unwrap();
        std::mem::forget(tx);
        assert!(!health.keeps(&conn, Duration::ZERO));
    }

    #[tokio::test]
    async fn a_read_only_database_fails_the_probe() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("probe.db");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        probe(&options).await.unwrap();
        let read_only = options.clone().read_only(true);
        assert!(probe(&read_only).await.is_err());
        // The probe changed nothing.
        let mut conn = options.connect().await.unwrap();
        let version: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(version, 0);
    }
}
