//! Verify Tessera access tokens in a microservice, locally, from a cached JWKS.
//!
//! ```no_run
//! # async fn run() -> Result<(), tessera_client::SetupError> {
//! use tessera_client::Verifier;
//!
//! let verifier = Verifier::builder("https://auth.example.com", "orders-api")
//!     .discover()
//!     .await?;
//! match verifier.verify("eyJ…").await {
//!     Ok(claims) => println!("user {:?}, scopes {:?}", claims.user_id, claims.scope),
//!     Err(e) => println!("refused: {e}"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Secure defaults, none of which can be turned off: `exp`, `iss` and `aud` are required;
//! the key named by `kid` decides the algorithm (`none` and HMAC never verify), and the
//! algorithm must also be on the allow-list; only access tokens (`typ: at+jwt`,
//! `token_type: access`) pass.
//!
//! The JWKS is fetched when the verifier is built, refreshed in the background before its
//! `Cache-Control` max-age runs out, refetched when a token names an unknown `kid` (one
//! fetch at a time, and after one that found nothing none for the cooldown, so a flood of
//! random kids is not a flood of fetches), keys it cannot use skipped one by one, served
//! stale for a bounded time while the authority is unreachable, and never guessed: with
//! no usable key the token is refused.
//!
//! # Layout
//! - [`Verifier`] (this file): local verification of access tokens, and of logout tokens
//!   (`verify_logout_token`), with its builder.
//! - `jwks` (private): the JWKS cache behind it: refresh, unknown-kid refetch, bounded
//!   staleness.
//! - [`remote`]: [`remote::RemoteVerifier`], asking the authority (introspection or
//!   `/auth/token/verify/`) instead, with a short positive cache.
//! - [`shadow`]: local copies of the authority's users (`UserSync`, `ShadowUsers`).
//! - [`logout`]: [`logout::LogoutReceiver`] for back-channel logout tokens (replays
//!   refused).
//! - `axum` (feature `axum`): extractors and layers for services built on axum, and the
//!   back-channel logout endpoint.
#![warn(missing_docs)]

#[cfg(feature = "axum")]
pub mod axum;
mod jwks;
pub mod logout;
pub mod remote;
pub mod shadow;

pub use jwks::FetchStats;
pub use logout::{LogoutEvent, LogoutReceiver};
/// Why a token was refused (`tessera-token`'s own type). Callers can branch on it; every
/// variant means 401.
pub use tessera_token::VerifyError;
pub use tessera_token::{AccessClaims, Algorithm};

use jwks::JwksCache;
use std::sync::Arc;
use std::time::Duration;
use tessera_token::validate::verify_access;
use tessera_token::{Clock, SystemClock, Validation};

/// Building a [`Verifier`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The issuer or JWKS URL is not a URL.
    #[error("invalid URL: {0}")]
    Url(#[from] url::ParseError),
    /// Discovery or the first JWKS fetch failed.
    #[error("cannot reach the authority: {0}")]
    Fetch(String),
    /// The authority's answer is not what was expected.
    #[error("unexpected answer from the authority: {0}")]
    Invalid(String),
}

/// Configures a [`Verifier`].
#[derive(Debug, Clone)]
pub struct Builder {
    issuer: String,
    audience: String,
    jwks_url: Option<String>,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    max_lifetime: Option<Duration>,
    refetch_cooldown: Duration,
    max_stale: Duration,
    http: Option<reqwest::Client>,
    clock: Arc<dyn Clock>,
}

impl Builder {
    /// The time tokens are checked against [default: the system clock]; tests give a
    /// `tessera_token::FixedClock`.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The JWKS URL, instead of discovering it from the issuer.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }

    /// Algorithms accepted [default: RS256, PS256, ES256, EdDSA]. HMAC and `none` are
    /// never accepted, whatever is listed.
    pub fn algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        self.algorithms = algorithms.to_vec();
        self
    }

    /// Clock skew tolerated on `exp`/`nbf` [default: 30 s].
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The longest lifetime (`exp - iat`) an access token may claim: the authority's
    /// longest access lifetime (Tessera's `[tokens] access_lifetime`, or a client's
    /// override) [default: ten years, `tessera_token::validate::MAX_PLAUSIBLE_LIFETIME`].
    /// A token claiming more, or an `exp` in milliseconds, was not issued by the
    /// authority and is refused whatever its signature.
    pub fn max_lifetime(mut self, max_lifetime: Duration) -> Self {
        self.max_lifetime = Some(max_lifetime);
        self
    }

    /// After an unknown-kid refetch that found nothing, how long until the next one
    /// [default: 5 s]: the most a made-up kid can hold a real new key back, and the most
    /// often a flood of made-up kids makes the service fetch the JWKS.
    pub fn refetch_cooldown(mut self, cooldown: Duration) -> Self {
        self.refetch_cooldown = cooldown;
        self
    }

    /// How long past its max-age a JWKS is still used while the authority cannot be
    /// reached [default: 1 h]; after that, tokens are refused.
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.max_stale = max_stale;
        self
    }

    /// The HTTP client (timeouts, proxies, TLS roots). It should not follow redirects.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Finds the JWKS URL by OpenID Connect discovery (unless one was set), fetches the
    /// keys, and starts the background refresh.
    ///
    /// # Errors
    /// [`SetupError`] when the authority cannot be reached or answers nonsense.
    pub async fn discover(self) -> Result<Verifier, SetupError> {
        let http = match self.http.clone() {
            Some(h) => h,
            None => reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| SetupError::Fetch(e.to_string()))?,
        };
        let issuer = self.issuer.trim_end_matches('/').to_owned();
        let jwks_url = match &self.jwks_url {
            Some(u) => url::Url::parse(u)?,
            None => jwks::discover(&http, &issuer).await?,
        };
        let cache = JwksCache::start(http, jwks_url, self.refetch_cooldown, self.max_stale).await?;
        let mut validation = Validation::new(issuer, self.audience);
        validation.leeway = i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX);
        if let Some(max) = self.max_lifetime {
            validation.max_lifetime = i64::try_from(max.as_secs()).unwrap_or(i64::MAX);
        }
        Ok(Verifier {
            inner: Arc::new(Inner {
                cache,
                validation,
                algorithms: self.algorithms,
                clock: self.clock,
            }),
        })
    }
}

