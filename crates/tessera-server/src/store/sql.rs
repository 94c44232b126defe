//! The one implementation of [`super::Store`] in SQL, shared by both backends.
//!
//! Both SQLite and PostgreSQL take `$N` placeholders, `RETURNING` and
//! `ON CONFLICT DO NOTHING`, so the statements are written once. What differs is small and
//! lives in the backend module that invokes [`impl_store!`]: the pool type, how a write
//! transaction starts (`BEGIN IMMEDIATE` on SQLite), how errors are classified
//! (`classify`), the e-mail comparison, row locking and the identity sequence after an
//! import. The macro expands in that module, so `classify` and the constants resolve there.

/// A connection or transaction for writing, and on SQLite the turn of this process's
/// writers: SQLite admits one writer at a time, and its busy handler makes waiting writers
/// sleep and poll (tens of milliseconds at the tail), so writers queue on an async mutex
/// instead, in order. Derefs to the connection, so statements run on it directly.
pub(super) struct Turn<C> {
    conn: C,
    _turn: Option<Released>,
}

/// The SQLite writers' lock; given up after the write, and then the read cache is told
/// that the database changed (see [`super::read_cache`]).
pub(super) struct Released {
    lock: Option<tokio::sync::OwnedMutexGuard<()>>,
    cache: std::sync::Arc<super::read_cache::ReadCache>,
    /// Whether the write may have changed what the cache holds.
    stales_cache: bool,
}

