//! The JWKS cache: fetched at start, refreshed before its max-age runs out, refetched on
//! an unknown `kid` (one fetch in flight, shared by every caller waiting on it; after a
//! fetch that did not find the kid, none until the cooldown has passed), served stale for
//! a bounded time.

use crate::SetupError;
use arc_swap::ArcSwapOption;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tessera_token::KeySet;

/// Largest JWKS document accepted.
const MAX_JWKS_BYTES: usize = 1024 * 1024;
/// Max-age assumed when the authority sends none, and the bounds put on what it sends.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
const MIN_MAX_AGE: Duration = Duration::from_secs(10);
const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// How often the JWKS was fetched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Successful fetches, of any cause.
    pub fetches: u64,
    /// Fetches caused by a token with an unknown `kid`.
    pub unknown_kid_fetches: u64,
    /// Failed fetches.
    pub failures: u64,
}

#[derive(Debug)]
struct Cached {
    keys: Arc<KeySet>,
    fetched: Instant,
    max_age: Duration,
}

#[derive(Debug)]
struct Shared {
    http: reqwest::Client,
    url: url::Url,
    current: ArcSwapOption<Cached>,
    /// One unknown-kid refetch at a time; callers that waited on one use its keys.
    refetch_gate: tokio::sync::Mutex<()>,
    /// Successful fetches of any cause, so a waiter sees that one finished meanwhile.
    generation: AtomicU64,
    /// When an unknown-kid refetch last found nothing (the cooldown runs from then).
    last_fruitless: std::sync::Mutex<Option<Instant>>,
    cooldown: Duration,
    max_stale: Duration,
    fetches: AtomicU64,
    unknown_kid_fetches: AtomicU64,
    failures: AtomicU64,
}

/// The cache; its background refresh stops when it is dropped.
#[derive(Debug)]
pub(crate) struct JwksCache {
    shared: Arc<Shared>,
    refresher: tokio::task::JoinHandle<()>,
}

impl Drop for JwksCache {
    fn drop(&mut self) {
        self.refresher.abort();
    }
}

impl JwksCache {
    /// Fetches the keys once (failing setup if that fails) and starts refreshing them.
    pub(crate) async fn start(
        http: reqwest::Client,
        url: url::Url,
        cooldown: Duration,
        max_stale: Duration,
    ) -> Result<Self, SetupError> {
        let shared = Arc::new(Shared {
            http,
            url,
            current: ArcSwapOption::empty(),
            refetch_gate: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            last_fruitless: std::sync::Mutex::new(None),
            cooldown,
            max_stale,
            fetches: AtomicU64::new(0),
            unknown_kid_fetches: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        });
        shared.fetch().await.map_err(SetupError::Fetch)?;
        let refresher = tokio::spawn(refresh(Arc::downgrade(&shared)));
        Ok(Self { shared, refresher })
    }

    /// The keys, unless they are older than max-age + max-stale.
    pub(crate) fn keys(&self) -> Option<Arc<KeySet>> {
        let cached = self.shared.current.load_full()?;
        let limit = cached.max_age + self.shared.max_stale;
        (cached.fetched.elapsed() <= limit).then(|| cached.keys.clone())
    }

    /// Refetches because a token named `kid`, unknown. One refetch runs at a time: a caller
    /// that waited while one ran uses its keys instead of fetching again. After a refetch
    /// that did not find its kid (made up, or not published yet), none runs until the
    /// cooldown has passed; one that found its kid charges no cooldown, so a made-up kid
    /// holds a real new key back for at most the cooldown. Returns the keys when a fetch
    /// finished (this one or the one waited on).
    pub(crate) async fn refetch_for_unknown_kid(&self, kid: &str) -> Option<Arc<KeySet>> {
        let seen = self.shared.generation.load(Ordering::Acquire);
        let _gate = self.shared.refetch_gate.lock().await;
        if self.shared.generation.load(Ordering::Acquire) != seen {
            return self.keys();
        }
        if self.shared.in_cooldown() {
            return None;
        }
        self.shared
            .unknown_kid_fetches
            .fetch_add(1, Ordering::Relaxed);
        let fetched = self.shared.fetch().await;
        let keys = fetched.as_ref().ok().and_then(|()| self.keys());
        let found = keys.as_ref().is_some_and(|k| k.get(kid).is_some());
        if let Ok(mut last) = self.shared.last_fruitless.lock() {
            *last = (!found).then(Instant::now);
        }
        if let Err(e) = fetched {
            tracing::warn!(error = %e, "JWKS refetch failed");
        }
        keys
    }

    pub(crate) fn stats(&self) -> FetchStats {
        FetchStats {
            fetches: self.shared.fetches.load(Ordering::Relaxed),
            unknown_kid_fetches: self.shared.unknown_kid_fetches.load(Ordering::Relaxed),
            failures: self.shared.failures.load(Ordering::Relaxed),
        }
    }
}

impl Shared {
    fn in_cooldown(&self) -> bool {
        self.last_fruitless
            .lock()
            .ok()
            .and_then(|last| *last)
            .is_some_and(|t| t.elapsed() < self.cooldown)
    }

