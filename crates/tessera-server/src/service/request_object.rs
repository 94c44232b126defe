//! Request objects (RFC 9101, JWT-Secured Authorization Requests): an authorization
//! request sent as a JWT the client signed, at the authorization endpoint (`request`) or
//! pushed to `/oauth/par`. Only the object's parameters are used (§5); the checks are
//! `tessera_token::request_object`'s, with the keys the client registered: inline
//! (`jwks`) or fetched from its `jwks_uri` (cached five minutes, fetched again at most
//! every ten seconds when an object names a key the cache does not hold; one fetch per
//! client at a time, the requests that need it waiting for it).
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
use tessera_token::request_object::{RequestObjectRules, is_unsigned, verify_request_object};
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
/// Clients whose fetched keys are kept at once (least recently fetched dropped first).
const CACHED_CLIENTS: usize = 1024;

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
    uri: String,
    at: i64,
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
        allow_unsigned: registered == Some(RequestObjectAlg::None) || authenticated,
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

/// The client's keys: its inline `jwks`, or its `jwks_uri`'s (cached; `refresh` fetches
/// again unless the last fetch is under [`REFETCH_AFTER`] seconds old).
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
    if let Some(jwks) = &client.jwks {
        return KeySet::from_client_jwks(jwks.as_bytes(), default_alg)
            .map_err(|e| RequestObjectError(format!("the client's jwks: {e}")));
    }
    let Some(uri) = &client.jwks_uri else {
        return Err(RequestObjectError(
            "this client registered no keys (jwks or jwks_uri) for signed request objects".into(),
        ));
    };
    let cache = &state.client_keys;
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
            let keys = fetch(state, uri, default_alg).await;
            if let Err(e) = &keys {
                tracing::warn!(client_id = %client.client_id, error = %e, "could not fetch a client's jwks_uri");
            }
            let entry = Fetched {
                uri: uri.clone(),
                at: state.clock.unix(),
                // A failed fetch keeps the keys it had (they are still the client's best).
                keys: keys
                    .ok()
                    .or_else(|| cached.as_ref().and_then(|f| f.keys.clone())),
            };
            cache.put(&client.client_id, entry.clone());
            cached = Some(entry);
        }
    }
    cached.and_then(|f| f.keys).ok_or_else(|| {
        RequestObjectError("the client's keys could not be fetched from its jwks_uri".into())
    })
}

/// Fetches and reads a client's JWKS: loopback refused (unless allowed), no redirects,
/// [`FETCH_TIMEOUT`], at most [`MAX_JWKS_BYTES`].
async fn fetch(
    state: &AppState,
    uri: &str,
    default_alg: Option<tessera_token::Algorithm>,
) -> Result<KeySet, String> {
    if super::outbound::refused_target(state, uri) {
        return Err("jwks_uri is a loopback address".into());
    }
    let http = state
        .client_keys
        .http
        .get_or_init(|| {
            super::outbound::http_client(state, "tessera-jwks-fetch", FETCH_TIMEOUT).ok()
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
    fn get(&self, client_id: &str, uri: &str) -> Option<Fetched> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(client_id)
            .and_then(|e| e.fetched.clone())
            .filter(|f| f.uri == uri)
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
    /// not in it.
    fn make_room(entries: &mut HashMap<String, Entry>, client_id: &str) {
        if entries.len() < CACHED_CLIENTS || entries.contains_key(client_id) {
            return;
        }
        let oldest = entries
            .iter()
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