impl Released {
    pub(super) fn new(
        lock: tokio::sync::OwnedMutexGuard<()>,
        cache: std::sync::Arc<super::read_cache::ReadCache>,
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
pub(super) type WriteTx<DB> = Turn<sqlx::Transaction<'static, DB>>;
/// A pooled connection for a single-statement write, with its turn.
pub(super) type WriteConn<DB> = Turn<sqlx::pool::PoolConnection<DB>>;

impl<C> Turn<C> {
    /// Wraps `conn`, holding `turn` until it is dropped.
    pub(super) fn new(conn: C, turn: Option<Released>) -> Self {
        Self { conn, _turn: turn }
    }
}

impl<C> Turn<C> {
    /// Declares that this write touches none of the tables the read cache remembers
    /// (users, clients, revoked access tokens), so its answers stay valid. Only for
    /// writes that provably do not: the frequent ones (refresh rows, login counters,
    /// audit events).
    pub(super) fn leaves_cache_valid(&mut self) {
        if let Some(turn) = self._turn.as_mut() {
            turn.stales_cache = false;
        }
    }
}

impl<DB: sqlx::Database> Turn<sqlx::Transaction<'static, DB>> {
    /// Commits (and then gives up the turn).
    pub(super) async fn commit(self) -> Result<(), sqlx::Error> {
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
pub(super) async fn begin_detached<DB, F>(
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
pub(super) fn retryable(e: &super::StoreError) -> bool {
    matches!(e, super::StoreError::Unavailable(sqlx::Error::Database(db))
        if matches!(db.code().as_deref(), Some("40P01" | "40001")))
}

/// Which families to revoke.
#[derive(Debug, Clone, Copy)]
pub(super) enum Scope<'a> {
    /// The family of this refresh token.
    FamilyOf(&'a str),
    /// Every family of this user.
    User(i64),
    /// Every family issued to this OAuth client.
    Client(&'a str),
    /// This family.
    Family(&'a str),
    /// The families a browser session's codes began (by `sid`).
    Session(&'a str),
}

impl Scope<'_> {
    /// The `WHERE` condition selecting the scope's rows; its one parameter is `$1`.
    pub(super) fn filter(self) -> &'static str {
        match self {
            Self::FamilyOf(_) => "family = (SELECT family FROM refresh_tokens WHERE jti = $1)",
            Self::User(_) => "user_id = $1",
            Self::Client(_) => "client_id = $1",
            Self::Family(_) => "family = $1",
            Self::Session(_) => {
                "family IN (SELECT family FROM session_grants WHERE sid = $1 AND family IS NOT NULL)"
            }
        }
    }
}

/// The columns of [`super::User`], in `FromRow` order.
pub(super) const USER_COLUMNS: &str = "id, username, email, password_hash, first_name, last_name, \
     is_active, is_staff, is_superuser, date_joined, last_login, roles, group_names, services, email_verified, session_epoch, imported_id";

/// The columns of [`super::UserLink`].
pub(super) const LINK_COLUMNS: &str = "token_hash, user_id, purpose, new_email, expires_at, \
     password_hash, username, first_name, last_name";

/// Refresh token columns, in [`super::RefreshRow`] order.
pub(super) const REFRESH_COLUMNS: &str = "jti, family, user_id, client_id, issued_at, expires_at, \
     access_jti, access_expires_at, scope, state, replaced_by";

/// Client columns, in [`super::Client`] order.
pub(super) const CLIENT_COLUMNS: &str = "client_id, name, secret_hash, redirect_uris, grants, \
     scopes, first_party, access_lifetime, refresh_lifetime, created_at, id_token_alg, audiences, \
     post_logout_redirect_uris, backchannel_logout_uri, backchannel_logout_session_required, \
     frontchannel_logout_uri, frontchannel_logout_session_required, \
     require_pushed_authorization_requests, jwks, jwks_uri, request_object_signing_alg, \
     require_signed_request_object";

/// The columns of `logout_deliveries`, in [`LogoutDelivery`](super::LogoutDelivery)'s order.
pub(super) const DELIVERY_COLUMNS: &str =
    "id, client_id, uri, sub, sid, created_at, attempts, next_attempt_at";

/// Signing key columns, in [`super::StoredKey`] order.
pub(super) const KEY_COLUMNS: &str =
    "kid, alg, state, created_at, activated_at, retire_after, sealed_private";

/// Implements `Store` for `$store`, a struct with a `pool: sqlx::Pool<$db>` field and the
/// inherent `begin_write`, `write_conn`, `read_cache` (SQLite's memory of hot reads, see
/// [`super::read_cache`]; none on PostgreSQL) and `rotate` (how [`super::Store::rotate_refresh`]
/// reaches `rotate_in`: a transaction each on PostgreSQL, group commit on SQLite); the
/// invoking module provides `classify`, `EMAIL_MATCH`,
/// `FOR_UPDATE` and `RESET_USER_IDS`.
macro_rules! impl_store {
    ($store:ty, $db:ty) => {
        use $crate::store::sql::{CLIENT_COLUMNS, DELIVERY_COLUMNS, KEY_COLUMNS, LINK_COLUMNS, REFRESH_COLUMNS, Scope, USER_COLUMNS};
        use $crate::store::{
            AuthCode, Client, KeyState, LiveFamily, LogoutDelivery, UserLink, Redemption, Session, NewUser, RefreshRecord, RefreshRow, RefreshState, RevokedAccess,
            RotateOutcome, RowState, Snapshot, Store, StoreError, StoreResult, StoredKey, User,
        };
        use sqlx::Row as _;

        type Conn = <$db as sqlx::Database>::Connection;
        type DbRow = <$db as sqlx::Database>::Row;

        /// Every refresh family of the user revoked (with its access tokens), every SSO
        /// browser session ended, every unredeemed code voided, and the user's session
        /// epoch moved on, so that a token of any kind issued before is refused.
        async fn end_all_sessions(conn: &mut Conn, id: i64, now: i64) -> StoreResult<()> {
            revoke_families(&mut *conn, Scope::User(id), now).await?;
            // The live sessions locked first (PostgreSQL), so that two endings at once
            // queue each logout once: the second waits, then finds them ended.
            sqlx::query(&format!(
                "SELECT sid FROM sessions WHERE user_id = $1 AND NOT ended ORDER BY sid{FOR_UPDATE}"
            ))
            .bind(id)
            .fetch_all(&mut *conn)
            .await
            .map_err(classify)?;
            queue_logouts(&mut *conn, "sc.user_id = $1", id, now).await?;
            for statement in [
                "UPDATE sessions SET ended = TRUE WHERE user_id = $1 AND NOT ended",
                "DELETE FROM auth_codes WHERE user_id = $1 AND used_at IS NULL",
                "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1",
            ] {
                sqlx::query(statement)
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .map_err(classify)?;
            }
            Ok(())
        }

        /// Queues a back-channel logout for every client that got tokens through a live
        /// session matching `filter` (on `session_clients sc` and `sessions s`, with the
        /// value bound as `$1`), and forgets those sessions' clients: each client hears
        /// of a session's end once.
        async fn queue_logouts<V>(conn: &mut Conn, filter: &str, value: V, now: i64) -> StoreResult<()>
        where
            V: for<'q> sqlx::Encode<'q, $db> + sqlx::Type<$db> + Send + Clone,
        {
            sqlx::query(&format!(
                "INSERT INTO logout_deliveries (client_id, uri, sub, sid, created_at, next_attempt_at) \
                 SELECT c.client_id, c.backchannel_logout_uri, CAST(sc.user_id AS TEXT), sc.sid, $2, $2 \
                 FROM session_clients sc JOIN clients c ON c.client_id = sc.client_id \
                 JOIN sessions s ON s.sid = sc.sid \
                 WHERE {filter} AND c.backchannel_logout_uri IS NOT NULL \
                 AND NOT s.ended AND s.expires_at > $2"
            ))
            .bind(value.clone())
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(classify)?;
            sqlx::query(&format!(
                "DELETE FROM session_clients WHERE sid IN \
                 (SELECT sc.sid FROM session_clients sc JOIN sessions s ON s.sid = sc.sid WHERE {filter})"
            ))
            .bind(value)
            .execute(&mut *conn)
            .await
            .map_err(classify)?;
            Ok(())
        }

        fn delivery_from_row(r: &DbRow) -> StoreResult<LogoutDelivery> {
            let get = |e| StoreError::Database(e);
            Ok(LogoutDelivery {
                id: r.try_get("id").map_err(get)?,
                client_id: r.try_get("client_id").map_err(get)?,
                uri: r.try_get("uri").map_err(get)?,
                sub: r.try_get("sub").map_err(get)?,
                sid: r.try_get("sid").map_err(get)?,
                created_at: r.try_get("created_at").map_err(get)?,
                attempts: r.try_get("attempts").map_err(get)?,
                next_attempt_at: r.try_get("next_attempt_at").map_err(get)?,
            })
        }

        /// Every pending link (verification, reset, e-mail change) of the user removed.
        async fn void_user_links(conn: &mut Conn, id: i64) -> StoreResult<()> {
            sqlx::query("DELETE FROM user_links WHERE user_id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(classify)?;
            Ok(())
        }

        /// Revokes every token of the families in `scope`, and blocks the unexpired access
        /// tokens issued with them.
        async fn revoke_families(conn: &mut Conn, scope: Scope<'_>, now: i64) -> StoreResult<()> {
            let filter = scope.filter();
            // Lock the rows first, in one order, so that concurrent revocations of one
            // family (many replicas seeing the same reused token) queue instead of
            // deadlocking. A no-op on SQLite, whose write transaction locks everything.
            let lock = format!("SELECT jti FROM refresh_tokens WHERE {filter} ORDER BY jti{FOR_UPDATE}");
            match scope {
                Scope::FamilyOf(jti) | Scope::Client(jti) | Scope::Family(jti) | Scope::Session(jti) => {
                    sqlx::query(&lock).bind(jti).fetch_all(&mut *conn).await
                }
                Scope::User(id) => sqlx::query(&lock).bind(id).fetch_all(&mut *conn).await,
            }
            .map_err(classify)?;
            let block = format!(
                "INSERT INTO revoked_access (jti, expires_at) \
                 SELECT access_jti, access_expires_at FROM refresh_tokens \
                 WHERE {filter} AND access_expires_at > $2 ON CONFLICT DO NOTHING"
            );
            let revoke = format!(
                "UPDATE refresh_tokens SET state = 'revoked' WHERE {filter} AND state <> 'revoked'"
            );
            match scope {
                Scope::FamilyOf(jti) | Scope::Client(jti) | Scope::Family(jti) | Scope::Session(jti) => {
                    sqlx::query(&block).bind(jti).bind(now).execute(&mut *conn).await
                }
                Scope::User(id) => sqlx::query(&block).bind(id).bind(now).execute(&mut *conn).await,
            }
            .map_err(classify)?;
            match scope {
                Scope::FamilyOf(jti) | Scope::Client(jti) | Scope::Family(jti) | Scope::Session(jti) => {
                    sqlx::query(&revoke).bind(jti).execute(&mut *conn).await
                }
                Scope::User(id) => sqlx::query(&revoke).bind(id).execute(&mut *conn).await,
            }
            .map_err(classify)?;
            Ok(())
        }

        async fn insert_refresh_row(
            conn: &mut Conn,
            t: &RefreshRecord,
            state: RowState,
            replaced_by: Option<&str>,
        ) -> StoreResult<()> {
            sqlx::query(&format!(
                "INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ))
            .bind(&t.jti)
            .bind(&t.family)
            .bind(t.user_id)
            .bind(&t.client_id)
            .bind(t.issued_at)
            .bind(t.expires_at)
            .bind(&t.access_jti)
            .bind(t.access_expires_at)
            .bind(&t.scope)
            .bind(state.as_str())
            .bind(replaced_by)
            .execute(&mut *conn)
            .await
            .map_err(classify)?;
            Ok(())
        }

        async fn insert_key(conn: &mut Conn, k: &StoredKey) -> StoreResult<()> {
            sqlx::query(&format!(
                "INSERT INTO signing_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ))
            .bind(&k.kid)
            .bind(&k.alg)
            .bind(k.state.as_str())
            .bind(k.created_at)
            .bind(k.activated_at)
            .bind(k.retire_after)
            .bind(&k.sealed_private)
            .execute(&mut *conn)
            .await
            .map_err(classify)?;
            Ok(())
        }

        fn key_from_row(r: &DbRow) -> StoreResult<StoredKey> {
            let state: String = r.try_get("state").map_err(StoreError::Database)?;
            Ok(StoredKey {
                kid: r.try_get("kid").map_err(StoreError::Database)?,
                alg: r.try_get("alg").map_err(StoreError::Database)?,
                state: KeyState::parse(&state)
                    .ok_or_else(|| StoreError::Corrupt(format!("key state {state}")))?,
                created_at: r.try_get("created_at").map_err(StoreError::Database)?,
                activated_at: r.try_get("activated_at").map_err(StoreError::Database)?,
                retire_after: r.try_get("retire_after").map_err(StoreError::Database)?,
                sealed_private: r.try_get("sealed_private").map_err(StoreError::Database)?,
            })
        }

        fn client_from_row(r: &DbRow) -> StoreResult<Client> {
            let get = |e| StoreError::Database(e);
            let list = |column: &str| -> StoreResult<Vec<String>> {
                let text: String = r.try_get(column).map_err(get)?;
                serde_json::from_str(&text)
                    .map_err(|e| StoreError::Corrupt(format!("client {column}: {e}")))
            };
            Ok(Client {
                client_id: r.try_get("client_id").map_err(get)?,
                name: r.try_get("name").map_err(get)?,
                secret_hash: r.try_get("secret_hash").map_err(get)?,
                redirect_uris: list("redirect_uris")?,
                grants: list("grants")?,
                scopes: list("scopes")?,
                first_party: r.try_get("first_party").map_err(get)?,
                access_lifetime: r.try_get("access_lifetime").map_err(get)?,
                refresh_lifetime: r.try_get("refresh_lifetime").map_err(get)?,
                created_at: r.try_get("created_at").map_err(get)?,
                id_token_alg: r.try_get("id_token_alg").map_err(get)?,
                audiences: list("audiences")?,
                post_logout_redirect_uris: list("post_logout_redirect_uris")?,
                backchannel_logout_uri: r.try_get("backchannel_logout_uri").map_err(get)?,
                backchannel_logout_session_required: r
                    .try_get("backchannel_logout_session_required")
                    .map_err(get)?,
                frontchannel_logout_uri: r.try_get("frontchannel_logout_uri").map_err(get)?,
                frontchannel_logout_session_required: r
                    .try_get("frontchannel_logout_session_required")
                    .map_err(get)?,
                require_pushed_authorization_requests: r
                    .try_get("require_pushed_authorization_requests")
                    .map_err(get)?,
                jwks: r.try_get("jwks").map_err(get)?,
                jwks_uri: r.try_get("jwks_uri").map_err(get)?,
                request_object_signing_alg: r.try_get("request_object_signing_alg").map_err(get)?,
                require_signed_request_object: r
                    .try_get("require_signed_request_object")
                    .map_err(get)?,
            })
        }

        async fn insert_client(conn: &mut Conn, c: &Client) -> StoreResult<()> {
            let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
            sqlx::query(&format!(
                "INSERT INTO clients ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                 $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)"
            ))
            .bind(&c.client_id)
            .bind(&c.name)
            .bind(&c.secret_hash)
            .bind(json(&c.redirect_uris))
            .bind(json(&c.grants))
            .bind(json(&c.scopes))
            .bind(c.first_party)
            .bind(c.access_lifetime)
            .bind(c.refresh_lifetime)
            .bind(c.created_at)
            .bind(&c.id_token_alg)
            .bind(json(&c.audiences))
            .bind(json(&c.post_logout_redirect_uris))
            .bind(&c.backchannel_logout_uri)
            .bind(c.backchannel_logout_session_required)
            .bind(&c.frontchannel_logout_uri)
            .bind(c.frontchannel_logout_session_required)
            .bind(c.require_pushed_authorization_requests)
            .bind(&c.jwks)
            .bind(&c.jwks_uri)
            .bind(&c.request_object_signing_alg)
            .bind(c.require_signed_request_object)
            .execute(&mut *conn)
            .await
            .map_err(classify)?;
            Ok(())
        }

        fn refresh_from_row(r: &DbRow) -> StoreResult<RefreshRow> {
            let state: String = r.try_get("state").map_err(StoreError::Database)?;
            let get = |e| StoreError::Database(e);
            Ok(RefreshRow {
                record: RefreshRecord {
                    jti: r.try_get("jti").map_err(get)?,
                    family: r.try_get("family").map_err(get)?,
                    user_id: r.try_get("user_id").map_err(get)?,
                    client_id: r.try_get("client_id").map_err(get)?,
                    issued_at: r.try_get("issued_at").map_err(get)?,
                    expires_at: r.try_get("expires_at").map_err(get)?,
                    access_jti: r.try_get("access_jti").map_err(get)?,
                    access_expires_at: r.try_get("access_expires_at").map_err(get)?,
                    scope: r.try_get("scope").map_err(get)?,
                },
                state: RowState::parse(&state)
                    .ok_or_else(|| StoreError::Corrupt(format!("refresh state {state}")))?,
                replaced_by: r.try_get("replaced_by").map_err(get)?,
            })
        }

        /// Reads a refresh row's state and expiry.
        async fn row_state(conn: &mut Conn, jti: &str) -> StoreResult<Option<(RowState, i64)>> {
            let row = sqlx::query("SELECT state, expires_at FROM refresh_tokens WHERE jti = $1")
                .bind(jti)
                .fetch_optional(&mut *conn)
                .await
                .map_err(classify)?;
            row.map(|r| {
                let state: String = r.try_get("state").map_err(StoreError::Database)?;
                let expires: i64 = r.try_get("expires_at").map_err(StoreError::Database)?;
                RowState::parse(&state)
                    .map(|s| (s, expires))
                    .ok_or_else(|| StoreError::Corrupt(format!("refresh state {state}")))
            })
            .transpose()
        }

        /// Consumes `old_jti` and stores `next` on `conn`, inside a write transaction the
        /// caller commits. The conditional update is the exactly-once point: of concurrent
        /// callers, one changes the row; the others (on PostgreSQL, after waiting for its
        /// lock; on SQLite, after the writer before them committed) see it rotated and
        /// change nothing but the family's revocation.
        async fn rotate_in(
            conn: &mut Conn,
            old_jti: &str,
            next: &RefreshRecord,
            now: i64,
        ) -> StoreResult<RotateOutcome> {
            let consumed = sqlx::query(
                "UPDATE refresh_tokens SET state = 'rotated', replaced_by = $1 \
                 WHERE jti = $2 AND state = 'active' AND expires_at > $3 AND family = $4",
            )
            .bind(&next.jti)
            .bind(old_jti)
            .bind(now)
            .bind(&next.family)
            .execute(&mut *conn)
            .await
            .map_err(classify)?
            .rows_affected();
            if consumed == 1 {
                insert_refresh_row(&mut *conn, next, RowState::Active, None).await?;
                return Ok(RotateOutcome::Rotated);
            }
            Ok(match row_state(&mut *conn, old_jti).await? {
                None => RotateOutcome::NotFound,
                Some((RowState::Rotated, _)) => {
                    revoke_families(&mut *conn, Scope::FamilyOf(old_jti), now).await?;
                    RotateOutcome::Reused
                }
                Some((RowState::Revoked, _)) => RotateOutcome::Revoked,
                Some((RowState::Active, expires)) if expires <= now => RotateOutcome::Expired,
                // Active and unexpired but another family: a forged claim; unknown.
                Some((RowState::Active, _)) => RotateOutcome::NotFound,
            })
        }

        impl $store {
            /// [`Self::write_conn`] for a write to none of the cached tables (refresh
            /// rows, login counters, audit events).
            async fn write_conn_leaving_cache(&self) -> StoreResult<$crate::store::sql::WriteConn<$db>> {
                let mut conn = self.write_conn().await?;
                conn.leaves_cache_valid();
                Ok(conn)
            }

            /// Gives every user written before `users.username_key` existed its key; one
            /// whose key another already has (old usernames differing only in case) keeps
            /// none, is found by its exact username, and is named in a warning.
            pub(crate) async fn fill_username_keys(&self) -> StoreResult<()> {
                let missing: Vec<(i64, String)> =
                    sqlx::query_as("SELECT id, username FROM users WHERE username_key IS NULL ORDER BY id")
                        .fetch_all(&self.pool)
                        .await
                        .map_err(classify)?;
                for (id, username) in missing {
                    let filled = sqlx::query("UPDATE users SET username_key = $1 WHERE id = $2")
                        .bind($crate::domain::user::username_key(&username))
                        .bind(id)
                        .execute(&mut *self.write_conn().await?)
                        .await
                        .map_err(classify);
                    match filled {
                        Ok(_) => {}
                        Err(StoreError::Conflict(_)) => tracing::warn!(
                            user_id = id,
                            %username,
                            "another user's username differs from this one only in case or width: \
                             rename one of them (logins by this one must be typed exactly)"
                        ),
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }

            async fn user_where(&self, clause: &str, value: &str) -> StoreResult<Option<User>> {
                sqlx::query_as::<_, User>(&format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE {clause}"
                ))
                .bind(value)
                .fetch_optional(&self.pool)
                .await
                .map_err(classify)
            }

            /// One attempt of [`Store::revoke_family_of`].
            async fn revoke_once(&self, jti: &str, now: i64) -> StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let known = row_state(&mut tx, jti).await?.is_some();
                if known {
                    revoke_families(&mut tx, Scope::FamilyOf(jti), now).await?;
                }
                tx.commit().await.map_err(classify)?;
                Ok(known)
            }

            /// Runs `update` (parameters `$1` = value, `$2` = id) on one user and, with
            /// `end_sessions`, revokes all their tokens, in one transaction.
            async fn update_user<T>(
                &self,
                update: &str,
                value: T,
                id: i64,
                end_sessions: bool,
                now: i64,
            ) -> StoreResult<bool>
            where
                T: for<'q> sqlx::Encode<'q, $db> + sqlx::Type<$db> + Send,
            {
                let mut tx = self.begin_write().await?;
                let found = sqlx::query(update)
                    .bind(value)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?
                    .rows_affected()
                    == 1;
                if found && end_sessions {
                    end_all_sessions(&mut tx, id, now).await?;
                    // A password set or a disable voids every link mailed before: a reset
                    // link issued to the account as it was must not set its password now.
                    void_user_links(&mut tx, id).await?;
                }
                tx.commit().await.map_err(classify)?;
                Ok(found)
            }
        }

        #[async_trait::async_trait]
        impl Store for $store {
            fn pool_stats(&self) -> (u32, usize) {
                (self.pool.size(), self.pool.num_idle())
            }

            fn writable(&self) -> bool {
                self.writes_ok()
            }

            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1")
                    .execute(&self.pool)
                    .await
                    .map_err(classify)?;
                Ok(())
            }

            async fn create_user(&self, u: &NewUser) -> StoreResult<User> {
                let mut tx = self.begin_write().await?;
                // An explicit id (an import) or the database's next one.
                let (id_column, id_value) = match u.id {
                    Some(_) => ("id, ", "$1, "),
                    None => ("", ""),
                };
                let first = if u.id.is_some() { 2 } else { 1 };
                let params = (first..first + 16)
                    .map(|n| format!("${n}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql = format!(
                    "INSERT INTO users ({id_column}username, email, password_hash, first_name, \
                     last_name, is_active, is_staff, is_superuser, date_joined, last_login, roles, \
                     group_names, services, email_verified, imported_id, username_key) \
                     VALUES ({id_value}{params}) RETURNING {USER_COLUMNS}"
                );
                let mut query = sqlx::query_as::<_, User>(&sql);
                if let Some(id) = u.id {
                    query = query.bind(id);
                }
                let user = query
                .bind(&u.username)
                .bind(&u.email)
                .bind(&u.password_hash)
                .bind(&u.first_name)
                .bind(&u.last_name)
                .bind(u.is_active)
                .bind(u.is_staff)
                .bind(u.is_superuser)
                .bind(u.date_joined)
                .bind(u.last_login)
                .bind(sqlx::types::Json(&u.roles))
                .bind(sqlx::types::Json(&u.groups))
                .bind(u.services.as_ref().map(sqlx::types::Json))
                .bind(u.email_verified)
                .bind(u.imported_id)
                .bind($crate::domain::user::username_key(&u.username))
                .fetch_one(&mut *tx)
                .await
                .map_err(classify)?;
                if u.id.is_some() {
                    // Keep PostgreSQL's sequence past explicitly given ids.
                    sqlx::query(RESET_USER_IDS)
                        .execute(&mut *tx)
                        .await
                        .map_err(classify)?;
                }
                tx.commit().await.map_err(classify)?;
                Ok(user)
            }

            async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
                let load = async {
                    sqlx::query_as::<_, User>(&format!(
                        "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
                    ))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(classify)
                };
                match self.read_cache() {
                    Some(cache) => cache.through(|c| &c.users, id, load).await,
                    None => load.await,
                }
            }

            async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
                // By the key (case and width do not matter); a row still without one (two
                // old usernames differing only in case) by its exact username.
                sqlx::query_as::<_, User>(&format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE username_key = $1 \
                     OR (username_key IS NULL AND username = $2)"
                ))
                .bind($crate::domain::user::username_key(username))
                .bind(username)
                .fetch_optional(&self.pool)
                .await
                .map_err(classify)
            }

            async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
                self.user_where(EMAIL_MATCH, email).await
            }

            async fn list_users(&self) -> StoreResult<Vec<User>> {
                sqlx::query_as::<_, User>(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(classify)
            }

            async fn search_users(
                &self,
                search: &str,
                offset: i64,
                limit: i64,
            ) -> StoreResult<(Vec<User>, i64)> {
                let escaped = search
                    .to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                let pattern = format!("%{escaped}%");
                let filter = "lower(username) LIKE $1 ESCAPE '\\' OR lower(email) LIKE $1 ESCAPE '\\' \
                     OR lower(first_name) LIKE $1 ESCAPE '\\' OR lower(last_name) LIKE $1 ESCAPE '\\'";
                let (total,): (i64,) =
                    sqlx::query_as(&format!("SELECT COUNT(*) FROM users WHERE {filter}"))
                        .bind(&pattern)
                        .fetch_one(&self.pool)
                        .await
                        .map_err(classify)?;
                let users = sqlx::query_as::<_, User>(&format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE {filter} ORDER BY id LIMIT $2 OFFSET $3"
                ))
                .bind(&pattern)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await
                .map_err(classify)?;
                Ok((users, total))
            }

            async fn update_user_profile(&self, u: &User, now: i64) -> StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let before: Option<(String,)> = sqlx::query_as("SELECT email FROM users WHERE id = $1")
                    .bind(u.id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(classify)?;
                let Some((old_email,)) = before else {
                    tx.commit().await.map_err(classify)?;
                    return Ok(false);
                };
                sqlx::query(
                    "UPDATE users SET username = $1, email = $2, first_name = $3, last_name = $4, \
                     is_staff = $5, is_superuser = $6, roles = $7, group_names = $8, services = $9, \
                     username_key = $11 WHERE id = $10",
                )
                .bind(&u.username)
                .bind(&u.email)
                .bind(&u.first_name)
                .bind(&u.last_name)
                .bind(u.is_staff)
                .bind(u.is_superuser)
                .bind(sqlx::types::Json(&u.roles))
                .bind(sqlx::types::Json(&u.groups))
                .bind(u.services.as_ref().map(sqlx::types::Json))
                .bind(u.id)
                .bind($crate::domain::user::username_key(&u.username))
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
                // The account moved to another address: what was mailed to the old one and
                // every session started before are void (as a self-service change does).
                if old_email.to_lowercase() != u.email.to_lowercase() {
                    end_all_sessions(&mut tx, u.id, now).await?;
                    void_user_links(&mut tx, u.id).await?;
                }
                tx.commit().await.map_err(classify)?;
                Ok(true)
            }

            async fn delete_user(&self, id: i64, now: i64) -> StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                revoke_families(&mut tx, Scope::User(id), now).await?;
                queue_logouts(&mut tx, "sc.user_id = $1", id, now).await?;
                let done = sqlx::query("DELETE FROM users WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?;
                tx.commit().await.map_err(classify)?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_user_link(&self, link: &UserLink) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO user_links (token_hash, user_id, purpose, new_email, expires_at, \
                     password_hash, username, first_name, last_name) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&link.token_hash)
                .bind(link.user_id)
                .bind(&link.purpose)
                .bind(&link.new_email)
                .bind(link.expires_at)
                .bind(&link.signup.password_hash)
                .bind(&link.signup.username)
                .bind(&link.signup.first_name)
                .bind(&link.signup.last_name)
                .execute(&mut *self.write_conn().await?)
                .await
                .map_err(classify)?;
                Ok(())
            }

            async fn redeem_user_link(
                &self,
                token_hash: &str,
                purpose: &str,
                now: i64,
            ) -> StoreResult<Option<UserLink>> {
                let mut tx = self.begin_write().await?;
                let found = sqlx::query_as::<_, UserLink>(&format!(
                    "DELETE FROM user_links WHERE token_hash = $1 AND purpose = $2 \
                     RETURNING {LINK_COLUMNS}"
                ))
                .bind(token_hash)
                .bind(purpose)
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?;
                let Some(link) = found.filter(|l| l.expires_at > now) else {
                    tx.commit().await.map_err(classify)?;
                    return Ok(None);
                };
                match link.purpose.as_str() {
                    // The sign-up whose link the mailbox owner followed decides the
                    // password, username and names, whoever signed up first.
                    "verify" if link.signup.password_hash.is_some() => {
                        let s = &link.signup;
                        sqlx::query(
                            "UPDATE users SET email_verified = TRUE, \
                             password_hash = COALESCE($1, password_hash), \
                             username = COALESCE($2, username), \
                             username_key = COALESCE($3, username_key), \
                             first_name = COALESCE($4, first_name), \
                             last_name = COALESCE($5, last_name) \
                             WHERE id = $6 AND email_verified = FALSE",
                        )
                        .bind(&s.password_hash)
                        .bind(&s.username)
                        .bind(s.username.as_deref().map($crate::domain::user::username_key))
                        .bind(&s.first_name)
                        .bind(&s.last_name)
                        .bind(link.user_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(classify)?;
                    }
                    // A reset link reached the address too: it is proven.
                    "verify" | "reset" => {
                        sqlx::query("UPDATE users SET email_verified = TRUE WHERE id = $1")
                            .bind(link.user_id)
                            .execute(&mut *tx)
                            .await
                            .map_err(classify)?;
                    }
                    "email" => {
                        // A username that was the old address follows it: it would
                        // otherwise be an address the account no longer has.
                        let (old_email,): (String,) =
                            sqlx::query_as("SELECT email FROM users WHERE id = $1")
                                .bind(link.user_id)
                                .fetch_one(&mut *tx)
                                .await
                                .map_err(classify)?;
                        let old_key = $crate::domain::user::username_key(&old_email);
                        // A sign-up nobody confirmed for the new address gives way.
                        sqlx::query(&format!(
                            "DELETE FROM users WHERE {EMAIL_MATCH} AND id <> $2 \
                             AND email_verified = FALSE AND password_hash = '!'"
                        ))
                        .bind(&link.new_email)
                        .bind(link.user_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(classify)?;
                        sqlx::query(
                            "UPDATE users SET email = $1, email_verified = TRUE, \
                             username = CASE WHEN username_key = $3 THEN $1 ELSE username END, \
                             username_key = CASE WHEN username_key = $3 THEN $4 ELSE username_key END \
                             WHERE id = $2",
                        )
                        .bind(&link.new_email)
                        .bind(link.user_id)
                        .bind(old_key)
                        .bind(link.new_email.as_deref().map($crate::domain::user::username_key))
                        .execute(&mut *tx)
                        .await
                        .map_err(classify)?;
                        // The account moved: what was mailed to the old address and every
                        // session started before are void.
                        end_all_sessions(&mut tx, link.user_id, now).await?;
                        void_user_links(&mut tx, link.user_id).await?;
                    }
                    _ => {}
                }
                // One link of a kind at a time: the others of the same purpose go too.
                sqlx::query("DELETE FROM user_links WHERE user_id = $1 AND purpose = $2")
                    .bind(link.user_id)
                    .bind(&link.purpose)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?;
                tx.commit().await.map_err(classify)?;
                Ok(Some(link))
            }

            async fn end_user_sessions(&self, id: i64, now: i64) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                end_all_sessions(&mut tx, id, now).await?;
                tx.commit().await.map_err(classify)?;
                Ok(())
            }

            async fn use_legacy_refresh(&self, jti: &str, expires_at: i64) -> StoreResult<bool> {
                let done = sqlx::query(
                    "INSERT INTO legacy_refresh_used (jti, expires_at) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(jti)
                .bind(expires_at)
                .execute(&mut *self.write_conn().await?)
                .await
                .map_err(classify)?;
                Ok(done.rows_affected() == 1)
            }

            async fn user_link(&self, token_hash: &str) -> StoreResult<Option<UserLink>> {
                sqlx::query_as::<_, UserLink>(&format!(
                    "SELECT {LINK_COLUMNS} FROM user_links WHERE token_hash = $1"
                ))
                .bind(token_hash)
                .fetch_optional(&self.pool)
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
                let update = "UPDATE users SET password_hash = $1 WHERE id = $2";
                self.update_user(update, hash.to_owned(), id, end_sessions, now)
                    .await
            }

            async fn upgrade_password_hash(&self, id: i64, old: &str, new: &str) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3",
                )
                .bind(new)
                .bind(id)
                .bind(old)
                .execute(&mut *self.write_conn().await?)
                .await
                .map_err(classify)?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_active(&self, id: i64, active: bool, now: i64) -> StoreResult<bool> {
                let update = "UPDATE users SET is_active = $1 WHERE id = $2";
                self.update_user(update, active, id, !active, now).await
            }

            async fn record_login(&self, id: i64, at: time::OffsetDateTime) -> StoreResult<()> {
                // One user's last_login: that user is forgotten from the read cache once
                // the update has committed, not the whole cache.
                let mut conn = self.write_conn_leaving_cache().await?;
                sqlx::query("UPDATE users SET last_login = $1 WHERE id = $2")
                    .bind(at)
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .map_err(classify)?;
                drop(conn);
                if let Some(cache) = self.read_cache() {
                    cache.users.forget(&id);
                }
                Ok(())
            }

            async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
                let rows = sqlx::query(&format!(
                    "SELECT {KEY_COLUMNS} FROM signing_keys ORDER BY created_at, kid"
                ))
                .fetch_all(&self.pool)
                .await
                .map_err(classify)?;
                rows.iter().map(key_from_row).collect()
            }

            async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
                    .bind(kid)
                    .execute(&mut *self.write_conn().await?)
                    .await
                    .map_err(classify)?;
                Ok(done.rows_affected() == 1)
            }

            async fn prune_retired_keys(&self, now: i64) -> StoreResult<u64> {
                let done = sqlx::query(
                    "DELETE FROM signing_keys WHERE state = 'retired' AND retire_after <= $1",
                )
                .bind(now)
                .execute(&mut *self.write_conn().await?)
                .await
                .map_err(classify)?;
                Ok(done.rows_affected())
            }

            async fn insert_signing_key(&self, k: &StoredKey) -> StoreResult<()> {
                insert_key(&mut *self.write_conn().await?, k).await
            }

            async fn activate_key(
                &self,
                kid: &str,
                retire_after: i64,
                now: i64,
            ) -> StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                let alg: Option<String> = sqlx::query_scalar(&format!(
                    "SELECT alg FROM signing_keys WHERE kid = $1 AND state = 'next'{FOR_UPDATE}"
                ))
                .bind(kid)
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?;
                let Some(alg) = alg else {
                    return Ok(false);
                };
                sqlx::query(
                    "UPDATE signing_keys SET state = 'retired', retire_after = $1 \
                     WHERE alg = $2 AND state = 'active'",
                )
                .bind(retire_after)
                .bind(&alg)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
                sqlx::query(
                    "UPDATE signing_keys SET state = 'active', activated_at = $1 WHERE kid = $2",
                )
                .bind(now)
                .bind(kid)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
                tx.commit().await.map_err(classify)?;
                Ok(true)
            }

            async fn record_audit(&self, e: &$crate::store::AuditEvent) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO audit_events (at, kind, actor, subject, ip, detail) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(e.at)
                .bind(&e.kind)
                .bind(&e.actor)
                .bind(&e.subject)
                .bind(&e.ip)
                .bind(&e.detail)
                .execute(&mut *self.write_conn_leaving_cache().await?)
                .await
                .map_err(classify)?;
                Ok(())
            }

            async fn audit_events(&self, after: i64, limit: i64) -> StoreResult<Vec<$crate::store::AuditEvent>> {
                let mut rows: Vec<$crate::store::AuditEvent> = sqlx::query_as(
                    "SELECT id, at, kind, actor, subject, ip, detail FROM audit_events \
                     WHERE id > $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(classify)?;
                rows.reverse();
                Ok(rows)
            }

            async fn prune_audit(&self, before: i64) -> StoreResult<u64> {
                let done = sqlx::query("DELETE FROM audit_events WHERE at < $1")
                    .bind(before)
                    .execute(&mut *self.write_conn().await?)
                    .await
                    .map_err(classify)?;
                Ok(done.rows_affected())
            }

            async fn prune_expired(
                &self,
                now: i64,
                failures_before: i64,
            ) -> StoreResult<Vec<(&'static str, u64)>> {
                let statements: [(&'static str, &'static str, i64); 9] = [
                    (
                        "refresh_tokens",
                        "DELETE FROM refresh_tokens WHERE expires_at < $1 AND access_expires_at < $1",
                        now,
                    ),
                    ("auth_codes", "DELETE FROM auth_codes WHERE expires_at < $1", now),
                    ("sessions", "DELETE FROM sessions WHERE expires_at < $1", now),
                    ("user_links", "DELETE FROM user_links WHERE expires_at < $1", now),
                    ("pushed_requests", "DELETE FROM pushed_requests WHERE expires_at < $1", now),
                    (
                        "legacy_refresh_used",
                        "DELETE FROM legacy_refresh_used WHERE expires_at < $1",
                        now,
                    ),
                    ("revoked_access", "DELETE FROM revoked_access WHERE expires_at < $1", now),
                    (
                        "login_failures",
                        "DELETE FROM login_failures WHERE last_failure < $1 AND key NOT LIKE 'ok:%'",
                        failures_before,
                    ),
                    // The throttle's known-address marks live longer than its counters.
                    (
                        "login_failures (known addresses)",
                        "DELETE FROM login_failures WHERE last_failure < $1 AND key LIKE 'ok:%'",
                        now.saturating_sub($crate::store::KNOWN_ADDRESS_FOR),
                    ),
                ];
                let mut removed = Vec::with_capacity(statements.len());
                for (table, sql, bound) in statements {
                    // One short write per table: no long lock on SQLite's single writer.
                    let done = sqlx::query(sql)
                        .bind(bound)
                        .execute(&mut *self.write_conn().await?)
                        .await
                        .map_err(classify)?;
                    removed.push((table, done.rows_affected()));
                }
                // Sign-ups nobody confirmed: no usable password, no link left (they went
                // above), an hour old at least (a sign-up's link is written just after its
                // account). They would hold a username and an address forever.
                let before = time::OffsetDateTime::from_unix_timestamp(now.saturating_sub(3600))
                    .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
                let done = sqlx::query(
                    "DELETE FROM users WHERE email_verified = FALSE AND password_hash = '!' \
                     AND date_joined < $1 \
                     AND NOT EXISTS (SELECT 1 FROM user_links WHERE user_links.user_id = users.id)",
                )
                .bind(before)
                .execute(&mut *self.write_conn().await?)
                .await
                .map_err(classify)?;
                removed.push(("users (unconfirmed sign-ups)", done.rows_affected()));
                Ok(removed)
            }

            async fn table_counts(&self) -> StoreResult<Vec<(&'static str, i64)>> {
                const TABLES: [&str; 18] = [
                    "audit_events",
                    "session_clients",
                    "session_grants",
                    "logout_deliveries",
                    "pushed_requests",
                    "deleted_clients",
                    "users",
                    "clients",
                    "signing_keys",
                    "refresh_tokens",
                    "revoked_access",
                    "sessions",
                    "consents",
                    "auth_codes",
                    "login_failures",
                    "user_links",
                    "legacy_refresh_used",
                    "_sqlx_migrations",
                ];
                let mut counts = Vec::with_capacity(TABLES.len());
                for table in TABLES {
                    let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
                        .fetch_one(&self.pool)
                        .await
                        .map_err(classify)?;
                    counts.push((table, n));
                }
                Ok(counts)
            }

            async fn login_failures(
                &self,
                keys: &[String],
                since: i64,
            ) -> StoreResult<Vec<(String, i64, i64)>> {
                let mut found = Vec::new();
                for key in keys {
                    let row: Option<(String, i64, i64)> = sqlx::query_as(
                        "SELECT key, failures, last_failure FROM login_failures \
                         WHERE key = $1 AND last_failure >= $2",
                    )
                    .bind(key)
                    .bind(since)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(classify)?;
                    found.extend(row);
                }
                Ok(found)
            }

            async fn record_login_failure(
                &self,
                keys: &[String],
                now: i64,
                window_start: i64,
            ) -> StoreResult<()> {
                let mut conn = self.write_conn_leaving_cache().await?;
                for key in keys {
                    sqlx::query(
                        "INSERT INTO login_failures (key, failures, last_failure) VALUES ($1, 1, $2) \
                         ON CONFLICT (key) DO UPDATE SET \
                         failures = CASE WHEN login_failures.last_failure < $3 THEN 1 \
                                         ELSE login_failures.failures + 1 END, \
                         last_failure = $2",
                    )
                    .bind(key)
                    .bind(now)
                    .bind(window_start)
                    .execute(&mut *conn)
                    .await
                    .map_err(classify)?;
                }
                Ok(())
            }

            async fn clear_login_failures(&self, key: &str) -> StoreResult<()> {
                sqlx::query("DELETE FROM login_failures WHERE key = $1")
                    .bind(key)
                    .execute(&mut *self.write_conn_leaving_cache().await?)
                    .await
                    .map_err(classify)?;
                Ok(())
            }

            async fn reseal_keys(
                &self,
                resealed: &[(String, Vec<u8>, Vec<u8>)],
            ) -> StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                for (kid, old, new) in resealed {
                    let done = sqlx::query(
                        "UPDATE signing_keys SET sealed_private = $1 \
                         WHERE kid = $2 AND sealed_private = $3",
                    )
                    .bind(new)
                    .bind(kid)
                    .bind(old)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?;
                    if done.rows_affected() != 1 {
                        return Ok(false);
                    }
                }
                tx.commit().await.map_err(classify)?;
                Ok(true)
            }

            async fn insert_refresh(&self, t: &RefreshRecord) -> StoreResult<()> {
                insert_refresh_row(&mut *self.write_conn_leaving_cache().await?, t, RowState::Active, None)
                    .await
            }

            async fn rotate_refresh(
                &self,
                old_jti: &str,
                next: &RefreshRecord,
                now: i64,
            ) -> StoreResult<RotateOutcome> {
                self.rotate(old_jti, next, now).await
            }

            async fn refresh_state(&self, jti: &str, now: i64) -> StoreResult<Option<RefreshState>> {
                let mut conn = self.pool.acquire().await.map_err(classify)?;
                Ok(row_state(&mut conn, jti).await?.map(|(state, expires)| match state {
                    RowState::Rotated => RefreshState::Rotated,
                    RowState::Revoked => RefreshState::Revoked,
                    RowState::Active if expires <= now => RefreshState::Expired,
                    RowState::Active => RefreshState::Active,
                }))
            }

            async fn revoke_family_of(&self, jti: &str, now: i64) -> StoreResult<bool> {
                let mut attempt = 0;
                loop {
                    match self.revoke_once(jti, now).await {
                        Err(e) if attempt < 3 && $crate::store::sql::retryable(&e) => attempt += 1,
                        other => return other,
                    }
                }
            }

            async fn is_access_revoked(&self, jti: &str) -> StoreResult<bool> {
                let load = async {
                    let row = sqlx::query("SELECT 1 FROM revoked_access WHERE jti = $1")
                        .bind(jti)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(classify)?;
                    Ok(row.is_some())
                };
                match self.read_cache() {
                    Some(cache) => cache.through(|c| &c.revoked, jti.to_owned(), load).await,
                    None => load.await,
                }
            }

            async fn revoke_access(&self, jti: &str, expires_at: i64) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO revoked_access (jti, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(jti)
                .bind(expires_at)
                .execute(&mut *self.write_conn().await?)
                .await
                .map_err(classify)?;
                Ok(())
            }

            async fn create_client(&self, c: &Client) -> StoreResult<()> {
                insert_client(&mut *self.write_conn().await?, c).await
            }

            async fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
                let load = async {
                    let row = sqlx::query(&format!(
                        "SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1"
                    ))
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(classify)?;
                    row.as_ref().map(client_from_row).transpose()
                };
                match self.read_cache() {
                    Some(cache) => cache.through(|c| &c.clients, client_id.to_owned(), load).await,
                    None => load.await,
                }
            }

            async fn list_clients(&self) -> StoreResult<Vec<Client>> {
                let rows = sqlx::query(&format!(
                    "SELECT {CLIENT_COLUMNS} FROM clients ORDER BY client_id"
                ))
                .fetch_all(&self.pool)
                .await
                .map_err(classify)?;
                rows.iter().map(client_from_row).collect()
            }

            async fn set_client_secret(&self, client_id: &str, secret_hash: &str) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE clients SET secret_hash = $1 WHERE client_id = $2 AND secret_hash IS NOT NULL",
                )
                .bind(secret_hash)
                .bind(client_id)
                .execute(&mut *self.write_conn().await?)
                .await
                .map_err(classify)?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_client(&self, client_id: &str, now: i64) -> StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                revoke_families(&mut tx, Scope::Client(client_id), now).await?;
                let gone = sqlx::query("DELETE FROM clients WHERE client_id = $1")
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?
                    .rows_affected()
                    == 1;
                if gone {
                    sqlx::query(
                        "INSERT INTO deleted_clients (client_id, deleted_at) VALUES ($1, $2) \
                         ON CONFLICT (client_id) DO UPDATE SET deleted_at = excluded.deleted_at",
                    )
                    .bind(client_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?;
                }
                tx.commit().await.map_err(classify)?;
                Ok(gone)
            }

            async fn client_deleted_at(&self, client_id: &str) -> StoreResult<Option<i64>> {
                sqlx::query_scalar("SELECT deleted_at FROM deleted_clients WHERE client_id = $1")
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(classify)
            }

            async fn create_session(&self, x: &Session) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO sessions (token_hash, sid, user_id, auth_time, expires_at, session_epoch) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&x.token_hash)
                .bind(&x.sid)
                .bind(x.user_id)
                .bind(x.auth_time)
                .bind(x.expires_at)
                .bind(x.session_epoch)
                .execute(&mut *self.write_conn().await?)
                .await
                .map_err(classify)?;
                Ok(())
            }

