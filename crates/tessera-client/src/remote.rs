//! Remote verification: ask Tessera about every token, for services that must see a
//! revocation at once. Two ways to ask: RFC 7662 introspection as a confidential client
//! ([`RemoteVerifier::new`]), or the Django API's `/auth/token/verify/`, which needs no
//! client credentials, as drf_remotejwt does ([`RemoteVerifier::verify_endpoint`]).
//! Positive answers are cached briefly (default 5 s, and never past the token's `exp`),
//! keyed by the token's SHA-256; negative answers never are.

use crate::{SetupError, VerifyError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tessera_token::{Clock, SystemClock};

/// Most positive answers kept; beyond it, expired ones are dropped, then all.
const MAX_CACHED: usize = 10_000;

/// What the authority said about an active token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Introspected {
    /// Subject: a user id, or a client id for a service token.
    pub sub: String,
    /// The user's username (user tokens).
    #[serde(default)]
    pub username: Option<String>,
    /// The client the token was issued to.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Space-separated scopes.
    #[serde(default)]
    pub scope: Option<String>,
    /// Expiry.
    pub exp: i64,
}

#[derive(Debug, serde::Deserialize)]
struct Answer {
    active: bool,
    #[serde(flatten)]
    rest: serde_json::Value,
}

/// How the authority is asked.
#[derive(Debug)]
enum Ask {
    Introspect {
        client_id: String,
        client_secret: String,
    },
    VerifyEndpoint {
        issuer: String,
        audience: String,
    },
}

/// The most of a verify answer read: Tessera's yes is `{}`.
const MAX_VERIFY_ANSWER_BYTES: usize = 1024;

/// Verifies tokens by asking Tessera.
#[derive(Debug)]
pub struct RemoteVerifier {
    http: reqwest::Client,
    url: url::Url,
    ask: Ask,
    ttl: Duration,
    cache: Mutex<HashMap<[u8; 32], (Introspected, Instant)>>,
    clock: Arc<dyn Clock>,
}

impl RemoteVerifier {
    /// Introspects at `{issuer}/oauth/introspect` as `client_id`, caching positive answers
    /// for `ttl` (0: never cache).
    ///
    /// # Errors
    /// [`SetupError::Url`] for a bad issuer URL.
    pub fn new(
        issuer: &str,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        ttl: Duration,
    ) -> Result<Self, SetupError> {
        let ask = Ask::Introspect {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        };
        Self::build(issuer, "/oauth/introspect", ask, ttl)
    }

    /// Asks `{issuer}/auth/token/verify/` (no client credentials needed), caching positive
    /// answers for `ttl`. The authority only says yes or no; the claims are then read from
    /// the token it vouched for, and checked here too: `iss` must be `issuer`, `aud` must
    /// name `audience`, `exp` must be ahead. A yes is exactly `200 {}`: any other 200 (a
    /// catch-all page, a gateway) is a misconfiguration, answered
    /// [`VerifyError::AuthorityUnavailable`], never a yes.
    ///
    /// # Errors
    /// [`SetupError::Url`] for a bad issuer URL.
    pub fn verify_endpoint(
        issuer: &str,
        audience: impl Into<String>,
        ttl: Duration,
    ) -> Result<Self, SetupError> {
        let ask = Ask::VerifyEndpoint {
            issuer: issuer.trim_end_matches('/').to_owned(),
            audience: audience.into(),
        };
        Self::build(issuer, "/auth/token/verify/", ask, ttl)
    }

