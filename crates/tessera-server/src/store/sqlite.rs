//! The SQLite backend: one file, WAL mode, `synchronous=FULL` (an answered request is durable).

use super::read_cache::ReadCache;
use super::sql::{Dialect, Engine, Query, Record, Released, Value, WriteConn, WriteTx};
use super::{RefreshRecord, RotateOutcome, StoreError, StoreResult};
use crate::config::DatabaseSettings;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

mod group_commit;
mod health;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Tessera's state in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writers: Writers,
    /// Refresh rotations, committed in groups by [`group_commit::run`].
    rotations: tokio::sync::mpsc::Sender<group_commit::Rotation>,
    /// The pool's recovery state (see `health`): also what `/readyz` reports.
    health: Arc<health::Health>,
}

/// This process's writers: they take turns on an async mutex rather than in SQLite's
/// sleeping busy handler.
#[derive(Debug, Clone)]
struct Writers {
    pool: SqlitePool,
    turn: Arc<tokio::sync::Mutex<()>>,
    /// Told when a write is over.
    cache: Arc<ReadCache>,
    /// How long a writer waits for its turn before answering 503 (`acquire_timeout`).
    turn_timeout: Duration,
}

impl Writers {
    /// Waits for this process's writers' turn, then starts a transaction that takes the
    /// write lock at once (`BEGIN IMMEDIATE`: no failing lock upgrade; another process,
    /// such as the CLI, is still waited for by the busy timeout).
    async fn begin(&self) -> StoreResult<WriteTx<sqlx::Sqlite>> {
        let turn = self.turn().await?;
        let pool = self.pool.clone();
        let tx =
            super::sql::begin_detached(async move { pool.begin_with("BEGIN IMMEDIATE").await })
                .await
                .map_err(classify)?;
        Ok(WriteTx::new(tx, Some(turn)))
    }