            async fn session(&self, token_hash: &str, now: i64) -> StoreResult<Option<Session>> {
                sqlx::query_as::<_, Session>(
                    "SELECT token_hash, sid, user_id, auth_time, expires_at, session_epoch FROM sessions \
                     WHERE token_hash = $1 AND NOT ended AND expires_at > $2",
                )
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(classify)
            }

            async fn user_sessions(&self, user_id: i64, now: i64) -> StoreResult<Vec<Session>> {
                sqlx::query_as::<_, Session>(
                    "SELECT token_hash, sid, user_id, auth_time, expires_at, session_epoch FROM sessions \
                     WHERE user_id = $1 AND NOT ended AND expires_at > $2 ORDER BY auth_time DESC",
                )
                .bind(user_id)
                .bind(now)
                .fetch_all(&self.pool)
                .await
                .map_err(classify)
            }

            async fn user_families(&self, user_id: i64, now: i64) -> StoreResult<Vec<LiveFamily>> {
                sqlx::query_as::<_, LiveFamily>(
                    "SELECT family, client_id, issued_at, expires_at FROM refresh_tokens \
                     WHERE user_id = $1 AND state = 'active' AND expires_at > $2 \
                     ORDER BY issued_at DESC",
                )
                .bind(user_id)
                .bind(now)
                .fetch_all(&self.pool)
                .await
                .map_err(classify)
            }

