//! The service's own users: shadow copies of the authority's, in a SQLite file.

use serde::Serialize;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tessera_client::shadow::{RemoteUser, Shadow, UserSync};

/// A local user, as this service stores and shows it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct LocalUser {
    /// The authority's user id (the same id here).
    pub id: i64,
    /// E-mail.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Active at the authority when copied.
    pub is_active: bool,
    /// Staff flag.
    pub is_staff: bool,
    /// Superuser flag.
    pub is_superuser: bool,
    /// When the authority created the user (as the authority wrote it).
    pub date_joined: Option<String>,
    /// When the copy was made or last refreshed (seconds since the epoch).
    pub synced_at: i64,
    #[serde(skip)]
    version: Option<String>,
}

/// Shadow users in SQLite.
#[derive(Debug, Clone)]
pub struct SqliteUsers {
    pool: SqlitePool,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    is_active INTEGER NOT NULL,
    is_staff INTEGER NOT NULL,
    is_superuser INTEGER NOT NULL,
    date_joined TEXT,
    synced_at INTEGER NOT NULL,
    version TEXT
)";

impl SqliteUsers {
    /// Opens (creating if needed) the database at `url` (`sqlite:path` or
    /// `sqlite::memory:`).
    ///
    /// # Errors
    /// When the file cannot be opened or the table created.
    pub async fn open(url: &str) -> Result<Self, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::query(SCHEMA).execute(&pool).await?;
        Ok(Self { pool })
    }

    /// The connection pool (the sign-outs live in the same file).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// How many users this service has copied.
    ///
    /// # Errors
    /// A database error.
    pub async fn count(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(&self.pool)
            .await
    }
}

fn text(user: &RemoteUser, key: &str) -> String {
    user.get(key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn flag(user: &RemoteUser, key: &str) -> bool {
    user.get(key)
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

fn seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl UserSync for SqliteUsers {
    type User = LocalUser;
    type Error = sqlx::Error;

    async fn load(&self, id: i64) -> Result<Option<Shadow<LocalUser>>, sqlx::Error> {
        let found: Option<LocalUser> = sqlx::query_as("SELECT * FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.map(|user| Shadow {
            version: user.version.clone(),
            synced_at: UNIX_EPOCH + Duration::from_secs(u64::try_from(user.synced_at).unwrap_or(0)),
            user,
        }))
    }

    async fn save(
        &self,
        id: i64,
        user: &RemoteUser,
        version: Option<&str>,
        synced_at: SystemTime,
    ) -> Result<LocalUser, sqlx::Error> {
        sqlx::query_as(
            "INSERT INTO users (id, email, first_name, last_name, is_active, is_staff,
                                is_superuser, date_joined, synced_at, version)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET
                email = excluded.email, first_name = excluded.first_name,
                last_name = excluded.last_name, is_active = excluded.is_active,
                is_staff = excluded.is_staff, is_superuser = excluded.is_superuser,
                date_joined = excluded.date_joined, synced_at = excluded.synced_at,
                version = excluded.version
             RETURNING *",
        )
        .bind(id)
        .bind(text(user, "email"))
        .bind(text(user, "first_name"))
        .bind(text(user, "last_name"))
        .bind(flag(user, "is_active"))
        .bind(flag(user, "is_staff"))
        .bind(flag(user, "is_superuser"))
        .bind(user.get("date_joined").and_then(|v| v.as_str()))
        .bind(seconds(synced_at))
        .bind(version)
        .fetch_one(&self.pool)
        .await
    }
}
