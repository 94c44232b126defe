//! Writes and their turn: [`Turn`] (SQLite's writers queue on an async mutex), starting a
//! transaction so that it always finishes ([`begin_detached`]), and which failed
//! transactions may run again ([`retryable`]).

/// A connection or transaction for writing, and on SQLite the turn of this process's
/// writers: SQLite admits one writer at a time, and its busy handler makes waiting writers
/// sleep and poll (tens of milliseconds at the tail), so writers queue on an async mutex
/// instead, in order. Derefs to the connection, so statements run on it directly.
pub struct Turn<C> {
    conn: C,
    _turn: Option<Released>,
}

/// The SQLite writers' lock; given up after the write, and then the read cache is told
/// that the database changed (see [`crate::store::read_cache`]).
pub(in crate::store) struct Released {
    lock: Option<tokio::sync::OwnedMutexGuard<()>>,
    cache: std::sync::Arc<crate::store::read_cache::ReadCache>,
    /// Whether the write may have changed what the cache holds.
    stales_cache: bool,
}

impl Released {
    pub(in crate::store) fn new(
        lock: tokio::sync::OwnedMutexGuard<()>,
        cache: std::sync::Arc<crate::store::read_cache::ReadCache>,
    ) -> Self {
        Self {
            lock: Some(lock),
            cache,
            stales_cache: true,
        }
    }
}

impl Drop for Released {
    fn drop(&mut self) {
        // The write is committed (or rolled back) by now: answers read before are stale.
        if self.stales_cache {
            self.cache.generation.bump();
        }
        drop(self.lock.take());
    }
}

/// A write transaction with its turn.
pub type WriteTx<DB> = Turn<sqlx::Transaction<'static, DB>>;
/// A pooled connection for a single-statement write, with its turn.
pub type WriteConn<DB> = Turn<sqlx::pool::PoolConnection<DB>>;

impl<C> Turn<C> {
    /// Wraps `conn`, holding `turn` until it is dropped.
    pub(in crate::store) fn new(conn: C, turn: Option<Released>) -> Self {
        Self { conn, _turn: turn }
    }
}

impl<C> Turn<C> {
    /// Declares that this write touches none of the tables the read cache remembers
    /// (users, clients, revoked access tokens), so its answers stay valid. Only for
    /// writes that provably do not: the frequent ones (refresh rows, login counters,
    /// audit events).
    pub(in crate::store) fn leaves_cache_valid(&mut self) {
        if let Some(turn) = self._turn.as_mut() {
            turn.stales_cache = false;
        }
    }
}

impl<DB: sqlx::Database> Turn<sqlx::Transaction<'static, DB>> {
    /// Commits (and then gives up the turn).
    pub(in crate::store) async fn commit(self) -> Result<(), sqlx::Error> {
        self.conn.commit().await
    }
}

impl<C: std::ops::Deref> std::ops::Deref for Turn<C> {
    type Target = C::Target;

    fn deref(&self) -> &C::Target {
        &self.conn
    }
}

impl<C: std::ops::DerefMut> std::ops::DerefMut for Turn<C> {
    fn deref_mut(&mut self) -> &mut C::Target {
        &mut self.conn
    }
}

/// Runs `begin` (acquiring a connection and starting a transaction) as its own task, so it
/// always finishes: sqlx 0.8 cannot cancel `BEGIN` safely. A caller dropped while `BEGIN`
/// is in flight (a client hanging up, a timeout) leaves the session inside a transaction
/// that sqlx does not track, and the pool hands that connection to the next caller, whose
/// writes then run in it and are never committed (sqlx issues #4385 and #4393; on SQLite
/// the orphan also holds the write lock). Finished here, an abandoned `Transaction` is
/// dropped by the task and rolled back as usual.
pub(in crate::store) async fn begin_detached<DB, F>(
    begin: F,
) -> Result<sqlx::Transaction<'static, DB>, sqlx::Error>
where
    DB: sqlx::Database,
    F: std::future::Future<Output = Result<sqlx::Transaction<'static, DB>, sqlx::Error>>
        + Send
        + 'static,
{
    match tokio::spawn(begin).await {
        Ok(result) => result,
        Err(e) => Err(sqlx::Error::WorkerCrashed).inspect_err(|_| {
            tracing::error!(error = %e, "the task starting a transaction failed");
        }),
    }
}

/// Whether a failed transaction may simply be run again: PostgreSQL chose it as a
/// deadlock victim or a serialization failure (SQLSTATE 40P01, 40001). Concurrent reuse
/// detections on one family can still meet that way under load; nothing was written.
pub(in crate::store) fn retryable(e: &crate::store::StoreError) -> bool {
    matches!(e, crate::store::StoreError::Unavailable(sqlx::Error::Database(db))
        if matches!(db.code().as_deref(), Some("40P01" | "40001")))
}