    /// Waits for this process's writers' turn, for at most `acquire_timeout`.
    async fn turn(&self) -> StoreResult<Released> {
        let lock = tokio::time::timeout(self.turn_timeout, self.turn.clone().lock_owned())
            .await
            .map_err(|_| StoreError::Unavailable(sqlx::Error::PoolTimedOut))?;
        Ok(Released::new(lock, self.cache.clone()))
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url`, and starts the task that
    /// commits refresh rotations.
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
        // Which pooled connections outlived an outage of the file (see `health`). The
        // pool's hook holds it; its watcher ends with the pool.
        let health = Arc::<health::Health>::default();
        let keeps = health.clone();
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .before_acquire(move |conn, meta| {
                let keep = keeps.keeps(conn, meta.age);
                Box::pin(async move { Ok(keep) })
            })
            .connect_with(options.clone())
            .await
            .map_err(classify)?;
        let cache = Arc::<ReadCache>::default();
        let writers = Writers {
            pool: pool.clone(),
            turn: Arc::default(),
            cache: cache.clone(),
            turn_timeout: settings.acquire_timeout,
        };
        let (rotations, queue) = tokio::sync::mpsc::channel(group_commit::QUEUE);
        tokio::spawn(group_commit::run(writers.clone(), queue));
        tokio::spawn(watch_other_writers(options.clone(), Arc::downgrade(&cache)));
        tokio::spawn(health::watch(
            options,
            writers.turn.clone(),
            Arc::downgrade(&health),
        ));
        Ok(Self {
            pool,
            writers,
            rotations,
            health,
        })
    }

    /// Applies pending migrations.
    ///
    /// # Errors
    /// [`StoreError::Migrate`].
    pub async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await?;
        super::sql::users::fill_username_keys(self).await
    }
}

impl Engine for SqliteStore {
    type Db = sqlx::Sqlite;

    fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The memory of hot reads, kept true by this process's writes and the poll of
    /// [`watch_other_writers`].
    fn read_cache(&self) -> Option<&ReadCache> {
        Some(&self.writers.cache)
    }

    /// Whether writes are expected to work (no I/O fault since the health watcher last
    /// found the file writable).
    fn writes_ok(&self) -> bool {
        self.health.writable()
    }

    /// A write transaction in this process's writers' turn.
    async fn begin_write(&self) -> StoreResult<WriteTx<sqlx::Sqlite>> {
        self.writers.begin().await
    }

    /// A connection for one autocommitted write, in the writers' turn.
    async fn write_conn(&self) -> StoreResult<WriteConn<sqlx::Sqlite>> {
        let turn = self.writers.turn().await?;
        let conn = self.pool.acquire().await.map_err(classify)?;
        Ok(WriteConn::new(conn, Some(turn)))
    }

    /// Queued for the group-commit task, which answers once the rotation is durable (or
    /// was never applied).
    async fn rotate(
        &self,
        old_jti: &str,
        next: &RefreshRecord,
        now: i64,
    ) -> StoreResult<RotateOutcome> {
        group_commit::submit(
            &self.rotations,
            self.writers.turn_timeout,
            old_jti,
            next,
            now,
        )
        .await
    }
}

/// Looks for changes to the cached tables made by other connections (the CLI on the same
/// file, sqlite3) every [`super::read_cache::POLL`], on a connection of its own, and makes
/// the read cache forget when there were any. `PRAGMA data_version` says whether anything
/// was committed since the last poll; only then is `cache_epoch` read, which the triggers
/// of migration 0012 increment with every change to users, clients and revoked access
/// tokens, so the frequent writes to other tables (refresh tokens, audit events, login
/// counters) do not make the cache forget. Ends with the store. While its connection or
/// the counter cannot be read the cache is made to forget at every poll, so the bound on
/// staleness holds either way.
async fn watch_other_writers(options: SqliteConnectOptions, cache: std::sync::Weak<ReadCache>) {
    use sqlx::ConnectOptions as _;
    let mut last = None;
    let mut epoch = None;
    let mut conn = None;
    loop {
        let Some(live) = cache.upgrade() else { return };
        if conn.is_none() {
            conn = options.connect().await.ok();
        }
        let version = match conn.as_mut() {
            Some(c) => sqlx::query_scalar::<_, i64>("PRAGMA data_version")
                .fetch_one(c)
                .await
                .ok(),
            None => None,
        };
        if version.is_none() || version != last {
            let now = match conn.as_mut() {
                Some(c) if version.is_some() => {
                    sqlx::query_scalar::<_, i64>("SELECT n FROM cache_epoch WHERE id = 1")
                        .fetch_one(c)
                        .await
                        .ok()
                }
                _ => None,
            };
            if now.is_none() || now != epoch {
                // Unknown (no connection, no counter yet) or changed: nothing cached may
                // be trusted.
                live.generation.bump();
            }
            epoch = now;
            if version.is_none() {
                conn = None;
            }
        }
        last = version;
        drop(live);
        tokio::time::sleep(super::read_cache::POLL).await;
    }
}

/// Maps sqlx errors: unavailability and unique violations get their own variants.
fn classify(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e)
        }
        // A pooled connection in a state it cannot leave (sqlx counts a transaction SQLite
        // no longer has; its worker thread is gone): retry on another; the health
        // watcher replaces it.
        sqlx::Error::InvalidSavePointStatement
        | sqlx::Error::BeginFailed
        | sqlx::Error::WorkerCrashed => {
            health::note_fault();
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
        // The primary result code (the extended code's low byte): SQLITE_BUSY (the write
        // lock was not granted within the busy timeout), SQLITE_READONLY, SQLITE_IOERR
        // (the file cannot be written: permissions, an immutable file, a failing disk),
        // SQLITE_FULL, SQLITE_CANTOPEN. Nothing was written; retry later (503). All but
        // BUSY may have left the connection unable to write after the file is writable
        // again: the pool's health watcher is told (see `health`).
        sqlx::Error::Database(db) if primary_code(db.as_ref()).is_some_and(|c| c == 5) => {
            StoreError::Unavailable(e)
        }
        sqlx::Error::Database(db)
            if primary_code(db.as_ref()).is_some_and(|c| matches!(c, 8 | 10 | 13 | 14)) =>
        {
            health::note_fault();
            StoreError::Unavailable(e)
        }
        _ => StoreError::Database(e),
    }
}

/// The primary result code of a SQLite error (the extended code's low byte).
fn primary_code(db: &dyn sqlx::error::DatabaseError) -> Option<i32> {
    db.code()
        .and_then(|c| c.parse::<i32>().ok())
        .map(|c| c & 0xff)
}

impl Dialect for sqlx::Sqlite {
    /// The e-mail column is `COLLATE NOCASE`, so plain equality is case-insensitive.
    const EMAIL_MATCH: &'static str = "email = $1";
    /// SQLite locks the whole database for a write transaction; no row locks.
    const FOR_UPDATE: &'static str = "";
    /// `AUTOINCREMENT` follows explicitly inserted ids by itself.
    const RESET_USER_IDS: &'static str = "SELECT 1";

    fn classify(error: sqlx::Error) -> StoreError {
        classify(error)
    }

    fn bind<'q, T: Value<'q>>(query: Query<'q, Self>, value: T) -> Query<'q, Self> {
        query.bind(value)
    }

    async fn execute<'q>(
        query: Query<'q, Self>,
        conn: &mut sqlx::SqliteConnection,
    ) -> Result<u64, sqlx::Error> {
        Ok(query.execute(conn).await?.rows_affected())
    }

    async fn fetch_all<'q>(
        query: Query<'q, Self>,
        conn: &mut sqlx::SqliteConnection,
    ) -> Result<Vec<sqlx::sqlite::SqliteRow>, sqlx::Error> {
        query.fetch_all(conn).await
    }

    async fn fetch_optional<'q>(
        query: Query<'q, Self>,
        conn: &mut sqlx::SqliteConnection,
    ) -> Result<Option<sqlx::sqlite::SqliteRow>, sqlx::Error> {
        query.fetch_optional(conn).await
    }

    fn decode<T: Record>(row: &sqlx::sqlite::SqliteRow) -> Result<T, sqlx::Error> {
        T::from_row(row)
    }

    fn column<T: super::sql::Column>(row: &sqlx::sqlite::SqliteRow, name: &str) -> StoreResult<T> {
        sqlx::Row::try_get(row, name).map_err(StoreError::Database)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::ConnectOptions as _;

    /// A migrated store on a new file in `dir`, and the file's URL.
    async fn migrated_store(dir: &tempfile::TempDir) -> (SqliteStore, String) {
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = SqliteStore::connect(&url, &DatabaseSettings::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        (store, url)
    }

    /// Waits a few polls of [`watch_other_writers`], then says whether the cache was made
    /// to forget meanwhile.
    async fn forgot(store: &SqliteStore, since: u64) -> bool {
        tokio::time::sleep(super::super::read_cache::POLL * 4).await;
        store.writers.cache.generation.current() != since
    }

    #[tokio::test]
    async fn only_changes_to_cached_tables_by_others_make_the_cache_forget() {
        let dir = tempfile::tempdir().unwrap();
        let (store, url) = migrated_store(&dir).await;
        // Another process's connection, as the CLI's would be.
        let mut other = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .connect()
            .await
            .unwrap();
        tokio::time::sleep(super::super::read_cache::POLL * 4).await;

        let before = store.writers.cache.generation.current();
        sqlx::query("INSERT INTO audit_events (at, kind) VALUES (1, 'test')")
            .execute(&mut other)
            .await
            .unwrap();
        assert!(
            !forgot(&store, before).await,
            "an audit event changes no cached answer"
        );

        let before = store.writers.cache.generation.current();
        sqlx::query(
            "INSERT INTO users (username, email, password_hash, date_joined) \
             VALUES ('u', 'u@example.com', '!', 1)",
        )
        .execute(&mut other)
        .await
        .unwrap();
        assert!(forgot(&store, before).await, "a new user");

        let before = store.writers.cache.generation.current();
        sqlx::query("UPDATE users SET is_active = FALSE WHERE username = 'u'")
            .execute(&mut other)
            .await
            .unwrap();
        assert!(forgot(&store, before).await, "a disabled user");

        let before = store.writers.cache.generation.current();
        sqlx::query("INSERT INTO revoked_access (jti, expires_at) VALUES ('j', 1)")
            .execute(&mut other)
            .await
            .unwrap();
        assert!(forgot(&store, before).await, "a revoked access token");
    }

    #[tokio::test]
    async fn a_login_forgets_its_user_alone() {
        use crate::store::Store as _;
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = migrated_store(&dir).await;
        sqlx::query(
            "INSERT INTO users (username, email, password_hash, date_joined) \
             VALUES ('u', 'u@example.com', '!', '2026-01-01T00:00:00Z')",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        tokio::time::sleep(super::super::read_cache::POLL * 4).await;
        let id = 1;
        assert_eq!(
            store.user_by_id(id).await.unwrap().unwrap().last_login,
            None
        );
        let before = store.writers.cache.generation.current();
        let at = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        store.record_login(id, at).await.unwrap();
        let user = store.user_by_id(id).await.unwrap().unwrap();
        assert_eq!(
            user.last_login,
            Some(at),
            "the user's own entry was forgotten"
        );
        assert!(!forgot(&store, before).await, "the rest of the cache stays");
    }

    #[tokio::test]
    async fn the_users_trigger_names_every_column_but_last_login() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = migrated_store(&dir).await;
        let columns: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_info('users')")
                .fetch_all(&store.pool)
                .await
                .unwrap();
        let trigger: String = sqlx::query_scalar(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'users_changed_update'",
        )
        .fetch_one(&store.pool)
        .await
        .unwrap();
        let listed = trigger
            .split_once("UPDATE OF")
            .and_then(|(_, rest)| rest.split_once(" ON users"))
            .map(|(list, _)| list)
            .unwrap();
        let mut listed: Vec<&str> = listed.split(',').map(str::trim).collect();
        listed.sort_unstable();
        let mut expected: Vec<&str> = columns
            .iter()
            .map(String::as_str)
            .filter(|c| *c != "last_login")
            .collect();
        expected.sort_unstable();
        assert!(expected.len() > 10);
        assert_eq!(listed, expected);
    }
}
