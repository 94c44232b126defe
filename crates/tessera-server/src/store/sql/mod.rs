//! The one implementation of [`Store`] in SQL, shared by both backends.
//!
//! The statements are written once, in functions generic over a [`Dialect`] (what differs
//! between SQLite and PostgreSQL: its SQL fragments, its errors, and the typed calls into
//! sqlx), one file per concept. A backend is an [`Engine`]: a pool and the hooks that
//! differ in behaviour (how a write waits for its turn and starts, the read cache, how a
//! refresh rotation is committed). Every `Engine` is a `Store`, through the delegations at
//! the end of this file.

mod audit;
mod authorization;
mod clients;
mod dialect;
mod factors;
mod keys;
mod links;
mod login_failures;
mod logout_deliveries;
mod maintenance;
mod refresh;
mod sessions;
mod snapshot;
mod transaction;
pub(super) mod users;

pub use dialect::{Column, Dialect, Query, Record, Statement, Value};
pub(super) use refresh::{REFRESH_COLUMNS, rotate_in};
pub(super) use transaction::{Released, WriteConn, WriteTx, begin_detached, retryable};

use super::read_cache::ReadCache;
use super::{
    AuditEvent, AuthCode, Ceremony, Client, LinkPurpose, LiveFamily, LogoutDelivery, MfaTicket,
    NewUser, PasskeyRow, RecoveryCodes, Redemption, RefreshRecord, RefreshState, RotateOutcome,
    Session, Snapshot, Store, StoreResult, StoredKey, TotpSecret, User, UserLink,
};
use std::future::Future;
use time::OffsetDateTime;

/// A SQL backend: its pool, and the hooks where the two backends behave differently.
pub trait Engine: Send + Sync + std::fmt::Debug + 'static {
    /// The engine's database, with its [`Dialect`].
    type Db: Dialect;

    /// The connection pool.
    fn pool(&self) -> &sqlx::Pool<Self::Db>;

    /// A write transaction, in this process's writers' turn where the engine has one.
    fn begin_write(&self) -> impl Future<Output = StoreResult<WriteTx<Self::Db>>> + Send;

    /// A connection for one autocommitted write, in the writers' turn where there is one.
    fn write_conn(&self) -> impl Future<Output = StoreResult<WriteConn<Self::Db>>> + Send;

    /// The memory of hot reads (users, clients, revoked access tokens), where the engine
    /// keeps one (SQLite; see [`super::read_cache`]).
    fn read_cache(&self) -> Option<&ReadCache>;

    /// Whether writes are expected to work ([`Store::writable`]).
    fn writes_ok(&self) -> bool;

    /// [`Store::rotate_refresh`]: how a rotation reaches [`rotate_in`] (a transaction each
    /// on PostgreSQL, group commit on SQLite).
    fn rotate(
        &self,
        old_jti: &str,
        next: &RefreshRecord,
        now: i64,
    ) -> impl Future<Output = StoreResult<RotateOutcome>> + Send;

    /// A pooled connection for reading.
    fn reader(
        &self,
    ) -> impl Future<Output = StoreResult<sqlx::pool::PoolConnection<Self::Db>>> + Send {
        async { self.pool().acquire().await.map_err(Self::Db::classify) }
    }

    /// [`Self::write_conn`] for a write to none of the cached tables (refresh rows, login
    /// counters, audit events).
    fn write_conn_leaving_cache(
        &self,
    ) -> impl Future<Output = StoreResult<WriteConn<Self::Db>>> + Send {
        async {
            let mut conn = self.write_conn().await?;
            conn.leaves_cache_valid();
            Ok(conn)
        }
    }
}

#[async_trait::async_trait]
impl<E: Engine> Store for E {
    fn pool_stats(&self) -> (u32, usize) {
        (self.pool().size(), self.pool().num_idle())
    }

    fn writable(&self) -> bool {
        self.writes_ok()
    }

    async fn rotate_refresh(
        &self,
        old_jti: &str,
        next: &RefreshRecord,
        now: i64,
    ) -> StoreResult<RotateOutcome> {
        self.rotate(old_jti, next, now).await
    }

    async fn ping(&self) -> StoreResult<()> {
        maintenance::ping(self).await
    }

