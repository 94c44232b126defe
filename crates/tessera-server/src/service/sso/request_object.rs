//! Request objects (RFC 9101, JWT-Secured Authorization Requests): an authorization
//! request sent as a JWT the client signed, at the authorization endpoint (`request`) or
//! pushed to `/oauth/par`. Only the object's parameters are used (§5); the checks are
//! `tessera_token::request_object`'s, with the keys the client registered: inline
//! (`jwks`, read once per registration) or fetched from its `jwks_uri` (cached five
//! minutes, fetched again at most every ten seconds when an object names a key the cache
//! does not hold; one fetch per client at a time, the requests that need it waiting for
//! it; while the address fails, the last keys for at most an hour).
//!
//! Unsigned objects (`alg: none`) are taken only from a client that registered
//! `request_object_signing_alg: none`, or pushed by a client that authenticated (RFC 9126
//! §3): elsewhere anyone could have written them, and they would vouch for nothing.

use super::authorize::AuthorizeParams;
use crate::domain::client::RequestObjectAlg;
use crate::state::AppState;
use crate::store::Client;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tessera_token::request_object::{
    MAX_REQUEST_OBJECT_LEN, RequestObjectRules, is_unsigned, verify_request_object,
};
use tessera_token::{KeySet, VerifyError};

/// How long keys fetched from a `jwks_uri` are used before they are fetched again.
pub const KEYS_FRESH_FOR: i64 = 300;
/// The shortest time between two fetches of one client's `jwks_uri` (an object naming an
/// unknown key fetches again, but no faster than this).
pub const REFETCH_AFTER: i64 = 10;
/// The longest JWKS document read from a `jwks_uri` (bytes).
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// How long a `jwks_uri` fetch may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long after the last successful fetch a client's keys are still used while its
/// `jwks_uri` fails: a key the client withdrew must not stay trusted because its host is
/// down.
pub const KEYS_MAX_STALE: i64 = 3600;
/// Clients whose keys are kept at once (least recently fetched dropped first, never one
/// being fetched).
const CACHED_CLIENTS: usize = 4096;

/// A request object was refused: `invalid_request_object` (RFC 9101 §6.3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RequestObjectError(pub String);

/// Keys fetched from clients' `jwks_uri`s.
#[derive(Debug, Default)]
pub struct ClientKeyCache {
    entries: Mutex<HashMap<String, Entry>>,
    http: std::sync::OnceLock<Option<reqwest::Client>>,
}

/// One client's cache entry: what was fetched last, and the lock its fetches take turns on.
#[derive(Debug, Default)]
struct Entry {
    fetched: Option<Fetched>,
    fetching: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Debug, Clone)]
struct Fetched {
    /// The `jwks_uri`, or `jwks:` and the SHA-256 of the inline JWKS: keys of another
    /// registration are never used.
    source: String,
    /// When it was last fetched (or read).
    at: i64,
    /// When a fetch last succeeded.
    ok_at: i64,
    keys: Option<KeySet>,
}

/// What a request object stood for.
#[derive(Debug)]
pub struct Resolved {
    /// The authorization request's parameters (the object's only).
    pub params: AuthorizeParams,
    /// Whether the object was signed with one of the client's keys.
    pub signed: bool,
}

/// Verifies `client`'s request object and returns the parameters it carries.
/// `authenticated` says the client authenticated for this request (a confidential
/// client's push), which lets an unsigned object through.
///
/// # Errors
/// [`RequestObjectError`], its text for `error_description`.
pub async fn resolve(
    state: &AppState,
    client: &Client,
    request: &str,
    authenticated: bool,
) -> Result<Resolved, RequestObjectError> {
    if request.len() > MAX_REQUEST_OBJECT_LEN {
        return Err(RequestObjectError(format!(
            "the request object is longer than {MAX_REQUEST_OBJECT_LEN} bytes"
        )));
    }
    let registered = client
        .request_object_signing_alg
        .as_deref()
        .map(RequestObjectAlg::parse)
        .transpose()
        .map_err(|e| RequestObjectError(e.to_string()))?;
    let unsigned = is_unsigned(request);
    if registered == Some(RequestObjectAlg::None) && !unsigned {
        return Err(RequestObjectError(
            "this client registered unsigned request objects (request_object_signing_alg none)"
                .into(),
        ));
    }
    let rules = RequestObjectRules {
        issuer: state.issuer.clone(),
        client_id: client.client_id.clone(),
        required_alg: registered.and_then(RequestObjectAlg::signed),
        // A client that registered an algorithm sends nothing else (Registration §2),
        // pushed or not.
        allow_unsigned: match registered {
            Some(RequestObjectAlg::None) => true,
            Some(RequestObjectAlg::Signed(_)) => false,
            None => authenticated,
        },
        leeway: state.validation.leeway,
    };
    let now = state.clock.unix();
    let object = if unsigned {
        verify_request_object(request, &KeySet::new(), &rules, now)
    } else {
        let keys = keys_of(state, client, false).await?;
        match verify_request_object(request, &keys, &rules, now) {
            Err(VerifyError::UnknownKey) if client.jwks_uri.is_some() => {
                let keys = keys_of(state, client, true).await?;
                verify_request_object(request, &keys, &rules, now)
            }
            other => other,
        }
    }
    .map_err(|e| RequestObjectError(format!("the request object was refused: {e}")))?;
    Ok(Resolved {
        params: params_of(object.claims)?,
        signed: object.signed,
    })
}

