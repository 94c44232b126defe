//! The PostgreSQL backend: many replicas on one database.
//!
//! Isolation is PostgreSQL's default, READ COMMITTED: every multi-statement change is one
//! transaction, the exactly-once points are conditional `UPDATE`s (a second writer waits
//! for the first's row lock, then re-reads the row and matches nothing), and the
//! invariants replicas could race on are unique indexes. Every connection carries a
//! `statement_timeout`, and the pool an acquire timeout, so a slow or stopped database
//! turns into [`StoreError::Unavailable`] (503) instead of a hang.

use super::sql::{Column, Dialect, Engine, Query, Record, Value, WriteConn, WriteTx};
use super::{RefreshRecord, RotateOutcome, StoreError, StoreResult};
use crate::config::DatabaseSettings;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Tessera's state in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to the database at `url`. The pool connects lazily, so a server can start
    /// its listener and answer JWKS while the database is briefly away; the first query
    /// (the migration) still has to reach it.
    ///
    /// # Errors
    /// [`StoreError`] if the URL is invalid.
    pub async fn connect(url: &str, settings: &DatabaseSettings) -> StoreResult<Self> {
        let timeout_ms = settings.statement_timeout.as_millis().to_string();
        let mut options = PgConnectOptions::from_str(url).map_err(StoreError::Database)?;
        if options.get_application_name().is_none() {
            options = options.application_name("tessera");
        }
        let options = options.options([
            ("statement_timeout", timeout_ms.as_str()),
            ("lock_timeout", timeout_ms.as_str()),
            ("idle_in_transaction_session_timeout", timeout_ms.as_str()),
        ]);
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect_lazy_with(options);
        Ok(Self { pool })
    }

    /// Applies pending migrations (under PostgreSQL's advisory lock, so replicas starting
    /// together migrate once).
    ///
    /// # Errors
    /// [`StoreError::Migrate`].
    pub async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await?;
        super::sql::users::fill_username_keys(self).await
    }

    /// One rotation in its own transaction.
    async fn rotate_once(
        &self,
        old_jti: &str,
        next: &RefreshRecord,
        now: i64,
    ) -> StoreResult<RotateOutcome> {
        let mut tx = self.begin_write().await?;
        let outcome = super::sql::rotate_in::<sqlx::Postgres>(&mut tx, old_jti, next, now).await?;
        tx.commit().await.map_err(classify)?;
        Ok(outcome)
    }
}

/// Maps sqlx errors. Unavailability (refused or dropped connections, pool timeouts,
/// a terminated backend, a statement or lock timeout, a server shutting down or out of
/// connections, a serialization failure) is retryable and becomes 503; unique violations
/// name the field.
fn classify(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e),
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let constraint = db.constraint().unwrap_or_default();
            if constraint == "users_pkey" {
                StoreError::Conflict("id")
            } else if constraint.contains("username") {
                StoreError::Conflict("username")
            } else if constraint.contains("email") {
                StoreError::Conflict("email")
            } else if constraint.starts_with("clients") {
                StoreError::Conflict("client")
            } else if constraint.contains("refresh_tokens") {
                StoreError::Conflict("refresh token")
            } else {
                StoreError::Conflict("key")
            }
        }
        sqlx::Error::Database(db) if db.code().is_some_and(|c| is_transient(&c)) => {
            StoreError::Unavailable(e)
        }
        _ => StoreError::Database(e),
    }
}

/// SQLSTATEs worth retrying: connection exceptions (08), insufficient resources (53),
/// operator intervention (57: query_canceled by statement_timeout, admin_shutdown,
/// crash_shutdown, cannot_connect_now), serialization failure and deadlock (40001,
/// 40P01), lock_not_available (55P03, lock_timeout), read_only_sql_transaction (25006: the
/// database failed over to a standby, or was made read-only for maintenance).
fn is_transient(code: &str) -> bool {
    code == "25006"
        || code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57")
        || matches!(code, "40001" | "40P01" | "55P03")
}

impl Engine for PgStore {
    type Db = sqlx::Postgres;

    fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A transaction; PostgreSQL's row locks order the writers, no turn is needed.
    async fn begin_write(&self) -> StoreResult<WriteTx<sqlx::Postgres>> {
        let pool = self.pool.clone();
        let tx = super::sql::begin_detached(async move { pool.begin().await })
            .await
            .map_err(classify)?;
        Ok(WriteTx::new(tx, None))
    }

    /// A refused write shows in the answers (503) and in `ping` failing; no state is kept.
    fn writes_ok(&self) -> bool {
        true
    }

    /// No read cache: replicas write without telling each other.
    fn read_cache(&self) -> Option<&super::read_cache::ReadCache> {
        None
    }

    /// A connection for one autocommitted write.
    async fn write_conn(&self) -> StoreResult<WriteConn<sqlx::Postgres>> {
        let conn = self.pool.acquire().await.map_err(classify)?;
        Ok(WriteConn::new(conn, None))
    }

    /// One transaction per rotation; PostgreSQL overlaps concurrent commits itself (its
    /// WAL writer flushes them together). Runs again when PostgreSQL picks the transaction
    /// as a deadlock or serialization victim (concurrent reuse detections on one family
    /// can meet that way).
    async fn rotate(
        &self,
        old_jti: &str,
        next: &RefreshRecord,
        now: i64,
    ) -> StoreResult<RotateOutcome> {
        let mut attempt = 0;
        loop {
            match self.rotate_once(old_jti, next, now).await {
                Err(e) if attempt < 3 && super::sql::retryable(&e) => attempt += 1,
                other => return other,
            }
        }
    }
}

impl Dialect for sqlx::Postgres {
    /// Matches the `lower(email)` unique index.
    const EMAIL_MATCH: &'static str = "lower(email) = lower($1)";
    /// Locks the selected rows, so that two replicas cannot both act on them.
    const FOR_UPDATE: &'static str = " FOR UPDATE";
    /// After ids were inserted explicitly, the identity continues after the largest.
    const RESET_USER_IDS: &'static str = "SELECT setval(pg_get_serial_sequence('users', 'id'), \
         COALESCE((SELECT MAX(id) FROM users), 0) + 1, false)";

    fn classify(error: sqlx::Error) -> StoreError {
        classify(error)
    }

    fn bind<'q, T: Value<'q>>(query: Query<'q, Self>, value: T) -> Query<'q, Self> {
        query.bind(value)
    }

    async fn execute<'q>(
        query: Query<'q, Self>,
        conn: &mut sqlx::PgConnection,
    ) -> Result<u64, sqlx::Error> {
        Ok(query.execute(conn).await?.rows_affected())
    }

    async fn fetch_all<'q>(
        query: Query<'q, Self>,
        conn: &mut sqlx::PgConnection,
    ) -> Result<Vec<sqlx::postgres::PgRow>, sqlx::Error> {
        query.fetch_all(conn).await
    }

    async fn fetch_optional<'q>(
        query: Query<'q, Self>,
        conn: &mut sqlx::PgConnection,
    ) -> Result<Option<sqlx::postgres::PgRow>, sqlx::Error> {
        query.fetch_optional(conn).await
    }

    fn decode<T: Record>(row: &sqlx::postgres::PgRow) -> Result<T, sqlx::Error> {
        T::from_row(row)
    }

    fn column<T: Column>(row: &sqlx::postgres::PgRow, name: &str) -> StoreResult<T> {
        sqlx::Row::try_get(row, name).map_err(StoreError::Database)
    }
}
