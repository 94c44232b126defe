//! OpenID Connect discovery (`/.well-known/openid-configuration`) and the UserInfo
//! endpoint (`GET|POST /oauth/userinfo`, RFC 6750 errors).

use crate::domain::Scope;
use crate::service::oauth::identity;
use crate::service::token::{self, TokenError};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tessera_proto::Secret;
use url::form_urlencoded;

/// Discovery and UserInfo.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oauth/userinfo", get(userinfo).post(userinfo))
}

/// What the server really does (`service::sso::discovery`).
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

async fn userinfo(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let token = match access_token(&headers, query.as_deref(), &body) {
        Ok(Some(token)) => token,
        Ok(None) => return bearer_error(StatusCode::UNAUTHORIZED, None, "no access token"),
        Err(why) => return bearer_error(StatusCode::BAD_REQUEST, Some("invalid_request"), why),
    };
    let (claims, user) = match token::authenticate_bearer(
        &state,
        &token,
        crate::service::audience::Surface::UserInfo,
    )
    .await
    {
        Ok(found) => found,
        Err(
            TokenError::NotValid(_) | TokenError::ServiceNotAllowed | TokenError::NumericClientId,
        ) => {
            return bearer_error(
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
                "the access token is not valid",
            );
        }
        // Whatever kept Tessera from checking the token: try again later.
        Err(
            e @ (TokenError::Store(_)
            | TokenError::Sign(_)
            | TokenError::NoKeyFor(_)
            | TokenError::Signer(_)
            | TokenError::Random(_)),
        ) => {
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
    if !Scope::of(&scope).contains("openid") {
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

/// The access token of a UserInfo request by exactly one of RFC 6750's methods: the
/// `Authorization: Bearer` header (§2.1) or a form-encoded body's `access_token` (§2.2).
/// Two methods, two headers, a value that is not a `b64token`, or a token in the query
/// (§2.3, which Tessera does not take: URLs end up in logs) is an `invalid_request`, never a
/// silent pick. `Ok(None)`: no token at all (another scheme counts as none).
fn access_token(
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<Option<Secret>, &'static str> {
    let in_query = query.is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes()).any(|(name, _)| name == "access_token")
    });
    if in_query {
        return Err(
            "the access token is not accepted in the query; send it in the Authorization header",
        );
    }
    let mut authorizations = headers.get_all(header::AUTHORIZATION).iter();
    let first = authorizations.next();
    if authorizations.next().is_some() {
        return Err("send one Authorization header");
    }
    let from_header = match first {
        None => None,
        Some(value) => {
            let value = value
                .to_str()
                .map_err(|_| "malformed Authorization header")?;
            match value.split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                    if !is_b64token(token) {
                        return Err("malformed Bearer value");
                    }
                    Some(token)
                }
                _ if value.eq_ignore_ascii_case("bearer") => return Err("malformed Bearer value"),
                _ => None,
            }
        }
    };
    let mut in_body = if crate::http::body::is_form(headers) {
        form_urlencoded::parse(body)
            .filter(|(name, _)| name == "access_token")
            .map(|(_, value)| value.into_owned())
            .collect::<Vec<_>>()
    } else {
        Vec::new()
    };
    match (from_header, in_body.len()) {
        (Some(_), 1..) | (None, 2..) => Err("the access token is sent more than once"),
        (Some(token), 0) => Ok(Some(Secret::new(token))),
        (None, 1) => Ok(in_body.pop().map(Secret::new)),
        (None, 0) => Ok(None),
    }
}

/// RFC 6750 §2.1's `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// RFC 6750 §3: `WWW-Authenticate: Bearer` with the error, and a JSON body.
fn bearer_error(status: StatusCode, error: Option<&str>, description: &str) -> Response {
    let description = tessera_proto::oauth::error_description(description);
    let challenge = match error {
        Some(e) => {
            let realm = tessera_proto::oauth::REALM;
            format!(r#"Bearer realm="{realm}", error="{e}", error_description="{description}""#)
        }
        None => tessera_proto::oauth::BEARER_CHALLENGE.to_owned(),
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