/// Verifies access tokens locally. Cheap to clone (shared state).
#[derive(Debug, Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    cache: JwksCache,
    validation: Validation,
    algorithms: Vec<Algorithm>,
    clock: Arc<dyn Clock>,
}

impl Verifier {
    /// A builder for tokens of `issuer` meant for `audience`.
    pub fn builder(issuer: impl Into<String>, audience: impl Into<String>) -> Builder {
        Builder {
            issuer: issuer.into(),
            audience: audience.into(),
            jwks_url: None,
            algorithms: vec![
                Algorithm::RS256,
                Algorithm::PS256,
                Algorithm::ES256,
                Algorithm::EdDSA,
            ],
            leeway: Duration::from_secs(30),
            max_lifetime: None,
            refetch_cooldown: Duration::from_secs(5),
            max_stale: Duration::from_secs(3600),
            http: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// Verifies `token` and returns its claims.
    ///
    /// # Errors
    /// [`VerifyError`] naming the first check that failed.
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        let inner = &self.inner;
        let keys = inner.cache.keys().ok_or(VerifyError::KeysUnavailable)?;
        let first = self.check(token, &keys);
        if first != Err(VerifyError::UnknownKey) {
            return first;
        }
        // A kid we have not seen: perhaps a new key. Refetch (one at a time; after a
        // fruitless one, not within the cooldown).
        let kid = crate::jwks::header_kid(token).unwrap_or_default();
        match inner.cache.refetch_for_unknown_kid(&kid).await {
            Some(fresh) => self.check(token, &fresh),
            None => first,
        }
    }

    /// Verifies `token`, then reads its claims as `C` (your own claims type, with the
    /// custom claims your tokens carry).
    ///
    /// # Errors
    /// [`VerifyError`]; [`VerifyError::InvalidClaim`] when the claims do not fit `C`.
    pub async fn verify_as<C: serde::de::DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<C, VerifyError> {
        self.verify(token).await?;
        let payload = token.split('.').nth(1).ok_or(VerifyError::Malformed)?;
        let bytes = jwks::decode_segment(payload).ok_or(VerifyError::Malformed)?;
        serde_json::from_slice(&bytes).map_err(|_| VerifyError::InvalidClaim("custom claims"))
    }

    fn check(
        &self,
        token: &str,
        keys: &tessera_token::KeySet,
    ) -> Result<AccessClaims, VerifyError> {
        let alg = jwks::header_alg(token).ok_or(VerifyError::Malformed)?;
        if !self.inner.algorithms.iter().any(|a| a.as_str() == alg) {
            return Err(VerifyError::AlgorithmNotAllowed);
        }
        verify_access(token, keys, &self.inner.validation, self.now())
    }

    /// Verifies a back-channel logout token meant for `client_id` (OpenID Connect
    /// Back-Channel Logout 1.0 §2.6) with the same keys as access tokens, refetching them
    /// for a new `kid` as [`Verifier::verify`] does. Replays are [`LogoutReceiver`]'s to
    /// refuse.
    ///
    /// # Errors
    /// [`VerifyError`] naming the first check that failed.
    pub async fn verify_logout_token(
        &self,
        token: &str,
        client_id: &str,
        max_age: Duration,
    ) -> Result<tessera_token::oidc::LogoutClaims, VerifyError> {
        let inner = &self.inner;
        let mut validation = inner.validation.clone();
        validation.audience = client_id.to_owned();
        let max_age = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
        let check = |keys: &tessera_token::KeySet| {
            let alg = jwks::header_alg(token).ok_or(VerifyError::Malformed)?;
            if !inner.algorithms.iter().any(|a| a.as_str() == alg) {
                return Err(VerifyError::AlgorithmNotAllowed);
            }
            tessera_token::validate::verify_logout_token(
                token,
                keys,
                &validation,
                inner.clock.unix(),
                max_age,
            )
        };
        let keys = inner.cache.keys().ok_or(VerifyError::KeysUnavailable)?;
        let first = check(&keys);
        if first.as_ref().err() != Some(&VerifyError::UnknownKey) {
            return first;
        }
        let kid = crate::jwks::header_kid(token).unwrap_or_default();
        match inner.cache.refetch_for_unknown_kid(&kid).await {
            Some(fresh) => check(&fresh),
            None => first,
        }
    }

    /// Now, by the verifier's clock, in Unix seconds.
    pub(crate) fn now(&self) -> i64 {
        self.inner.clock.unix()
    }

    /// The clock skew tolerated, in seconds.
    pub(crate) fn leeway(&self) -> i64 {
        self.inner.validation.leeway
    }

    /// How often the JWKS was fetched, and why (for tests and metrics).
    pub fn fetch_stats(&self) -> FetchStats {
        self.inner.cache.stats()
    }
}
