//! Shadow users: a local copy of the authority's user, made the first time a `sub` is
//! seen and refreshed when the token says the user changed.
//!
//! The service keeps its users where it likes by implementing [`UserSync`] (two
//! methods: load and save). [`ShadowUsers`] decides when to call the authority:
//! - never seen: fetch `/auth/users/{id}/` with the caller's own token, save, return;
//! - seen, and the token's `uv` claim (the authority's digest of the user object) equals
//!   the version saved with the copy, and the copy is younger than `max_age`: return the
//!   copy without any network call;
//! - otherwise fetch again and overwrite the copy. If the authority cannot be reached, a
//!   copy that exists is returned as it is (the token itself was verified), and a user
//!   never seen is refused with [`ShadowError::Unavailable`].
//!
//! drf_remotejwt creates the local user once and never refreshes it; a user whose name,
//! e-mail or flags change at the authority is seen changed here on their next token.

use crate::AccessClaims;
use std::future::Future;
use std::time::{Duration, SystemTime};

/// The user object as `/auth/users/{id}/` returns it (the fields are configured at the
/// authority; by default drf_remotejwt's nine).
pub type RemoteUser = serde_json::Map<String, serde_json::Value>;

/// A local copy and what it was copied from.
#[derive(Debug, Clone)]
pub struct Shadow<U> {
    /// The service's own user record.
    pub user: U,
    /// The `uv` claim of the token it was fetched with (if the token had one).
    pub version: Option<String>,
    /// When it was fetched.
    pub synced_at: SystemTime,
}

/// Where a service keeps its shadow users.
pub trait UserSync: Send + Sync {
    /// The service's user record.
    type User: Clone + Send + Sync;
    /// Its storage error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The copy of user `id`, if one was saved.
    fn load(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<Shadow<Self::User>>, Self::Error>> + Send;

    /// Creates or overwrites the copy of user `id` from what the authority returned, with
    /// the version and time to remember; returns the record.
    fn save(
        &self,
        id: i64,
        user: &RemoteUser,
        version: Option<&str>,
        synced_at: SystemTime,
    ) -> impl Future<Output = Result<Self::User, Self::Error>> + Send;
}

/// Why no user could be produced for a verified token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShadowError<E: std::error::Error + 'static> {
    /// The token is a service token (`client_credentials`): it names no user.
    #[error("the token names no user")]
    NotAUser,
    /// The authority refused to return the user (its HTTP status): disabled, deleted, or
    /// the token was revoked meanwhile.
    #[error("the authority refused the user ({0})")]
    Refused(u16),
    /// The authority cannot be reached and there is no local copy.
    #[error("the authority cannot be reached")]
    Unavailable,
    /// The authority's answer is not a user object for this id.
    #[error("unexpected answer from the authority")]
    Invalid,
    /// The service's store failed.
    #[error("user store: {0}")]
    Store(#[source] E),
}

/// How many times the authority was asked for a user (for tests and metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncStats {
    /// Fetches of `/auth/users/{id}/`.
    pub fetches: u64,
}

/// Keeps shadow users in a [`UserSync`] store.
#[derive(Debug)]
pub struct ShadowUsers<S> {
    store: S,
    http: reqwest::Client,
    authority: String,
    max_age: Duration,
    fetches: std::sync::atomic::AtomicU64,
    clock: std::sync::Arc<dyn tessera_token::Clock>,
}

impl<S: UserSync> ShadowUsers<S> {
    /// Shadow users of the authority at `authority` (its base URL), kept in `store`,
    /// refreshed at least every hour.
    pub fn new(authority: &str, store: S) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            store,
            http,
            authority: authority.trim_end_matches('/').to_owned(),
            max_age: Duration::from_secs(3600),
            fetches: std::sync::atomic::AtomicU64::new(0),
            clock: std::sync::Arc::new(tessera_token::SystemClock),
        }
    }

    /// The time copies are aged by [default: the system clock].
    #[must_use]
    pub fn clock(mut self, clock: std::sync::Arc<dyn tessera_token::Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Refetch a copy older than this even when the version did not change [default: 1 h].
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// How often the authority was asked.
    pub fn stats(&self) -> SyncStats {
        SyncStats {
            fetches: self.fetches.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// The local user for verified `claims`, fetched with the caller's `token` when there
    /// is no fresh copy.
    ///
    /// # Errors
    /// [`ShadowError`].
    pub async fn user(
        &self,
        claims: &AccessClaims,
        token: &str,
    ) -> Result<S::User, ShadowError<S::Error>> {
        let id = claims.user_id.ok_or(ShadowError::NotAUser)?;
        let local = self.store.load(id).await.map_err(ShadowError::Store)?;
        if let Some(copy) = &local
            && self.is_fresh(copy, claims.uv.as_deref())
        {
            return Ok(copy.user.clone());
        }
        match self.fetch(id, token).await {
            Ok(remote) => self
                .store
                .save(id, &remote, claims.uv.as_deref(), self.clock.now())
                .await
                .map_err(ShadowError::Store),
            Err(ShadowError::Unavailable) if local.is_some() => {
                tracing::warn!(user_id = id, "authority unreachable: using the stale copy");
                local.map(|c| c.user).ok_or(ShadowError::Unavailable)
            }
            Err(e) => Err(e),
        }
    }

    fn is_fresh(&self, copy: &Shadow<S::User>, version: Option<&str>) -> bool {
        let young = self
            .clock
            .now()
            .duration_since(copy.synced_at)
            .is_ok_and(|age| age < self.max_age);
        young && (version.is_none() || copy.version.as_deref() == version)
    }

    async fn fetch(&self, id: i64, token: &str) -> Result<RemoteUser, ShadowError<S::Error>> {
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let res = self
            .http
            .get(format!("{}/auth/users/{id}/", self.authority))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|_| ShadowError::Unavailable)?;
        let status = res.status();
        if status.is_server_error() {
            return Err(ShadowError::Unavailable);
        }
        if !status.is_success() {
            return Err(ShadowError::Refused(status.as_u16()));
        }
        let user: RemoteUser = res.json().await.map_err(|_| ShadowError::Invalid)?;
        if user.get("id").and_then(serde_json::Value::as_i64) != Some(id) {
            return Err(ShadowError::Invalid);
        }
        Ok(user)
    }
}
