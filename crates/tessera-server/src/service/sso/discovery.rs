//! OpenID Connect Discovery 1.0: the provider's metadata, said from the same constants
//! the endpoints use, so that it says exactly what the server does.

use crate::domain::GrantType;
use crate::state::AppState;
use serde_json::{Value, json};

/// The discovery document's bytes, made again only when the set of algorithms with an
/// active key changes (a key reload); every other request serves them as they are.
#[derive(Debug, Default)]
pub struct DiscoveryCache(std::sync::Mutex<Option<(Vec<&'static str>, bytes::Bytes)>>);

impl DiscoveryCache {
    /// The document for the keys active now.
    pub fn get(&self, state: &AppState) -> bytes::Bytes {
        // Algorithms with an active key: what a client may ask its ID tokens to be signed with.
        let algs: Vec<&'static str> = state
            .keys
            .current()
            .active_algorithms()
            .into_iter()
            .map(|a| a.as_str())
            .collect();
        let mut cached = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match cached.as_ref() {
            Some((for_algs, doc)) if *for_algs == algs => doc.clone(),
            _ => {
                let doc = bytes::Bytes::from(document(state, &algs).to_string());
                *cached = Some((algs, doc.clone()));
                doc
            }
        }
    }
}

/// The document for the algorithms that have an active key.
fn document(state: &AppState, algs: &[&str]) -> Value {
    let iss = &state.issuer;
    json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oauth/authorize"),
        "token_endpoint": format!("{iss}/oauth/token"),
        "userinfo_endpoint": format!("{iss}/oauth/userinfo"),
        "jwks_uri": format!("{iss}/.well-known/jwks.json"),
        "end_session_endpoint": format!("{iss}/oauth/logout"),
        "introspection_endpoint": format!("{iss}/oauth/introspect"),
        "revocation_endpoint": format!("{iss}/oauth/revoke"),
        "pushed_authorization_request_endpoint": format!("{iss}/oauth/par"),
        "require_pushed_authorization_requests": state.settings.sso.require_pushed_authorization_requests,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": GrantType::ALL.map(GrantType::as_str),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "scopes_supported": crate::service::client::DEFAULT_SCOPES,
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "azp",
            "acr", "amr", "name", "given_name", "family_name", "preferred_username", "email",
            "email_verified"
        ],
        "acr_values_supported": crate::domain::authn::Level::ALL.map(crate::domain::authn::Level::acr),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": false,
        "request_parameter_supported": true,
        "request_object_signing_alg_values_supported": ["RS256", "PS256", "ES256", "EdDSA", "none"],
        "request_uri_parameter_supported": false,
        "require_signed_request_object": false,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": true,
        "frontchannel_logout_session_supported": true,
    })
}