/// The parameters among the claims: strings as they are, numbers (`max_age`) as text;
/// a parameter of another type is refused, other claims (`aud`, `exp`…) are not
/// parameters.
fn params_of(claims: Map<String, Value>) -> Result<AuthorizeParams, RequestObjectError> {
    let mut params = Map::new();
    for (name, value) in claims {
        if !AuthorizeParams::NAMES.contains(&name.as_str()) {
            continue;
        }
        let text = match value {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            _ => {
                return Err(RequestObjectError(format!(
                    "the request object's {name} must be a string"
                )));
            }
        };
        params.insert(name, Value::String(text));
    }
    serde_json::from_value(Value::Object(params))
        .map_err(|e| RequestObjectError(format!("the request object could not be read: {e}")))
}

/// The client's keys: its inline `jwks` (read once per registration), or its
/// `jwks_uri`'s (cached; `refresh` fetches again unless the last fetch is under
/// [`REFETCH_AFTER`] seconds old).
async fn keys_of(
    state: &AppState,
    client: &Client,
    refresh: bool,
) -> Result<KeySet, RequestObjectError> {
    let default_alg = client
        .request_object_signing_alg
        .as_deref()
        .and_then(|a| RequestObjectAlg::parse(a).ok())
        .and_then(RequestObjectAlg::signed);
    let cache = &state.client_keys;
    if let Some(jwks) = &client.jwks {
        let source = format!("jwks:{}", crate::domain::digest::sha256_hex(jwks));
        if let Some(keys) = cache.get(&client.client_id, &source).and_then(|f| f.keys) {
            return Ok(keys);
        }
        let keys = KeySet::from_client_jwks(jwks.as_bytes(), default_alg)
            .map_err(|e| RequestObjectError(format!("the client's jwks: {e}")))?;
        let now = state.clock.unix();
        cache.put(
            &client.client_id,
            Fetched {
                source,
                at: now,
                ok_at: now,
                keys: Some(keys.clone()),
            },
        );
        return Ok(keys);
    }
    let Some(uri) = &client.jwks_uri else {
        return Err(RequestObjectError(
            "this client registered no keys (jwks or jwks_uri) for signed request objects".into(),
        ));
    };
    let due = |cached: &Option<Fetched>| {
        let now = state.clock.unix();
        let age = |f: &Fetched| now.saturating_sub(f.at);
        match cached {
            None => true,
            Some(f) if refresh || f.keys.is_none() => age(f) >= REFETCH_AFTER,
            Some(f) => age(f) >= KEYS_FRESH_FOR,
        }
    };
    let mut cached = cache.get(&client.client_id, uri);
    if due(&cached) {
        // One fetch per client at a time: the others wait for it and use what it found.
        let lock = cache.lock_for(&client.client_id);
        let _fetching = lock.lock().await;
        cached = cache.get(&client.client_id, uri);
        if due(&cached) {
            let entry = refetch(state, client, uri, default_alg, cached.as_ref()).await;
            cache.put(&client.client_id, entry.clone());
            cached = Some(entry);
        }
    }
    // Checked at use too: keys a failed fetch kept are fresh for five minutes more, but
    // never past the staleness bound.
    let now = state.clock.unix();
    cached
        .filter(|f| now.saturating_sub(f.ok_at) < KEYS_MAX_STALE)
        .and_then(|f| f.keys)
        .ok_or_else(|| {
            RequestObjectError("the client's keys could not be fetched from its jwks_uri".into())
        })
}

/// Fetches `uri` again. A failed fetch keeps the keys the last one found (they are still
/// the client's best) until [`KEYS_MAX_STALE`] seconds after the last that succeeded.
async fn refetch(
    state: &AppState,
    client: &Client,
    uri: &str,
    default_alg: Option<tessera_token::Algorithm>,
    cached: Option<&Fetched>,
) -> Fetched {
    let keys = fetch(state, uri, default_alg).await;
    let now = state.clock.unix();
    match keys {
        Ok(keys) => Fetched {
            source: uri.to_owned(),
            at: now,
            ok_at: now,
            keys: Some(keys),
        },
        Err(e) => {
            tracing::warn!(client_id = %client.client_id, error = %e, "could not fetch a client's jwks_uri");
            let ok_at = cached.map_or(i64::MIN, |f| f.ok_at);
            Fetched {
                source: uri.to_owned(),
                at: now,
                ok_at,
                keys: cached
                    .and_then(|f| f.keys.clone())
                    .filter(|_| now.saturating_sub(ok_at) < KEYS_MAX_STALE),
            }
        }
    }
}

