//! The SQLite backend: one file, WAL mode, `synchronous=FULL` (an answered request is durable).

use super::sql::impl_store;
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
        Ok(Self { pool })
    }

    /// Applies pending migrations.
    ///
    /// # Errors
    /// [`StoreError::Migrate`].
    pub async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Starts a write transaction that takes the write lock at once, so concurrent writers
    /// queue on the busy timeout instead of failing on a lock upgrade.
    async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(classify)
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
            } else if msg.contains("users.email") {
                StoreError::Conflict("email")
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