    fn build(issuer: &str, path: &str, ask: Ask, ttl: Duration) -> Result<Self, SetupError> {
        let url = url::Url::parse(&format!("{}{path}", issuer.trim_end_matches('/')))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SetupError::Fetch(e.to_string()))?;
        Ok(Self {
            http,
            url,
            ask,
            ttl,
            cache: Mutex::new(HashMap::new()),
            clock: Arc::new(SystemClock),
        })
    }

    /// The time answers are checked against [default: the system clock].
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Asks the authority whether `token` is active now (or answers from the short cache).
    ///
    /// # Errors
    /// [`VerifyError::Inactive`]; [`VerifyError::AuthorityUnavailable`] when Tessera
    /// cannot be reached or refuses this client.
    pub async fn verify(&self, token: &str) -> Result<Introspected, VerifyError> {
        let key = fingerprint(token);
        if let Some(hit) = self.cached(&key) {
            return Ok(hit);
        }
        let found = match &self.ask {
            Ask::Introspect {
                client_id,
                client_secret,
            } => self.introspect(token, client_id, client_secret).await?,
            Ask::VerifyEndpoint { issuer, audience } => {
                self.ask_verify_endpoint(token, issuer, audience).await?
            }
        };
        self.remember(key, &found);
        Ok(found)
    }

    async fn ask_verify_endpoint(
        &self,
        token: &str,
        issuer: &str,
        audience: &str,
    ) -> Result<Introspected, VerifyError> {
        let res = self
            .http
            .post(self.url.clone())
            .json(&serde_json::json!({ "token": token }))
            .send()
            .await
            .map_err(|_| VerifyError::AuthorityUnavailable)?;
        match res.status().as_u16() {
            200 => {}
            400 | 401 => return Err(VerifyError::Inactive),
            status => {
                tracing::warn!(status, "token verification failed at the authority");
                return Err(VerifyError::AuthorityUnavailable);
            }
        }
        let body = res
            .bytes()
            .await
            .map_err(|_| VerifyError::AuthorityUnavailable)?;
        let yes = body.len() <= MAX_VERIFY_ANSWER_BYTES
            && serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&body)
                .is_ok_and(|m| m.is_empty());
        if !yes {
            tracing::warn!(
                "the verify URL answered 200 without Tessera's yes: is it the right URL?"
            );
            return Err(VerifyError::AuthorityUnavailable);
        }
        // The authority vouched for this exact token, so its payload can be read as is;
        // what a service relies on is checked here again.
        let payload = token.split('.').nth(1).ok_or(VerifyError::Malformed)?;
        let bytes = crate::jwks::decode_segment(payload).ok_or(VerifyError::Malformed)?;
        let claims: crate::AccessClaims =
            serde_json::from_slice(&bytes).map_err(|_| VerifyError::Malformed)?;
        if claims.token_type != tessera_token::TokenType::Access {
            // `/auth/token/verify/` also vouches for refresh tokens (as simplejwt does).
            return Err(VerifyError::Inactive);
        }
        if claims.iss.trim_end_matches('/') != issuer
            || !claims.aud.contains(audience)
            || claims.exp <= self.clock.unix()
        {
            return Err(VerifyError::Inactive);
        }
        Ok(Introspected {
            sub: claims.sub,
            username: None,
            client_id: claims.client_id,
            scope: claims.scope,
            exp: claims.exp,
        })
    }

    async fn introspect(
        &self,
        token: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Introspected, VerifyError> {
        let res = self
            .http
            .post(self.url.clone())
            .basic_auth(client_id, Some(client_secret))
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .send()
            .await
            .map_err(|_| VerifyError::AuthorityUnavailable)?;
        if !res.status().is_success() {
            tracing::warn!(status = %res.status(), "introspection refused");
            return Err(VerifyError::AuthorityUnavailable);
        }
        let answer: Answer = res
            .json()
            .await
            .map_err(|_| VerifyError::AuthorityUnavailable)?;
        if !answer.active
            || answer.rest.get("token_type").and_then(|t| t.as_str()) != Some("access_token")
        {
            return Err(VerifyError::Inactive);
        }
        serde_json::from_value(answer.rest).map_err(|_| VerifyError::InvalidClaim("introspection"))
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Introspected> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(key)
            .filter(|(v, at)| at.elapsed() < self.ttl && v.exp > self.clock.unix())
            .map(|(v, _)| v.clone())
    }

    fn remember(&self, key: [u8; 32], value: &Introspected) {
        if self.ttl.is_zero() {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_CACHED {
            let ttl = self.ttl;
            cache.retain(|_, (_, at)| at.elapsed() < ttl);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(key, (value.clone(), Instant::now()));
    }
}

fn fingerprint(token: &str) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}
