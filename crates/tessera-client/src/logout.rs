//! Receiving back-channel logouts (OpenID Connect Back-Channel Logout 1.0): when a user's
//! session at the authority ends (they log out, an admin ends their sessions, their
//! password changes, they are disabled), the authority POSTs a logout token to the
//! client's `backchannel_logout_uri`. [`LogoutReceiver`] checks it (signature from the
//! JWKS, `iss`, `aud` = your client id, `iat` recent, the logout event, no `nonce`) and
//! refuses a replayed `jti`; [`crate::axum::backchannel_logout`] (feature `axum`) is the
//! endpoint, calling your hook with the [`LogoutEvent`].
//!
//! The replay memory is this process's: behind several replicas of your service, a token
//! replayed to another replica within its two minutes passes there too (it only repeats a
//! logout that already happened, so the hook should be idempotent).

use crate::{Verifier, VerifyError};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// How old a logout token may be (its `iat`) by default.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(120);

/// The most token ids remembered; past it, the oldest are forgotten first (only tokens
/// that verified are remembered, so only the authority can fill it).
const MAX_REMEMBERED: usize = 100_000;

/// A verified logout: whose session ended, and which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutEvent {
    /// The user (`sub`), when the token names them.
    pub sub: Option<String>,
    /// The authority's session (`sid`), when the token names it: the `sid` of the ID
    /// tokens issued through it.
    pub sid: Option<String>,
    /// When the authority issued the token.
    pub iat: i64,
}

/// Verifies logout tokens for one client and refuses replays.
#[derive(Debug)]
pub struct LogoutReceiver {
    verifier: Verifier,
    client_id: String,
    max_age: Duration,
    seen: Mutex<HashMap<String, i64>>,
}

impl LogoutReceiver {
    /// A receiver for tokens the verifier's issuer sends to `client_id`.
    pub fn new(verifier: Verifier, client_id: impl Into<String>) -> Self {
        Self {
            verifier,
            client_id: client_id.into(),
            max_age: DEFAULT_MAX_AGE,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// How old (by `iat`) a token may be [default: two minutes].
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Verifies `token` and takes its `jti` (a token is good once).
    ///
    /// # Errors
    /// [`VerifyError`] naming the first failed check; [`VerifyError::Replayed`] for a
    /// token seen before.
    pub async fn receive(&self, token: &str) -> Result<LogoutEvent, VerifyError> {
        let claims = self
            .verifier
            .verify_logout_token(token, &self.client_id, self.max_age)
            .await?;
        let now = self.verifier.now();
        let max_age = i64::try_from(self.max_age.as_secs()).unwrap_or(i64::MAX);
        // Remembered until it could no longer pass the age check (leeway included).
        let forget_at = claims
            .iat
            .saturating_add(max_age)
            .saturating_add(self.verifier.leeway())
            .saturating_add(1);
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.retain(|_, until| *until >= now);
        if seen.len() >= MAX_REMEMBERED
            && let Some(oldest) = seen.iter().min_by_key(|(_, t)| **t).map(|(k, _)| k.clone())
        {
            seen.remove(&oldest);
        }
        if seen.insert(claims.jti.clone(), forget_at).is_some() {
            return Err(VerifyError::Replayed);
        }
        Ok(LogoutEvent {
            sub: claims.sub,
            sid: claims.sid,
            iat: claims.iat,
        })
    }
}