    async fn fetch(&self) -> Result<(), String> {
        let result = self.fetch_once().await;
        match &result {
            Ok(cached) => {
                self.fetches.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(keys = cached.keys.len(), "fetched the JWKS");
            }
            Err(_) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
            }
        }
        let cached = result?;
        self.current.store(Some(Arc::new(cached)));
        self.generation.fetch_add(1, Ordering::Release);
        Ok(())
    }

    async fn fetch_once(&self) -> Result<Cached, String> {
        let res = self
            .http
            .get(self.url.clone())
            .send()
            .await
            .map_err(|e| format!("GET {}: {e}", self.url))?;
        if !res.status().is_success() {
            return Err(format!("GET {}: status {}", self.url, res.status()));
        }
        let max_age = res
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age_of)
            .unwrap_or(DEFAULT_MAX_AGE)
            .clamp(MIN_MAX_AGE, MAX_MAX_AGE);
        let body = read_capped(res, MAX_JWKS_BYTES).await?;
        let keys = KeySet::from_jwks_json(&body).map_err(|e| e.to_string())?;
        if keys.is_empty() {
            // Nothing usable: keep serving the keys we have (stale, bounded) rather than
            // replacing them with none.
            return Err("no usable key in the JWKS".into());
        }
        Ok(Cached {
            keys: Arc::new(keys),
            fetched: Instant::now(),
            max_age,
        })
    }
}

/// The body, refused as soon as it is known to pass `cap` bytes (by its `Content-Length`, or
/// while reading it): a huge answer is never held in memory whole.
async fn read_capped(mut res: reqwest::Response, cap: usize) -> Result<Vec<u8>, String> {
    let too_large = || format!("JWKS larger than {cap} bytes");
    if res
        .content_length()
        .is_some_and(|n| n > u64::try_from(cap).unwrap_or(u64::MAX))
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > cap {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Refreshes at 80% of the max-age; after a failure, again in a tenth of it (at least a
/// second), until the cache is dropped.
async fn refresh(shared: Weak<Shared>) {
    loop {
        let wait = match shared.upgrade() {
            Some(s) => s
                .current
                .load()
                .as_ref()
                .map(|c| (c.max_age.mul_f64(0.8)).saturating_sub(c.fetched.elapsed()))
                .unwrap_or(Duration::from_secs(1)),
            None => return,
        };
        tokio::time::sleep(wait.max(Duration::from_secs(1))).await;
        let Some(s) = shared.upgrade() else { return };
        if let Err(e) = s.fetch().await {
            tracing::warn!(error = %e, "JWKS refresh failed; using the cached keys");
            let retry = s
                .current
                .load()
                .as_ref()
                .map(|c| c.max_age / 10)
                .unwrap_or(Duration::from_secs(1));
            drop(s);
            tokio::time::sleep(retry.max(Duration::from_secs(1))).await;
        }
    }
}

/// `max-age=N` from a `Cache-Control` value.
fn max_age_of(value: &str) -> Option<Duration> {
    value.split(',').find_map(|part| {
        let (k, v) = part.trim().split_once('=')?;
        k.eq_ignore_ascii_case("max-age")
            .then(|| v.trim().parse::<u64>().ok().map(Duration::from_secs))
            .flatten()
    })
}

/// The `jwks_uri` of OpenID Connect discovery, after checking the issuer matches.
pub(crate) async fn discover(http: &reqwest::Client, issuer: &str) -> Result<url::Url, SetupError> {
    let url = format!("{issuer}/.well-known/openid-configuration");
    let doc: serde_json::Value = http
        .get(&url)
        .send()
        .await
        .map_err(|e| SetupError::Fetch(format!("GET {url}: {e}")))?
        .error_for_status()
        .map_err(|e| SetupError::Fetch(e.to_string()))?
        .json()
        .await
        .map_err(|e| SetupError::Invalid(e.to_string()))?;
    if doc["issuer"].as_str() != Some(issuer) {
        return Err(SetupError::Invalid(format!(
            "discovery names issuer {}, expected {issuer}",
            doc["issuer"]
        )));
    }
    let jwks = doc["jwks_uri"]
        .as_str()
        .ok_or_else(|| SetupError::Invalid("discovery has no jwks_uri".into()))?;
    let jwks = url::Url::parse(jwks)?;
    // The keys come from the issuer itself: a discovery document (or whatever answered for
    // it) naming keys elsewhere is refused; set `jwks_url` to use another origin on purpose.
    if jwks.origin() != url::Url::parse(issuer)?.origin() {
        return Err(SetupError::Invalid(format!(
            "discovery's jwks_uri {jwks} is not on the issuer's origin {issuer}"
        )));
    }
    Ok(jwks)
}

/// A base64url JWS segment, decoded.
pub(crate) fn decode_segment(segment: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(segment).ok()
}

/// The `kid` of a compact JWS header, without verifying anything.
pub(crate) fn header_kid(token: &str) -> Option<String> {
    header_field(token, "kid")
}

/// The `alg` of a compact JWS header, without verifying anything.
pub(crate) fn header_alg(token: &str) -> Option<String> {
    header_field(token, "alg")
}

fn header_field(token: &str, field: &str) -> Option<String> {
    let header = token.split('.').next()?;
    if header.len() > 2048 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(header).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get(field)?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(
            max_age_of("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(max_age_of("no-cache"), None);
        assert_eq!(
            max_age_of("Max-Age=5, private"),
            Some(Duration::from_secs(5))
        );
        assert_eq!(max_age_of("max-age=x"), None);
    }
}
