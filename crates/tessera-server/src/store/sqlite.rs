//! The SQLite backend: one file, WAL mode, `synchronous=FULL` (an answered request is durable).

use super::{
    KeyState, NewUser, RefreshRecord, RefreshState, RotateOutcome, Store, StoreError, StoreResult,
    StoredKey, User,
};
use crate::config::DatabaseSettings;
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqliteConnection, SqlitePool};
use std::str::FromStr;
use std::time::Duration;
use time::OffsetDateTime;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

const USER_COLUMNS: &str = "id, username, email, password_hash, first_name, last_name, is_active, \
     is_staff, is_superuser, date_joined, last_login";

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

    async fn user_where(&self, clause: &str, value: &str) -> StoreResult<Option<User>> {
        sqlx::query_as::<_, User>(&format!("SELECT {USER_COLUMNS} FROM users WHERE {clause}"))
            .bind(value)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    /// Runs `update` on one user and, with `end_sessions`, revokes all their tokens, in one
    /// transaction. Returns whether the user exists.
    async fn update_user(
        &self,
        update: SqliteQuery<'_>,
        id: i64,
        end_sessions: bool,
        now: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let found = update
            .execute(&mut *tx)
            .await
            .map_err(classify)?
            .rows_affected()
            == 1;
        if found && end_sessions {
            revoke_families(&mut tx, Scope::User(id), now).await?;
        }
        tx.commit().await.map_err(classify)?;
        Ok(found)
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
            } else {
                StoreError::Conflict("key")
            }
        }
        sqlx::Error::Database(db) if db.code().as_deref() == Some("5") => {
            StoreError::Unavailable(e)
        }
        _ => StoreError::Database(e),
    }
}

/// Which families to revoke.
#[derive(Debug, Clone, Copy)]
enum Scope<'a> {
    /// The family of this refresh token.
    FamilyOf(&'a str),
    /// Every family of this user.
    User(i64),
}

type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

impl<'a> Scope<'a> {
    fn filter(self) -> &'static str {
        match self {
            Self::FamilyOf(_) => "family = (SELECT family FROM refresh_tokens WHERE jti = ?)",
            Self::User(_) => "user_id = ?",
        }
    }

    fn bind(self, q: SqliteQuery<'a>) -> SqliteQuery<'a> {
        match self {
            Self::FamilyOf(jti) => q.bind(jti),
            Self::User(id) => q.bind(id),
        }
    }
}

