//! Storage: one backend-neutral trait, implemented by [`sqlite::SqliteStore`] (one file,
//! one machine) and [`postgres::PgStore`] (many replicas on one database), both from the
//! one SQL implementation in `sql/` (generic over the engine's `Dialect`, one file per
//! concept).
//!
//! Everything that must be atomic (rotating a refresh token, revoking a family, disabling
//! a user and ending their sessions, activating a key) is one trait method, done in one
//! transaction by the backend, so no caller can leave a half-written state, and the
//! uniqueness rules that concurrency could break (one live token per family, one active
//! key per algorithm) are unique indexes in the schema, not checks in code.

pub mod model;
pub mod postgres;
mod read_cache;
mod sql;
pub mod sqlite;

use async_trait::async_trait;
pub use model::*;
use std::sync::Arc;
use time::OffsetDateTime;

/// A storage operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A unique field is already taken (`username` or `email`, `kid`, …).
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The database is unreachable or too slow (pool timeout, I/O): retry later.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// An import was aimed at a database that already holds users, keys or tokens.
    #[error("the target database is not empty; import only into a new installation")]
    NotEmpty,
}

/// Result of a storage operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// The storage a Tessera server needs.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Checks the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// Whether writes are expected to work: false on SQLite from a write that failed for
    /// an I/O reason (a read-only, immutable or full file) until the health watcher finds
    /// the file writable again. `/readyz` reports it.
    fn writable(&self) -> bool;
    /// Connections the pool holds open, and how many of them are idle (for metrics).
    fn pool_stats(&self) -> (u32, usize);

    /// Inserts a user (with its password hash, in one statement).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] with `"username"` or `"email"` when taken.
    async fn create_user(&self, user: &NewUser) -> StoreResult<User>;
    /// The user with this id.
    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>>;
    /// The user with this exact username.
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    /// The user with this e-mail address (case-insensitive).
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    /// All users, by id.
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// Users whose username, e-mail, first or last name contains `search` (case-insensitive;
    /// empty matches all), by id, `limit` from `offset`; and how many match in all.
    async fn search_users(
        &self,
        search: &str,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<User>, i64)>;
    /// Saves the editable fields of `user` (username, e-mail, names, staff and superuser
    /// flags, roles, groups, services). A new e-mail address ends every session of the user
    /// and voids every pending link (in the same transaction). Returns whether the user
    /// exists.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] with `"username"` or `"email"` when taken.
    async fn update_user_profile(&self, user: &User, now: i64) -> StoreResult<bool>;
    /// Deletes a user after blocking their live access tokens; refresh tokens, sessions,
    /// consents and codes go with the row. Returns whether the user existed.
    async fn delete_user(&self, id: i64, now: i64) -> StoreResult<bool>;
    /// Records that the legacy (simplejwt) refresh token `jti` was exchanged; `false` when
    /// it had been already (exactly once, across replicas).
    async fn use_legacy_refresh(&self, jti: &str, expires_at: i64) -> StoreResult<bool>;
    /// The link with this token hash, used or not (to check a new password before the
    /// link is used up).
    async fn user_link(&self, token_hash: &str) -> StoreResult<Option<UserLink>>;
    /// Stores a single-use link (its token's hash only).
    async fn insert_user_link(&self, link: &UserLink) -> StoreResult<()>;
    /// Uses up the link with this hash and purpose, if it exists and has not expired, and
    /// applies it in the same transaction: `verify` and `reset` mark the e-mail verified
    /// (the caller of `reset` then sets the password), `email` replaces the address
    /// (verified), ends every session of the user and removes all their other links. For
    /// the other purposes, the other links of the same user and purpose are removed.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] with `"email"` when the new address was taken meanwhile.
    async fn redeem_user_link(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        now: i64,
    ) -> StoreResult<Option<UserLink>>;
    /// Logs a user out everywhere: every refresh family revoked with its access tokens,
    /// every SSO browser session ended and a back-channel logout queued for each client
    /// that got tokens through one, in one transaction.
    async fn end_user_sessions(&self, id: i64, now: i64) -> StoreResult<()>;
    /// Replaces a password hash; with `end_sessions`, also revokes every refresh family of
    /// the user and their live access tokens and ends their SSO sessions, in the same
    /// transaction. Returns whether the
    /// user exists.
    async fn set_password_hash(
        &self,
        id: i64,
        hash: &str,
        end_sessions: bool,
        now: i64,
    ) -> StoreResult<bool>;
    /// Replaces the password hash `old` by `new` (a rehash with current parameters after a
    /// login), only if it is still `old`: a password set meanwhile (by an admin, a reset)
    /// is never overwritten by the old password's rehash. Returns whether it replaced it.
    async fn upgrade_password_hash(&self, id: i64, old: &str, new: &str) -> StoreResult<bool>;
    /// Enables or disables a user; disabling also revokes all their tokens and ends their
    /// SSO sessions, atomically.
    /// Returns whether the user exists.
    async fn set_active(&self, id: i64, active: bool, now: i64) -> StoreResult<bool>;
    /// Records a successful login.
    async fn record_login(&self, id: i64, at: OffsetDateTime) -> StoreResult<()>;

    /// Every stored signing key (all states, all algorithms, including the internal MAC key).
    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>>;
    /// Removes a key at once (emergency revocation, or a staged key withdrawn). Returns
    /// whether it existed.
    async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool>;
    /// Removes retired keys whose `retire_after` has passed (every token they signed has
    /// expired). Returns how many.
    async fn prune_retired_keys(&self, now: i64) -> StoreResult<u64>;
    /// Stores a new key.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] with `"key"` when the kid exists, or when the key is
    /// `active` and its algorithm already has an active key (another replica won a race).
    async fn insert_signing_key(&self, key: &StoredKey) -> StoreResult<()>;
    /// Makes the `next` key `kid` the active key of its algorithm and retires the one it
    /// replaces (published until `retire_after`), atomically. Returns `false` when `kid`
    /// is not a `next` key (already activated by another replica, or unknown).
    async fn activate_key(&self, kid: &str, retire_after: i64, now: i64) -> StoreResult<bool>;

    /// Replaces the sealed private key of every `(kid, old, new)`, and the sealed TOTP
    /// secret of every `(user_id, old, new)`, whose sealed value is still `old`, in one
    /// transaction (`tessera keys rewrap`). Returns `false`, changing nothing, when any of
    /// them changed meanwhile.
    async fn reseal_keys(
        &self,
        resealed: &[(String, Vec<u8>, Vec<u8>)],
        totp: &[(i64, Vec<u8>, Vec<u8>)],
    ) -> StoreResult<bool>;
    /// Every TOTP secret, pending or confirmed (for `tessera keys rewrap`).
    async fn totp_secrets(&self) -> StoreResult<Vec<TotpSecret>>;

    /// Failed-login counters of `keys` whose last failure is at or after `since`:
    /// `(key, failures, last_failure)`.
    async fn login_failures(
        &self,
        keys: &[String],
        since: i64,
    ) -> StoreResult<Vec<(String, i64, i64)>>;
    /// Counts a failed login against each of `keys` at `now`; a counter whose last failure
    /// is before `window_start` starts again at one.
    async fn record_login_failure(
        &self,
        keys: &[String],
        now: i64,
        window_start: i64,
    ) -> StoreResult<()>;
    /// Forgets the counter `key` (a successful login).
    async fn clear_login_failures(&self, key: &str) -> StoreResult<()>;

    /// Removes what can never be used again: refresh tokens whose own and whose access
    /// token's expiry have passed, expired codes, sessions and revocation entries, and
    /// login-failure counters last touched before `failures_before`, and sign-ups never
    /// confirmed (no usable password, no link left, over an hour old). Returns rows
    /// removed per table.
    async fn prune_expired(
        &self,
        now: i64,
        failures_before: i64,
    ) -> StoreResult<Vec<(&'static str, u64)>>;
    /// Appends an audit event (its `id` is ignored).
    async fn record_audit(&self, event: &AuditEvent) -> StoreResult<()>;
    /// The last `limit` audit events with `id > after`, oldest first.
    async fn audit_events(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditEvent>>;
    /// Removes audit events older than `before`. Returns how many.
    async fn prune_audit(&self, before: i64) -> StoreResult<u64>;
    /// Rows per table (`tessera db stats`).
    async fn table_counts(&self) -> StoreResult<Vec<(&'static str, i64)>>;

    /// Stores the first token of a new family.
    async fn insert_refresh(&self, token: &RefreshRecord) -> StoreResult<()>;
    /// Consumes `old_jti` and stores `next` in its place, exactly once: of concurrent
    /// callers with the same `old_jti`, one gets [`RotateOutcome::Rotated`]. Presenting an
    /// already-rotated token revokes its whole family ([`RotateOutcome::Reused`]).
    async fn rotate_refresh(
        &self,
        old_jti: &str,
        next: &RefreshRecord,
        now: i64,
    ) -> StoreResult<RotateOutcome>;
    /// The state of a refresh token.
    async fn refresh_state(&self, jti: &str, now: i64) -> StoreResult<Option<RefreshState>>;
    /// Revokes the family of `jti` (logout). Returns whether the token was known.
    async fn revoke_family_of(&self, jti: &str, now: i64) -> StoreResult<bool>;

    /// Whether an access token was revoked before its expiry.
    async fn is_access_revoked(&self, jti: &str) -> StoreResult<bool>;
    /// Revokes one access token until its expiry (RFC 7009 revocation).
    async fn revoke_access(&self, jti: &str, expires_at: i64) -> StoreResult<()>;

    /// Stores a new OAuth client.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] with `"client"` when the id is taken.
    async fn create_client(&self, client: &Client) -> StoreResult<()>;
    /// The client with this id.
    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>>;
    /// All clients, by id.
    async fn list_clients(&self) -> StoreResult<Vec<Client>>;
    /// Replaces a confidential client's secret hash. Returns whether the client exists.
    async fn set_client_secret(&self, client_id: &str, secret_hash: &str) -> StoreResult<bool>;
    /// Deletes a client and revokes every refresh family issued to it, atomically, and
    /// records when the id was deleted. Returns whether it existed.
    async fn delete_client(&self, client_id: &str, now: i64) -> StoreResult<bool>;
    /// When a client of this id was last deleted, if ever.
    async fn client_deleted_at(&self, client_id: &str) -> StoreResult<Option<i64>>;

    /// The user's live SSO sessions, newest first.
    async fn user_sessions(&self, user_id: i64, now: i64) -> StoreResult<Vec<Session>>;
    /// The user's live refresh families (their current token), newest first.
    async fn user_families(&self, user_id: i64, now: i64) -> StoreResult<Vec<LiveFamily>>;

    /// A user's TOTP secret, pending or confirmed.
    async fn totp_secret(&self, user_id: i64) -> StoreResult<Option<TotpSecret>>;
    /// Stores a new pending TOTP secret (replacing a pending one); false when the user
    /// has a confirmed one.
    async fn begin_totp(&self, user_id: i64, sealed: &[u8], now: i64) -> StoreResult<bool>;
    /// Confirms the pending secret `sealed` (the one the code was checked against) with the
    /// step of its first code, replacing the
    /// recovery codes with `recovery` when it is not empty and ending every session of the
    /// user, in one transaction; false when there was no pending secret (or the step was
    /// used).
    async fn confirm_totp(
        &self,
        user_id: i64,
        sealed: &[u8],
        step: i64,
        now: i64,
        recovery: &[String],
    ) -> StoreResult<bool>;
    /// Accepts a TOTP code's time step once: false when a code of this step or a later
    /// one was accepted before (a replay), or the secret is not confirmed.
    async fn use_totp_step(&self, user_id: i64, step: i64, now: i64) -> StoreResult<bool>;
    /// Removes the TOTP secret (and with `drop_recovery` the recovery codes).
    async fn remove_totp(&self, user_id: i64, drop_recovery: bool) -> StoreResult<bool>;
    /// What is left of the user's recovery codes; `None` when they have none.
    async fn recovery_codes(&self, user_id: i64) -> StoreResult<Option<RecoveryCodes>>;
    /// Replaces every recovery code of the user (SHA-256 hashes).
    async fn replace_recovery_codes(
        &self,
        user_id: i64,
        hashes: &[String],
        now: i64,
    ) -> StoreResult<()>;
    /// Spends a recovery code (its hash): true only on its first use.
    async fn use_recovery_code(&self, user_id: i64, hash: &str, now: i64) -> StoreResult<bool>;
    /// Removes every second factor of the user and ends all their sessions (one
    /// transaction); false for an unknown user.
    async fn reset_factors(&self, user_id: i64, now: i64) -> StoreResult<bool>;
    /// Stores a sign-in waiting for its second factor.
    async fn insert_mfa_ticket(&self, ticket: &MfaTicket) -> StoreResult<()>;
    /// Counts one attempt at a live ticket that had fewer than `max`: the ticket, or
    /// `None` (unknown, expired, or out of attempts).
    async fn attempt_mfa_ticket(
        &self,
        token_hash: &str,
        purpose: &str,
        max: i64,
        now: i64,
    ) -> StoreResult<Option<MfaTicket>>;
    /// A live ticket with fewer than `max` attempts, without counting one.
    async fn mfa_ticket(
        &self,
        token_hash: &str,
        purpose: &str,
        max: i64,
        now: i64,
    ) -> StoreResult<Option<MfaTicket>>;
    /// Spends a ticket: true for the one caller that removed it.
    async fn take_mfa_ticket(&self, token_hash: &str) -> StoreResult<bool>;
    /// A step-up of a live session: a new cookie hash, the methods now used and the time of
    /// this authentication (the `sid` stays); false when the session is gone.
    async fn upgrade_session(
        &self,
        old_hash: &str,
        new_hash: &str,
        methods: &str,
        auth_time: i64,
    ) -> StoreResult<bool>;
    /// The user's passkeys, oldest first.
    async fn passkeys_of(&self, user_id: i64) -> StoreResult<Vec<PasskeyRow>>;
    /// The passkey with this credential id.
    async fn passkey(&self, credential_id: &str) -> StoreResult<Option<PasskeyRow>>;
    /// Registers a passkey (a credential id registered before is a conflict), replacing
    /// the recovery codes with `recovery` when not empty and ending every session of the
    /// user, in one transaction.
    async fn insert_passkey(&self, passkey: &PasskeyRow, recovery: &[String]) -> StoreResult<()>;
    /// Records a use of a passkey: its new state over the one it was read with.
    async fn use_passkey(
        &self,
        credential_id: &str,
        old: &str,
        new: &str,
        now: i64,
    ) -> StoreResult<bool>;
    /// Removes a passkey of the user (and with `drop_recovery` the recovery codes) and
    /// ends every session of the user.
    async fn remove_passkey(
        &self,
        user_id: i64,
        credential_id: &str,
        drop_recovery: bool,
        now: i64,
    ) -> StoreResult<bool>;
    /// Stores a WebAuthn ceremony's state.
    async fn insert_ceremony(&self, ceremony: &Ceremony) -> StoreResult<()>;
    /// Takes a live ceremony of `kind`, once.
    async fn take_ceremony(
        &self,
        id_hash: &str,
        kind: &str,
        now: i64,
    ) -> StoreResult<Option<Ceremony>>;
    /// Counts a wrong TOTP code (in a row) against the user's authenticator.
    async fn record_totp_failure(&self, user_id: i64) -> StoreResult<()>;

    /// Starts a browser SSO session.
    async fn create_session(&self, session: &Session) -> StoreResult<()>;
    /// The live session whose cookie hashes to `token_hash`.
    async fn session(&self, token_hash: &str, now: i64) -> StoreResult<Option<Session>>;
    /// Ends a session (logout), queueing a back-channel logout for each client that got
    /// tokens through it, in one transaction. Returns whether it was live.
    async fn end_session(&self, token_hash: &str, now: i64) -> StoreResult<bool>;

    /// The `frontchannel_logout_uri`s of the clients that got tokens through the live
    /// session whose cookie hashes to `token_hash`, each with the session's `sid`.
    async fn session_frontchannel_uris(
        &self,
        token_hash: &str,
    ) -> StoreResult<Vec<(String, String)>>;

    /// Stores a pushed authorization request (RFC 9126) under the SHA-256 of its
    /// `request_uri`.
    async fn insert_pushed_request(
        &self,
        uri_hash: &str,
        client_id: &str,
        params: &str,
        expires_at: i64,
    ) -> StoreResult<()>;
    /// How many pushed requests of `client_id` have not expired at `now`.
    async fn count_pushed_requests(&self, client_id: &str, now: i64) -> StoreResult<i64>;
    /// Uses up a pushed request: removed whatever happens, returned (client id and
    /// parameters) only if it had not expired at `now`.
    async fn take_pushed_request(
        &self,
        uri_hash: &str,
        now: i64,
    ) -> StoreResult<Option<(String, String)>>;

    /// Back-channel logouts due at `now`, oldest first: at most `per_client` of each
    /// client, `limit` in all.
    async fn due_logout_deliveries(
        &self,
        now: i64,
        per_client: i64,
        limit: i64,
    ) -> StoreResult<Vec<LogoutDelivery>>;
    /// Takes a delivery for one attempt: counts the attempt and moves it to `until` (when it
    /// is retried if this attempt never reports), only if it is still due at `seen` (no
    /// other replica took it). Returns whether this caller has it.
    async fn lease_logout_delivery(&self, id: i64, seen: i64, until: i64) -> StoreResult<bool>;
    /// Schedules the next attempt of a delivery at `at`.
    async fn retry_logout_delivery(&self, id: i64, at: i64) -> StoreResult<()>;
    /// Removes a delivery (done, or given up).
    async fn finish_logout_delivery(&self, id: i64) -> StoreResult<()>;

    /// The scopes `user_id` has consented to for `client_id`.
    async fn consent(&self, user_id: i64, client_id: &str) -> StoreResult<Option<String>>;
    /// Records (or replaces) a consent.
    async fn grant_consent(
        &self,
        user_id: i64,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> StoreResult<()>;

    /// Stores a new authorization code.
    async fn insert_code(&self, code: &AuthCode) -> StoreResult<()>;
    /// Consumes a code exactly once. A second redemption revokes the refresh family and
    /// the access token the first one gave, in the same transaction.
    async fn redeem_code(&self, code_hash: &str, now: i64) -> StoreResult<Redemption>;
    /// Links a redeemed code to the tokens it gave (revoked if the code is replayed).
    async fn record_code_tokens(
        &self,
        code_hash: &str,
        family: Option<&str>,
        access_jti: &str,
        access_expires_at: i64,
    ) -> StoreResult<()>;

    /// Everything still meaningful at `now`, read in one transaction.
    async fn snapshot(&self, now: i64) -> StoreResult<Snapshot>;
    /// Writes a snapshot into this empty store, all or nothing, keeping ids.
    ///
    /// # Errors
    /// [`StoreError::NotEmpty`] when the store already holds users, keys or tokens.
    async fn restore(&self, snapshot: &Snapshot) -> StoreResult<()>;
}

pub use crate::config::Backend;

/// A shared store.
pub type DynStore = Arc<dyn Store>;

/// How long the login throttle remembers that an account logged in from an address (its
/// `ok:` counters in `login_failures`, which pruning keeps this long): 30 days.
pub const KNOWN_ADDRESS_FOR: i64 = 30 * 86_400;

/// Opens the store named by `url` and brings its schema up to date.
///
/// # Errors
/// [`StoreError`] if the database cannot be opened or migrated.
pub async fn connect(
    url: &str,
    settings: &crate::config::DatabaseSettings,
) -> StoreResult<DynStore> {
    match Backend::of(url) {
        Some(Backend::Postgres) => {
            let store = postgres::PgStore::connect(url, settings).await?;
            store.migrate().await?;
            Ok(Arc::new(store))
        }
        _ => {
            let store = sqlite::SqliteStore::connect(url, settings).await?;
            store.migrate().await?;
            Ok(Arc::new(store))
        }
    }
}
