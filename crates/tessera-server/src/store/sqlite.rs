//! The SQLite backend: one file, WAL mode, `synchronous=FULL` (an answered request is durable).

use super::sql::{WriteConn, WriteTx, impl_store};
use crate::config::DatabaseSettings;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The e-mail column is `COLLATE NOCASE`, so plain equality is case-insensitive.
const EMAIL_MATCH: &str = "email = $1";
/// SQLite locks the whole database for a write transaction; no row locks.
const FOR_UPDATE: &str = "";
/// `AUTOINCREMENT` follows explicitly inserted ids by itself.
const RESET_USER_IDS: &str = "SELECT 1";

/// Tessera's state in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Writers take turns here rather than in SQLite's sleeping busy handler.
    writers: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// How long a writer waits for its turn before answering 503 (`acquire_timeout`).
    turn_timeout: Duration,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url`.
    ///
    /// # Errors
    /// [`StoreError`] if the file cannot be opened.
    pub async fn connect(url: &str, settings: &DatabaseSettings) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(StoreError::Database)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(classify)?;
        Ok(Self {
            pool,
            writers: std::sync::Arc::default(),
            turn_timeout: settings.acquire_timeout,
        })
    }

    /// Applies pending migrations.
    ///
    /// # Errors
    /// [`StoreError::Migrate`].
    pub async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Waits for this process's writers' turn, then starts a transaction that takes the
    /// write lock at once (`BEGIN IMMEDIATE`: no failing lock upgrade; another process,
    /// such as the CLI, is still waited for by the busy timeout).
    async fn begin_write(&self) -> StoreResult<WriteTx<sqlx::Sqlite>> {
        let turn = self.turn().await?;
        let pool = self.pool.clone();
        let tx =
            super::sql::begin_detached(async move { pool.begin_with("BEGIN IMMEDIATE").await })
                .await
                .map_err(classify)?;
        Ok(WriteTx::new(tx, Some(turn)))
    }

    /// Waits for this process's writers' turn, for at most `acquire_timeout`.
    async fn turn(&self) -> StoreResult<tokio::sync::OwnedMutexGuard<()>> {
        tokio::time::timeout(self.turn_timeout, self.writers.clone().lock_owned())
            .await
            .map_err(|_| StoreError::Unavailable(sqlx::Error::PoolTimedOut))
    }

    /// A connection for one autocommitted write, in the writers' turn.
    async fn write_conn(&self) -> StoreResult<WriteConn<sqlx::Sqlite>> {
        let turn = self.turn().await?;
        let conn = self.pool.acquire().await.map_err(classify)?;
        Ok(WriteConn::new(conn, Some(turn)))
    }
}

/// Maps sqlx errors: unavailability and unique violations get their own variants.
fn classify(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e)
        }
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let msg = db.message();
            if msg.contains("users.username") {
                StoreError::Conflict("username")
            } else if msg.contains("users.id") {
                StoreError::Conflict("id")
            } else if msg.contains("users.email") {
                StoreError::Conflict("email")
            } else if msg.contains("clients.client_id") {
                StoreError::Conflict("client")
            } else if msg.contains("refresh_tokens") {
                StoreError::Conflict("refresh token")
            } else {
                StoreError::Conflict("key")
            }
        }
        // SQLITE_BUSY: the write lock was not granted within the busy timeout.
        sqlx::Error::Database(db) if db.code().as_deref() == Some("5") => {
            StoreError::Unavailable(e)
        }
        _ => StoreError::Database(e),
    }
}

impl_store!(SqliteStore, sqlx::Sqlite);