            async fn end_session(&self, token_hash: &str, now: i64) -> StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                // Locked first (PostgreSQL): a second ending at once waits, then finds it
                // ended and queues nothing.
                let sid: Option<String> = sqlx::query_scalar(&format!(
                    "SELECT sid FROM sessions WHERE token_hash = $1 AND NOT ended{FOR_UPDATE}"
                ))
                .bind(token_hash)
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?;
                let Some(sid) = sid else {
                    return Ok(false);
                };
                queue_logouts(&mut tx, "s.sid = $1", sid.clone(), now).await?;
                // What the session's codes gave ends with it (Back-Channel Logout §2.7),
                // and its codes not yet redeemed are void.
                revoke_families(&mut tx, Scope::Session(&sid), now).await?;
                sqlx::query(
                    "INSERT INTO revoked_access (jti, expires_at) \
                     SELECT access_jti, access_expires_at FROM session_grants \
                     WHERE sid = $1 AND access_expires_at > $2 ON CONFLICT DO NOTHING",
                )
                .bind(&sid)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
                for statement in [
                    "DELETE FROM auth_codes WHERE sid = $1 AND used_at IS NULL",
                    "UPDATE sessions SET ended = TRUE WHERE sid = $1",
                ] {
                    sqlx::query(statement)
                        .bind(&sid)
                        .execute(&mut *tx)
                        .await
                        .map_err(classify)?;
                }
                tx.commit().await.map_err(classify)?;
                Ok(true)
            }

            async fn session_frontchannel_uris(&self, token_hash: &str) -> StoreResult<Vec<(String, String)>> {
                sqlx::query_as::<_, (String, String)>(
                    "SELECT c.frontchannel_logout_uri, s.sid FROM sessions s \
                     JOIN session_clients sc ON sc.sid = s.sid \
                     JOIN clients c ON c.client_id = sc.client_id \
                     WHERE s.token_hash = $1 AND NOT s.ended AND c.frontchannel_logout_uri IS NOT NULL \
                     ORDER BY c.client_id",
                )
                .bind(token_hash)
                .fetch_all(&self.pool)
                .await
                .map_err(classify)
            }

            async fn insert_pushed_request(
                &self,
                uri_hash: &str,
                client_id: &str,
                params: &str,
                expires_at: i64,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO pushed_requests (uri_hash, client_id, params, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(uri_hash)
                .bind(client_id)
                .bind(params)
                .bind(expires_at)
                .execute(&mut *self.write_conn().await?)
                .await
                .map_err(classify)?;
                Ok(())
            }

            async fn count_pushed_requests(&self, client_id: &str, now: i64) -> StoreResult<i64> {
                sqlx::query_scalar(
                    "SELECT count(*) FROM pushed_requests WHERE client_id = $1 AND expires_at > $2",
                )
                .bind(client_id)
                .bind(now)
                .fetch_one(&self.pool)
                .await
                .map_err(classify)
            }

            async fn take_pushed_request(
                &self,
                uri_hash: &str,
                now: i64,
            ) -> StoreResult<Option<(String, String)>> {
                let mut tx = self.begin_write().await?;
                let found: Option<(String, String, i64)> = sqlx::query_as(
                    "DELETE FROM pushed_requests WHERE uri_hash = $1 \
                     RETURNING client_id, params, expires_at",
                )
                .bind(uri_hash)
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?;
                tx.commit().await.map_err(classify)?;
                Ok(found
                    .filter(|(_, _, expires_at)| *expires_at > now)
                    .map(|(client, params, _)| (client, params)))
            }

            async fn due_logout_deliveries(
                &self,
                now: i64,
                per_client: i64,
                limit: i64,
            ) -> StoreResult<Vec<LogoutDelivery>> {
                // The oldest `per_client` of each client: one client with a flood of
                // deliveries, or a dead endpoint, cannot fill every round.
                let rows = sqlx::query(&format!(
                    "SELECT {DELIVERY_COLUMNS} FROM (SELECT {DELIVERY_COLUMNS}, ROW_NUMBER() OVER \
                     (PARTITION BY client_id ORDER BY next_attempt_at, id) AS n \
                     FROM logout_deliveries WHERE next_attempt_at <= $1) AS due \
                     WHERE n <= $2 ORDER BY next_attempt_at, id LIMIT $3"
                ))
                .bind(now)
                .bind(per_client)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(classify)?;
                rows.iter().map(delivery_from_row).collect()
            }

            async fn lease_logout_delivery(&self, id: i64, seen: i64, until: i64) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE logout_deliveries SET next_attempt_at = $3, attempts = attempts + 1 \
                     WHERE id = $1 AND next_attempt_at = $2",
                )
                .bind(id)
                .bind(seen)
                .bind(until)
                .execute(&mut *self.write_conn().await?)
                .await
                .map_err(classify)?;
                Ok(done.rows_affected() == 1)
            }

            async fn retry_logout_delivery(&self, id: i64, at: i64) -> StoreResult<()> {
                sqlx::query("UPDATE logout_deliveries SET next_attempt_at = $2 WHERE id = $1")
                    .bind(id)
                    .bind(at)
                    .execute(&mut *self.write_conn().await?)
                    .await
                    .map_err(classify)?;
                Ok(())
            }

            async fn finish_logout_delivery(&self, id: i64) -> StoreResult<()> {
                sqlx::query("DELETE FROM logout_deliveries WHERE id = $1")
                    .bind(id)
                    .execute(&mut *self.write_conn().await?)
                    .await
                    .map_err(classify)?;
                Ok(())
            }

            async fn consent(&self, user_id: i64, client_id: &str) -> StoreResult<Option<String>> {
                sqlx::query_scalar("SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2")
                    .bind(user_id)
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(classify)
            }

            async fn grant_consent(
                &self,
                user_id: i64,
                client_id: &str,
                scope: &str,
                now: i64,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, \
                     granted_at = excluded.granted_at",
                )
                .bind(user_id)
                .bind(client_id)
                .bind(scope)
                .bind(now)
                .execute(&mut *self.write_conn().await?)
                .await
                .map_err(classify)?;
                Ok(())
            }

            async fn insert_code(&self, c: &AuthCode) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO auth_codes (code_hash, client_id, user_id, redirect_uri, scope, nonce, \
                     code_challenge, sid, auth_time, expires_at, session_epoch) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(&c.code_hash)
                .bind(&c.client_id)
                .bind(c.user_id)
                .bind(&c.redirect_uri)
                .bind(&c.scope)
                .bind(&c.nonce)
                .bind(&c.code_challenge)
                .bind(&c.sid)
                .bind(c.auth_time)
                .bind(c.expires_at)
                .bind(c.session_epoch)
                .execute(&mut *self.write_conn().await?)
                .await
                .map_err(classify)?;
                Ok(())
            }

            async fn redeem_code(&self, code_hash: &str, now: i64) -> StoreResult<Redemption> {
                let mut tx = self.begin_write().await?;
                // The exactly-once point, as for refresh tokens.
                let consumed = sqlx::query_as::<_, AuthCode>(
                    "UPDATE auth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL \
                     AND expires_at > $1 \
                     AND EXISTS (SELECT 1 FROM sessions s WHERE s.sid = auth_codes.sid AND NOT s.ended) \
                     RETURNING code_hash, client_id, user_id, redirect_uri, scope, \
                     nonce, code_challenge, sid, auth_time, expires_at, session_epoch",
                )
                .bind(now)
                .bind(code_hash)
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?;
                if let Some(code) = consumed {
                    // The client takes part in the code's session from now on: it hears of
                    // the session's end (back-channel logout).
                    sqlx::query(
                        "INSERT INTO session_clients (sid, client_id, user_id) \
                         SELECT sid, $2, user_id FROM sessions WHERE sid = $1 \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(&code.sid)
                    .bind(&code.client_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?;
                    tx.commit().await.map_err(classify)?;
                    return Ok(Redemption::Valid(code));
                }
                let row = sqlx::query(
                    "SELECT used_at, family, access_jti, access_expires_at FROM auth_codes WHERE code_hash = $1",
                )
                .bind(code_hash)
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?;
                let get = |e| StoreError::Database(e);
                let outcome = match row {
                    None => Redemption::Unknown,
                    Some(r) => {
                        let used: Option<i64> = r.try_get("used_at").map_err(get)?;
                        if used.is_none() {
                            Redemption::Expired
                        } else {
                            let family: Option<String> = r.try_get("family").map_err(get)?;
                            let jti: Option<String> = r.try_get("access_jti").map_err(get)?;
                            let exp: Option<i64> = r.try_get("access_expires_at").map_err(get)?;
                            if let Some(family) = family.as_deref() {
                                revoke_families(&mut tx, Scope::Family(family), now).await?;
                            }
                            if let (Some(jti), Some(exp)) = (jti, exp) {
                                sqlx::query(
                                    "INSERT INTO revoked_access (jti, expires_at) VALUES ($1, $2) \
                                     ON CONFLICT DO NOTHING",
                                )
                                .bind(jti)
                                .bind(exp)
                                .execute(&mut *tx)
                                .await
                                .map_err(classify)?;
                            }
                            Redemption::Reused
                        }
                    }
                };
                tx.commit().await.map_err(classify)?;
                Ok(outcome)
            }

            async fn record_code_tokens(
                &self,
                code_hash: &str,
                family: Option<&str>,
                access_jti: &str,
                access_expires_at: i64,
            ) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "UPDATE auth_codes SET family = $1, access_jti = $2, access_expires_at = $3 \
                     WHERE code_hash = $4",
                )
                .bind(family)
                .bind(access_jti)
                .bind(access_expires_at)
                .bind(code_hash)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
                // The session's grants: revoked when it ends. A session that ended between
                // the redemption and now takes them with it at once.
                sqlx::query(
                    "INSERT INTO session_grants (sid, access_jti, access_expires_at, family) \
                     SELECT a.sid, $1, $2, $3 FROM auth_codes a JOIN sessions s ON s.sid = a.sid \
                     WHERE a.code_hash = $4 ON CONFLICT DO NOTHING",
                )
                .bind(access_jti)
                .bind(access_expires_at)
                .bind(family)
                .bind(code_hash)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
                let ended: Option<bool> = sqlx::query_scalar(
                    "SELECT s.ended FROM auth_codes a JOIN sessions s ON s.sid = a.sid \
                     WHERE a.code_hash = $1",
                )
                .bind(code_hash)
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?;
                if ended != Some(false) {
                    // (0: every access token of the family is blocked, expired or not.)
                    if let Some(family) = family {
                        revoke_families(&mut tx, Scope::Family(family), 0).await?;
                    }
                    sqlx::query(
                        "INSERT INTO revoked_access (jti, expires_at) VALUES ($1, $2) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(access_jti)
                    .bind(access_expires_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?;
                }
                tx.commit().await.map_err(classify)?;
                Ok(())
            }

            async fn snapshot(&self, now: i64) -> StoreResult<Snapshot> {
                // One read transaction, so the parts agree with each other.
                let mut tx = self.pool.begin().await.map_err(classify)?;
                let users = sqlx::query_as::<_, User>(&format!(
                    "SELECT {USER_COLUMNS} FROM users ORDER BY id"
                ))
                .fetch_all(&mut *tx)
                .await
                .map_err(classify)?;
                let keys = sqlx::query(&format!(
                    "SELECT {KEY_COLUMNS} FROM signing_keys ORDER BY created_at, kid"
                ))
                .fetch_all(&mut *tx)
                .await
                .map_err(classify)?;
                let clients = sqlx::query(&format!(
                    "SELECT {CLIENT_COLUMNS} FROM clients ORDER BY client_id"
                ))
                .fetch_all(&mut *tx)
                .await
                .map_err(classify)?;
                let refresh = sqlx::query(&format!(
                    "SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE expires_at > $1 \
                     ORDER BY family, issued_at, jti"
                ))
                .bind(now)
                .fetch_all(&mut *tx)
                .await
                .map_err(classify)?;
                let revoked = sqlx::query(
                    "SELECT jti, expires_at FROM revoked_access WHERE expires_at > $1 ORDER BY jti",
                )
                .bind(now)
                .fetch_all(&mut *tx)
                .await
                .map_err(classify)?;
                tx.commit().await.map_err(classify)?;
                Ok(Snapshot {
                    users,
                    clients: clients.iter().map(client_from_row).collect::<StoreResult<_>>()?,
                    signing_keys: keys.iter().map(key_from_row).collect::<StoreResult<_>>()?,
                    refresh_tokens: refresh
                        .iter()
                        .map(refresh_from_row)
                        .collect::<StoreResult<_>>()?,
                    revoked_access: revoked
                        .iter()
                        .map(|r| {
                            Ok(RevokedAccess {
                                jti: r.try_get("jti").map_err(StoreError::Database)?,
                                expires_at: r.try_get("expires_at").map_err(StoreError::Database)?,
                            })
                        })
                        .collect::<StoreResult<_>>()?,
                })
            }

            async fn restore(&self, s: &Snapshot) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let occupied: Option<i32> = sqlx::query_scalar(
                    "SELECT 1 WHERE EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM clients) \
                     OR EXISTS (SELECT 1 FROM signing_keys) OR EXISTS (SELECT 1 FROM refresh_tokens)",
                )
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?;
                if occupied.is_some() {
                    return Err(StoreError::NotEmpty);
                }
                for u in &s.users {
                    sqlx::query(&format!(
                        "INSERT INTO users ({USER_COLUMNS}, username_key) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
                    ))
                    .bind(u.id)
                    .bind(&u.username)
                    .bind(&u.email)
                    .bind(&u.password_hash)
                    .bind(&u.first_name)
                    .bind(&u.last_name)
                    .bind(u.is_active)
                    .bind(u.is_staff)
                    .bind(u.is_superuser)
                    .bind(u.date_joined)
                    .bind(u.last_login)
                    .bind(sqlx::types::Json(&u.roles))
                    .bind(sqlx::types::Json(&u.groups))
                    .bind(u.services.as_ref().map(sqlx::types::Json))
                    .bind(u.email_verified)
                    .bind(u.session_epoch)
                    .bind(u.imported_id)
                    .bind($crate::domain::user::username_key(&u.username))
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?;
                }
                sqlx::query(RESET_USER_IDS)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?;
                for c in &s.clients {
                    insert_client(&mut tx, c).await?;
                }
                for k in &s.signing_keys {
                    insert_key(&mut tx, k).await?;
                }
                for r in &s.refresh_tokens {
                    insert_refresh_row(&mut tx, &r.record, r.state, r.replaced_by.as_deref())
                        .await?;
                }
                for r in &s.revoked_access {
                    sqlx::query("INSERT INTO revoked_access (jti, expires_at) VALUES ($1, $2)")
                        .bind(&r.jti)
                        .bind(r.expires_at)
                        .execute(&mut *tx)
                        .await
                        .map_err(classify)?;
                }
                tx.commit().await.map_err(classify)?;
                Ok(())
            }
        }
    };
}

pub(super) use impl_store;