    async fn create_user(&self, u: &NewUser) -> StoreResult<User> {
        users::create_user(self, u).await
    }

    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        users::user_by_id(self, id).await
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        users::user_by_username(self, username).await
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        users::user_by_email(self, email).await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        users::list_users(self).await
    }

    async fn search_users(
        &self,
        search: &str,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<User>, i64)> {
        users::search_users(self, search, offset, limit).await
    }

    async fn update_user_profile(&self, u: &User, now: i64) -> StoreResult<bool> {
        users::update_user_profile(self, u, now).await
    }

    async fn delete_user(&self, id: i64, now: i64) -> StoreResult<bool> {
        users::delete_user(self, id, now).await
    }

    async fn insert_user_link(&self, link: &UserLink) -> StoreResult<()> {
        links::insert_user_link(self, link).await
    }

    async fn redeem_user_link(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        now: i64,
    ) -> StoreResult<Option<UserLink>> {
        links::redeem_user_link(self, token_hash, purpose, now).await
    }

    async fn end_user_sessions(&self, id: i64, now: i64) -> StoreResult<()> {
        sessions::end_user_sessions(self, id, now).await
    }

    async fn use_legacy_refresh(&self, jti: &str, expires_at: i64) -> StoreResult<bool> {
        refresh::use_legacy_refresh(self, jti, expires_at).await
    }

    async fn user_link(&self, token_hash: &str) -> StoreResult<Option<UserLink>> {
        links::user_link(self, token_hash).await
    }

    async fn set_password_hash(
        &self,
        id: i64,
        hash: &str,
        end_sessions: bool,
        now: i64,
    ) -> StoreResult<bool> {
        users::set_password_hash(self, id, hash, end_sessions, now).await
    }

    async fn upgrade_password_hash(&self, id: i64, old: &str, new: &str) -> StoreResult<bool> {
        users::upgrade_password_hash(self, id, old, new).await
    }

    async fn set_active(&self, id: i64, active: bool, now: i64) -> StoreResult<bool> {
        users::set_active(self, id, active, now).await
    }

    async fn record_login(&self, id: i64, at: OffsetDateTime) -> StoreResult<()> {
        users::record_login(self, id, at).await
    }

    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
        keys::signing_keys(self).await
    }

    async fn delete_signing_key(&self, kid: &str) -> StoreResult<bool> {
        keys::delete_signing_key(self, kid).await
    }

    async fn prune_retired_keys(&self, now: i64) -> StoreResult<u64> {
        keys::prune_retired_keys(self, now).await
    }

    async fn insert_signing_key(&self, k: &StoredKey) -> StoreResult<()> {
        keys::insert_signing_key(self, k).await
    }

    async fn activate_key(&self, kid: &str, retire_after: i64, now: i64) -> StoreResult<bool> {
        keys::activate_key(self, kid, retire_after, now).await
    }

    async fn record_audit(&self, event: &AuditEvent) -> StoreResult<()> {
        audit::record_audit(self, event).await
    }

    async fn audit_events(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditEvent>> {
        audit::audit_events(self, after, limit).await
    }

    async fn prune_audit(&self, before: i64) -> StoreResult<u64> {
        audit::prune_audit(self, before).await
    }

    async fn prune_expired(
        &self,
        now: i64,
        failures_before: i64,
    ) -> StoreResult<Vec<(&'static str, u64)>> {
        maintenance::prune_expired(self, now, failures_before).await
    }

    async fn table_counts(&self) -> StoreResult<Vec<(&'static str, i64)>> {
        maintenance::table_counts(self).await
    }

    async fn login_failures(
        &self,
        keys: &[String],
        since: i64,
    ) -> StoreResult<Vec<(String, i64, i64)>> {
        login_failures::login_failures(self, keys, since).await
    }

    async fn record_login_failure(
        &self,
        keys: &[String],
        now: i64,
        window_start: i64,
    ) -> StoreResult<()> {
        login_failures::record_login_failure(self, keys, now, window_start).await
    }

    async fn clear_login_failures(&self, key: &str) -> StoreResult<()> {
        login_failures::clear_login_failures(self, key).await
    }

    async fn reseal_keys(
        &self,
        resealed: &[(String, Vec<u8>, Vec<u8>)],
        totp: &[(i64, Vec<u8>, Vec<u8>)],
    ) -> StoreResult<bool> {
        keys::reseal_keys(self, resealed, totp).await
    }

    async fn totp_secrets(&self) -> StoreResult<Vec<TotpSecret>> {
        factors::totp_secrets(self).await
    }

    async fn insert_refresh(&self, t: &RefreshRecord) -> StoreResult<()> {
        refresh::insert_refresh(self, t).await
    }

    async fn refresh_state(&self, jti: &str, now: i64) -> StoreResult<Option<RefreshState>> {
        refresh::refresh_state(self, jti, now).await
    }

    async fn revoke_family_of(&self, jti: &str, now: i64) -> StoreResult<bool> {
        refresh::revoke_family_of(self, jti, now).await
    }

    async fn is_access_revoked(&self, jti: &str) -> StoreResult<bool> {
        refresh::is_access_revoked(self, jti).await
    }

    async fn revoke_access(&self, jti: &str, expires_at: i64) -> StoreResult<()> {
        refresh::revoke_access(self, jti, expires_at).await
    }

    async fn create_client(&self, c: &Client) -> StoreResult<()> {
        clients::create_client(self, c).await
    }

    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        clients::client(self, client_id).await
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        clients::list_clients(self).await
    }

    async fn set_client_secret(&self, client_id: &str, secret_hash: &str) -> StoreResult<bool> {
        clients::set_client_secret(self, client_id, secret_hash).await
    }

    async fn delete_client(&self, client_id: &str, now: i64) -> StoreResult<bool> {
        clients::delete_client(self, client_id, now).await
    }

    async fn client_deleted_at(&self, client_id: &str) -> StoreResult<Option<i64>> {
        clients::client_deleted_at(self, client_id).await
    }

    async fn create_session(&self, x: &Session) -> StoreResult<()> {
        sessions::create_session(self, x).await
    }

    async fn session(&self, token_hash: &str, now: i64) -> StoreResult<Option<Session>> {
        sessions::session(self, token_hash, now).await
    }

    async fn user_sessions(&self, user_id: i64, now: i64) -> StoreResult<Vec<Session>> {
        sessions::user_sessions(self, user_id, now).await
    }

    async fn user_families(&self, user_id: i64, now: i64) -> StoreResult<Vec<LiveFamily>> {
        refresh::user_families(self, user_id, now).await
    }

    async fn end_session(&self, token_hash: &str, now: i64) -> StoreResult<bool> {
        sessions::end_session(self, token_hash, now).await
    }

    async fn session_frontchannel_uris(
        &self,
        token_hash: &str,
    ) -> StoreResult<Vec<(String, String)>> {
        sessions::session_frontchannel_uris(self, token_hash).await
    }

    async fn insert_pushed_request(
        &self,
        uri_hash: &str,
        client_id: &str,
        params: &str,
        expires_at: i64,
    ) -> StoreResult<()> {
        authorization::insert_pushed_request(self, uri_hash, client_id, params, expires_at).await
    }

    async fn count_pushed_requests(&self, client_id: &str, now: i64) -> StoreResult<i64> {
        authorization::count_pushed_requests(self, client_id, now).await
    }

    async fn take_pushed_request(
        &self,
        uri_hash: &str,
        now: i64,
    ) -> StoreResult<Option<(String, String)>> {
        authorization::take_pushed_request(self, uri_hash, now).await
    }

    async fn due_logout_deliveries(
        &self,
        now: i64,
        per_client: i64,
        limit: i64,
    ) -> StoreResult<Vec<LogoutDelivery>> {
        logout_deliveries::due_logout_deliveries(self, now, per_client, limit).await
    }

    async fn lease_logout_delivery(&self, id: i64, seen: i64, until: i64) -> StoreResult<bool> {
        logout_deliveries::lease_logout_delivery(self, id, seen, until).await
    }

    async fn retry_logout_delivery(&self, id: i64, at: i64) -> StoreResult<()> {
        logout_deliveries::retry_logout_delivery(self, id, at).await
    }

    async fn finish_logout_delivery(&self, id: i64) -> StoreResult<()> {
        logout_deliveries::finish_logout_delivery(self, id).await
    }

    async fn consent(&self, user_id: i64, client_id: &str) -> StoreResult<Option<String>> {
        sessions::consent(self, user_id, client_id).await
    }

    async fn grant_consent(
        &self,
        user_id: i64,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> StoreResult<()> {
        sessions::grant_consent(self, user_id, client_id, scope, now).await
    }

    async fn insert_code(&self, c: &AuthCode) -> StoreResult<()> {
        authorization::insert_code(self, c).await
    }

    async fn redeem_code(&self, code_hash: &str, now: i64) -> StoreResult<Redemption> {
        authorization::redeem_code(self, code_hash, now).await
    }

    async fn record_code_tokens(
        &self,
        code_hash: &str,
        family: Option<&str>,
        access_jti: &str,
        access_expires_at: i64,
    ) -> StoreResult<()> {
        authorization::record_code_tokens(self, code_hash, family, access_jti, access_expires_at)
            .await
    }

    async fn snapshot(&self, now: i64) -> StoreResult<Snapshot> {
        snapshot::snapshot(self, now).await
    }

    async fn restore(&self, s: &Snapshot) -> StoreResult<()> {
        snapshot::restore(self, s).await
    }

    async fn totp_secret(&self, user_id: i64) -> StoreResult<Option<TotpSecret>> {
        factors::totp_secret(self, user_id).await
    }

    async fn begin_totp(&self, user_id: i64, sealed: &[u8], now: i64) -> StoreResult<bool> {
        factors::begin_totp(self, user_id, sealed, now).await
    }

    async fn confirm_totp(
        &self,
        user_id: i64,
        sealed: &[u8],
        step: i64,
        now: i64,
        recovery: &[String],
    ) -> StoreResult<bool> {
        factors::confirm_totp(self, user_id, sealed, step, now, recovery).await
    }

    async fn use_totp_step(&self, user_id: i64, step: i64, now: i64) -> StoreResult<bool> {
        factors::use_totp_step(self, user_id, step, now).await
    }

    async fn remove_totp(&self, user_id: i64, drop_recovery: bool) -> StoreResult<bool> {
        factors::remove_totp(self, user_id, drop_recovery).await
    }

    async fn recovery_codes(&self, user_id: i64) -> StoreResult<Option<RecoveryCodes>> {
        factors::recovery_codes(self, user_id).await
    }

    async fn replace_recovery_codes(
        &self,
        user_id: i64,
        hashes: &[String],
        now: i64,
    ) -> StoreResult<()> {
        factors::replace_recovery_codes(self, user_id, hashes, now).await
    }

    async fn use_recovery_code(&self, user_id: i64, hash: &str, now: i64) -> StoreResult<bool> {
        factors::use_recovery_code(self, user_id, hash, now).await
    }

    async fn reset_factors(&self, user_id: i64, now: i64) -> StoreResult<bool> {
        factors::reset_factors(self, user_id, now).await
    }

    async fn insert_mfa_ticket(&self, ticket: &MfaTicket) -> StoreResult<()> {
        factors::insert_mfa_ticket(self, ticket).await
    }

    async fn attempt_mfa_ticket(
        &self,
        token_hash: &str,
        purpose: &str,
        max: i64,
        now: i64,
    ) -> StoreResult<Option<MfaTicket>> {
        factors::attempt_mfa_ticket(self, token_hash, purpose, max, now).await
    }

    async fn mfa_ticket(
        &self,
        token_hash: &str,
        purpose: &str,
        max: i64,
        now: i64,
    ) -> StoreResult<Option<MfaTicket>> {
        factors::mfa_ticket(self, token_hash, purpose, max, now).await
    }

    async fn take_mfa_ticket(&self, token_hash: &str) -> StoreResult<bool> {
        factors::take_mfa_ticket(self, token_hash).await
    }

    async fn upgrade_session(
        &self,
        old_hash: &str,
        new_hash: &str,
        methods: &str,
        auth_time: i64,
    ) -> StoreResult<bool> {
        sessions::upgrade_session(self, old_hash, new_hash, methods, auth_time).await
    }

    async fn passkeys_of(&self, user_id: i64) -> StoreResult<Vec<PasskeyRow>> {
        factors::passkeys_of(self, user_id).await
    }

    async fn passkey(&self, credential_id: &str) -> StoreResult<Option<PasskeyRow>> {
        factors::passkey(self, credential_id).await
    }

    async fn insert_passkey(&self, passkey: &PasskeyRow, recovery: &[String]) -> StoreResult<()> {
        factors::insert_passkey(self, passkey, recovery).await
    }

    async fn use_passkey(
        &self,
        credential_id: &str,
        old: &str,
        new: &str,
        now: i64,
    ) -> StoreResult<bool> {
        factors::use_passkey(self, credential_id, old, new, now).await
    }

    async fn remove_passkey(
        &self,
        user_id: i64,
        credential_id: &str,
        drop_recovery: bool,
        now: i64,
    ) -> StoreResult<bool> {
        factors::remove_passkey(self, user_id, credential_id, drop_recovery, now).await
    }

    async fn insert_ceremony(&self, ceremony: &Ceremony) -> StoreResult<()> {
        factors::insert_ceremony(self, ceremony).await
    }

    async fn take_ceremony(
        &self,
        id_hash: &str,
        kind: &str,
        now: i64,
    ) -> StoreResult<Option<Ceremony>> {
        factors::take_ceremony(self, id_hash, kind, now).await
    }

    async fn record_totp_failure(&self, user_id: i64) -> StoreResult<()> {
        factors::record_totp_failure(self, user_id).await
    }
}
