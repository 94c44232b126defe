//! Remote verification: ask Tessera (RFC 7662 introspection) about every token, for
//! services that must see a revocation at once. Positive answers are cached briefly
//! (default 5 s), keyed by the token's SHA-256; negative answers never are.

use crate::{SetupError, VerifyError};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// Verifies tokens by introspection at Tessera, authenticated as a confidential client.
#[derive(Debug)]
pub struct RemoteVerifier {
    http: reqwest::Client,
    url: url::Url,
    client_id: String,
    client_secret: String,
    ttl: Duration,
    cache: Mutex<HashMap<[u8; 32], (Introspected, Instant)>>,
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
        let url = url::Url::parse(&format!(
            "{}/oauth/introspect",
            issuer.trim_end_matches('/')
        ))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SetupError::Fetch(e.to_string()))?;
        Ok(Self {
            http,
            url,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            ttl,
            cache: Mutex::new(HashMap::new()),
        })
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
        let res = self
            .http
            .post(self.url.clone())
            .basic_auth(&self.client_id, Some(&self.client_secret))
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
        let found: Introspected = serde_json::from_value(answer.rest)
            .map_err(|_| VerifyError::InvalidClaim("introspection"))?;
        self.remember(key, &found);
        Ok(found)
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Introspected> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(key)
            .filter(|(_, at)| at.elapsed() < self.ttl)
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