/// Fetches and reads a client's JWKS: loopback refused (unless allowed), no redirects,
/// [`FETCH_TIMEOUT`], at most [`MAX_JWKS_BYTES`].
async fn fetch(
    state: &AppState,
    uri: &str,
    default_alg: Option<tessera_token::Algorithm>,
) -> Result<KeySet, String> {
    if crate::service::outbound::refused_target(state, uri) {
        return Err("jwks_uri is a loopback address".into());
    }
    let http = state
        .client_keys
        .http
        .get_or_init(|| {
            crate::service::outbound::http_client(state, "tessera-jwks-fetch", FETCH_TIMEOUT).ok()
        })
        .clone()
        .ok_or("no HTTP client could be built")?;
    let mut res = http.get(uri).send().await.map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        return Err(format!("jwks_uri answered {}", res.status()));
    }
    if res
        .content_length()
        .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
    {
        return Err("jwks_uri document too large".into());
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err("jwks_uri document too large".into());
        }
        body.extend_from_slice(&chunk);
    }
    KeySet::from_client_jwks(&body, default_alg).map_err(|e| e.to_string())
}

impl ClientKeyCache {
    fn get(&self, client_id: &str, source: &str) -> Option<Fetched> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(client_id)
            .and_then(|e| e.fetched.clone())
            .filter(|f| f.source == source)
    }

    /// The lock one client's fetches take turns on.
    fn lock_for(&self, client_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        Self::make_room(&mut entries, client_id);
        entries
            .entry(client_id.to_owned())
            .or_default()
            .fetching
            .clone()
    }

    fn put(&self, client_id: &str, fetched: Fetched) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        Self::make_room(&mut entries, client_id);
        entries.entry(client_id.to_owned()).or_default().fetched = Some(fetched);
    }

    /// Drops the least recently fetched client when the cache is full and `client_id` is
    /// not in it; never one whose fetch is under way (its waiters share its lock).
    fn make_room(entries: &mut HashMap<String, Entry>, client_id: &str) {
        if entries.len() < CACHED_CLIENTS || entries.contains_key(client_id) {
            return;
        }
        let oldest = entries
            .iter()
            .filter(|(_, e)| Arc::strong_count(&e.fetching) == 1)
            .min_by_key(|(_, e)| e.fetched.as_ref().map_or(i64::MIN, |f| f.at))
            .map(|(id, _)| id.clone());
        if let Some(oldest) = oldest {
            entries.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A full cache drops the least recently fetched client, never one being fetched
    /// (attacker review: dropping it dropped its lock, and its waiters fetched again).
    #[test]
    fn a_full_cache_keeps_the_clients_being_fetched() {
        let cache = ClientKeyCache::default();
        let fetched = |at: i64| Fetched {
            source: "https://rp.example/jwks".into(),
            at,
            ok_at: at,
            keys: Some(KeySet::new()),
        };
        cache.put("busy", fetched(0));
        let held = cache.lock_for("busy");
        for i in 1..CACHED_CLIENTS {
            cache.put(&format!("c{i}"), fetched(i64::try_from(i).unwrap()));
        }
        cache.put("new", fetched(10_000));
        assert!(cache.get("busy", "https://rp.example/jwks").is_some());
        assert!(
            cache.get("c1", "https://rp.example/jwks").is_none(),
            "the oldest idle one"
        );
        assert!(cache.get("new", "https://rp.example/jwks").is_some());
        drop(held);
        cache.put("newer", fetched(10_001));
        assert!(cache.get("busy", "https://rp.example/jwks").is_none());
    }

    #[test]
    fn parameters_are_read_from_the_claims_only() {
        let claims = json!({
            "client_id": "app", "response_type": "code", "max_age": 300, "state": "s",
            "aud": ["https://sso.example"], "exp": 1, "claims": {"userinfo": {}},
            "sealed": "forged",
        });
        let Value::Object(claims) = claims else {
            unreachable!()
        };
        let params = params_of(claims).unwrap();
        assert_eq!(params.max_age.as_deref(), Some("300"));
        assert_eq!(params.state.as_deref(), Some("s"));
        assert_eq!(params.sealed, None);
        let Value::Object(bad) = json!({"client_id": "app", "scope": ["openid"]}) else {
            unreachable!()
        };
        assert!(params_of(bad).is_err());
    }
}
