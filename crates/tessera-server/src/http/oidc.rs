//! OpenID Connect discovery (`/.well-known/openid-configuration`) and the UserInfo
//! endpoint (`GET|POST /oauth/userinfo`, RFC 6750 errors).

use crate::domain::GrantType;
use crate::error::ApiError;
use crate::http::bearer::Bearer;
use crate::service::oauth::identity;
use crate::service::token::{self, TokenError};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

/// Discovery and UserInfo.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oauth/userinfo", get(userinfo).post(userinfo))
}

/// The discovery document's bytes, made again only when the set of algorithms with an
/// active key changes (a key reload); every other request serves them as they are.
#[derive(Debug, Default)]
pub struct DiscoveryCache(std::sync::Mutex<Option<(Vec<&'static str>, bytes::Bytes)>>);

impl DiscoveryCache {
    fn get(&self, state: &AppState) -> bytes::Bytes {
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

/// What the server really does, from the same constants the endpoints use.
async fn discovery(State(state): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        state.discovery.get(&state),
    )
        .into_response()
}

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
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": GrantType::ALL.map(GrantType::as_str),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "scopes_supported": crate::service::client::DEFAULT_SCOPES,
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid",
            "name", "given_name", "family_name", "preferred_username", "email", "email_verified"
        ],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
    })
}

async fn userinfo(State(state): State<AppState>, bearer: Result<Bearer, ApiError>) -> Response {
    let Ok(Bearer(token)) = bearer else {
        return bearer_error(StatusCode::UNAUTHORIZED, None, "no access token");
    };
    let (claims, user) = match token::authenticate_bearer(
        &state,
        &token,
        crate::service::audience::Surface::UserInfo,
    )
    .await
    {
        Ok(found) => found,
        Err(TokenError::NotValid(_)) => {
            return bearer_error(
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
                "the access token is not valid",
            );
        }
        Err(e) => {
            tracing::warn!(error = %e, "userinfo failed");
            let mut r = (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "temporarily_unavailable"})),
            )
                .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            return r;
        }
    };
    let scope = claims.scope.unwrap_or_default();
    if !scope.split_whitespace().any(|s| s == "openid") {
        return bearer_error(
            StatusCode::FORBIDDEN,
            Some("insufficient_scope"),
            "the token lacks the openid scope",
        );
    }
    let mut body: Value =
        serde_json::to_value(identity(&user, &scope)).unwrap_or_else(|_| json!({}));
    if let Some(map) = body.as_object_mut() {
        map.retain(|k, v| {
            !v.is_null() && !matches!(k.as_str(), "iss" | "aud" | "exp" | "iat" | "auth_time")
        });
    }
    ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// RFC 6750 §3: `WWW-Authenticate: Bearer` with the error, and a JSON body.
fn bearer_error(status: StatusCode, error: Option<&str>, description: &str) -> Response {
    let description = tessera_proto::oauth::error_description(description);
    let challenge = match error {
        Some(e) => {
            format!(r#"Bearer realm="tessera", error="{e}", error_description="{description}""#)
        }
        None => r#"Bearer realm="tessera""#.to_owned(),
    };
    let body = match error {
        Some(e) => json!({"error": e, "error_description": description}),
        None => json!({"error": "invalid_request", "error_description": description}),
    };
    let mut r = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}