/// Revokes every token of the families in `scope`, and blocks the unexpired access tokens
/// issued with them.
async fn revoke_families(
    conn: &mut SqliteConnection,
    scope: Scope<'_>,
    now: i64,
) -> StoreResult<()> {
    let filter = scope.filter();
    let block = format!(
        "INSERT OR IGNORE INTO revoked_access (jti, expires_at) \
         SELECT access_jti, access_expires_at FROM refresh_tokens WHERE {filter} AND access_expires_at > ?"
    );
    scope
        .bind(sqlx::query(&block))
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(classify)?;
    let revoke = format!(
        "UPDATE refresh_tokens SET state = 'revoked' WHERE {filter} AND state != 'revoked'"
    );
    scope
        .bind(sqlx::query(&revoke))
        .execute(&mut *conn)
        .await
        .map_err(classify)?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn create_user(&self, u: &NewUser) -> StoreResult<User> {
        sqlx::query_as::<_, User>(&format!(
            "INSERT INTO users (username, email, password_hash, first_name, last_name, is_active, \
             is_staff, is_superuser, date_joined) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {USER_COLUMNS}"
        ))
        .bind(&u.username)
        .bind(&u.email)
        .bind(&u.password_hash)
        .bind(&u.first_name)
        .bind(&u.last_name)
        .bind(u.is_active)
        .bind(u.is_staff)
        .bind(u.is_superuser)
        .bind(u.date_joined)
        .fetch_one(&self.pool)
        .await
        .map_err(classify)
    }

    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        sqlx::query_as::<_, User>(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        self.user_where("username = ?", username).await
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        self.user_where("email = ? COLLATE NOCASE", email).await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        sqlx::query_as::<_, User>(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
            .fetch_all(&self.pool)
            .await
            .map_err(classify)
    }

    async fn set_password_hash(
        &self,
        id: i64,
        hash: &str,
        end_sessions: bool,
        now: i64,
    ) -> StoreResult<bool> {
        let update = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(hash)
            .bind(id);
        self.update_user(update, id, end_sessions, now).await
    }

    async fn set_active(&self, id: i64, active: bool, now: i64) -> StoreResult<bool> {
        let update = sqlx::query("UPDATE users SET is_active = ? WHERE id = ?")
            .bind(active)
            .bind(id);
        self.update_user(update, id, !active, now).await
    }

    async fn record_login(&self, id: i64, at: OffsetDateTime) -> StoreResult<()> {
        sqlx::query("UPDATE users SET last_login = ? WHERE id = ?")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
        let rows = sqlx::query(
            "SELECT kid, alg, state, created_at, activated_at, sealed_private FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.into_iter()
            .map(|r| {
                let state: String = r.get("state");
                Ok(StoredKey {
                    kid: r.get("kid"),
                    alg: r.get("alg"),
                    state: KeyState::parse(&state)
                        .ok_or_else(|| StoreError::Corrupt(format!("key state {state}")))?,
                    created_at: r.get("created_at"),
                    activated_at: r.get("activated_at"),
                    sealed_private: r.get("sealed_private"),
                })
            })
            .collect()
    }

    async fn insert_signing_key(&self, k: &StoredKey) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, state, created_at, activated_at, sealed_private) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&k.kid)
        .bind(&k.alg)
        .bind(k.state.as_str())
        .bind(k.created_at)
        .bind(k.activated_at)
        .bind(&k.sealed_private)
        .execute(&self.pool)
        .await
        .map_err(classify)?;
        Ok(())
    }

    async fn insert_refresh(&self, t: &RefreshRecord) -> StoreResult<()> {
        insert_refresh_row(&self.pool, t).await
    }

    async fn rotate_refresh(
        &self,
        old_jti: &str,
        next: &RefreshRecord,
        now: i64,
    ) -> StoreResult<RotateOutcome> {
        let mut tx = self.begin_write().await?;
        let consumed = sqlx::query(
            "UPDATE refresh_tokens SET state = 'rotated', replaced_by = ? \
             WHERE jti = ? AND state = 'active' AND expires_at > ? AND family = ?",
        )
        .bind(&next.jti)
        .bind(old_jti)
        .bind(now)
        .bind(&next.family)
        .execute(&mut *tx)
        .await
        .map_err(classify)?
        .rows_affected();
        if consumed == 1 {
            insert_refresh_row(&mut *tx, next).await?;
            tx.commit().await.map_err(classify)?;
            return Ok(RotateOutcome::Rotated);
        }
        let row = sqlx::query("SELECT state, expires_at FROM refresh_tokens WHERE jti = ?")
            .bind(old_jti)
            .fetch_optional(&mut *tx)
            .await
            .map_err(classify)?;
        let outcome = match row {
            None => RotateOutcome::NotFound,
            Some(r) => match r.get::<String, _>("state").as_str() {
                "rotated" => {
                    revoke_families(&mut tx, Scope::FamilyOf(old_jti), now).await?;
                    RotateOutcome::Reused
                }
                "revoked" => RotateOutcome::Revoked,
                _ if r.get::<i64, _>("expires_at") <= now => RotateOutcome::Expired,
                // Active and unexpired but another family: a forged claim; treat as unknown.
                _ => RotateOutcome::NotFound,
            },
        };
        tx.commit().await.map_err(classify)?;
        Ok(outcome)
    }

    async fn refresh_state(&self, jti: &str, now: i64) -> StoreResult<Option<RefreshState>> {
        let row = sqlx::query("SELECT state, expires_at FROM refresh_tokens WHERE jti = ?")
            .bind(jti)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)?;
        Ok(row.map(|r| match r.get::<String, _>("state").as_str() {
            "rotated" => RefreshState::Rotated,
            "revoked" => RefreshState::Revoked,
            _ if r.get::<i64, _>("expires_at") <= now => RefreshState::Expired,
            _ => RefreshState::Active,
        }))
    }

    async fn revoke_family_of(&self, jti: &str, now: i64) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let known = sqlx::query("SELECT 1 FROM refresh_tokens WHERE jti = ?")
            .bind(jti)
            .fetch_optional(&mut *tx)
            .await
            .map_err(classify)?
            .is_some();
        if known {
            revoke_families(&mut tx, Scope::FamilyOf(jti), now).await?;
        }
        tx.commit().await.map_err(classify)?;
        Ok(known)
    }

    async fn is_access_revoked(&self, jti: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM revoked_access WHERE jti = ?")
            .bind(jti)
            .fetch_optional(&self.pool)
            .await
            .map_err(classify)?;
        Ok(row.is_some())
    }
}

async fn insert_refresh_row<'e, E: sqlx::SqliteExecutor<'e>>(
    exec: E,
    t: &RefreshRecord,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (jti, family, user_id, client_id, issued_at, expires_at, state, \
         access_jti, access_expires_at) VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?)",
    )
    .bind(&t.jti)
    .bind(&t.family)
    .bind(t.user_id)
    .bind(&t.client_id)
    .bind(t.issued_at)
    .bind(t.expires_at)
    .bind(&t.access_jti)
    .bind(t.access_expires_at)
    .execute(exec)
    .await
    .map_err(classify)?;
    Ok(())
}
