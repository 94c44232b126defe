//! axum integration (feature `axum`): the [`Authenticated`] extractor, the
//! [`require_token`] middleware, and [`require_scope`].
//!
//! ```no_run
//! use axum::{Router, routing::get, extract::FromRef};
//! use tessera_client::{AccessClaims, Verifier};
//! use tessera_client::axum::Authenticated;
//!
//! #[derive(Clone)]
//! struct AppState { verifier: Verifier }
//! impl FromRef<AppState> for Verifier {
//!     fn from_ref(s: &AppState) -> Verifier { s.verifier.clone() }
//! }
//!
//! async fn me(Authenticated(claims): Authenticated<AccessClaims>) -> String {
//!     format!("hello {}", claims.sub)
//! }
//!
//! fn app(verifier: Verifier) -> Router {
//!     Router::new().route("/me", get(me)).with_state(AppState { verifier })
//! }
//! ```
//!
//! A missing or invalid token answers 401 with `WWW-Authenticate: Bearer
//! error="invalid_token"` and a JSON body; a token without a required scope answers 403
//! `insufficient_scope` (RFC 6750 §3.1). [`require_acr`] and [`require_auth_age`] ask for
//! a stronger or more recent sign-in (RFC 9470 step-up): 401
//! `insufficient_user_authentication` with the `acr_values` or `max_age` the client should
//! send to Tessera's authorization endpoint.

use crate::{AccessClaims, Verifier, VerifyError};
use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

/// The verified claims of the request's bearer token, as `C` (default: [`AccessClaims`]).
#[derive(Debug, Clone)]
pub struct Authenticated<C = AccessClaims>(pub C);

/// Why a request was refused.
#[derive(Debug, Clone)]
pub enum AuthRejection {
    /// No bearer token (401, no error code, per RFC 6750 §3.1).
    Missing,
    /// The token did not verify (401 `invalid_token`).
    Invalid(VerifyError),
    /// The token lacks a scope (403 `insufficient_scope`).
    InsufficientScope(String),
    /// The sign-in behind the token is weaker or older than this resource needs (401
    /// `insufficient_user_authentication`, RFC 9470 §3): sign in again with these.
    InsufficientUserAuthentication {
        /// The acceptable `acr` values, space-separated.
        acr_values: Option<String>,
        /// The largest acceptable age of the sign-in, seconds.
        max_age: Option<u64>,
    },
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let (status, challenge, body) = match &self {
            Self::Missing => (
                StatusCode::UNAUTHORIZED,
                r#"Bearer realm="api""#.to_owned(),
                serde_json::json!({"error": "invalid_request", "error_description": "no bearer token"}),
            ),
            Self::Invalid(e) => (
                StatusCode::UNAUTHORIZED,
                format!(r#"Bearer realm="api", error="invalid_token", error_description="{e}""#),
                serde_json::json!({"error": "invalid_token", "error_description": e.to_string()}),
            ),
            Self::InsufficientScope(scope) => (
                StatusCode::FORBIDDEN,
                format!(r#"Bearer realm="api", error="insufficient_scope", scope="{scope}""#),
                serde_json::json!({"error": "insufficient_scope", "scope": scope}),
            ),
            Self::InsufficientUserAuthentication {
                acr_values,
                max_age,
            } => {
                let mut challenge = String::from(
                    r#"Bearer realm="api", error="insufficient_user_authentication", error_description="a stronger or more recent sign-in is required""#,
                );
                if let Some(acr) = acr_values {
                    challenge.push_str(&format!(r#", acr_values="{acr}""#));
                }
                if let Some(age) = max_age {
                    challenge.push_str(&format!(r#", max_age="{age}""#));
                }
                (
                    StatusCode::UNAUTHORIZED,
                    challenge,
                    serde_json::json!({
                        "error": "insufficient_user_authentication",
                        "error_description": "a stronger or more recent sign-in is required",
                        "acr_values": acr_values,
                        "max_age": max_age,
                    }),
                )
            }
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        response
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    bearer_token(&parts.headers)
}

/// The bearer token of a request's `Authorization` header, unverified (to forward it, for
/// example to [`crate::shadow::ShadowUsers::user`] after the extractor verified it).
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

impl<S, C> FromRequestParts<S> for Authenticated<C>
where
    Verifier: FromRef<S>,
    S: Send + Sync,
    C: DeserializeOwned + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthRejection> {
        if let Some(claims) = parts.extensions.get::<AccessClaims>() {
            // Verified by `require_token` already.
            let value = serde_json::to_value(claims).map_err(|_| AuthRejection::Missing)?;
            return serde_json::from_value(value)
                .map(Authenticated)
                .map_err(|_| AuthRejection::Invalid(VerifyError::InvalidClaim("custom claims")));
        }
        let token = bearer(parts).ok_or(AuthRejection::Missing)?;
        let verifier = Verifier::from_ref(state);
        verifier
            .verify_as::<C>(token)
            .await
            .map(Authenticated)
            .map_err(AuthRejection::Invalid)
    }
}

/// Middleware for a whole router (`axum::middleware::from_fn_with_state(verifier,
/// require_token)`): refuses requests without a valid token, and puts the
/// [`AccessClaims`] in the request's extensions for handlers.
pub async fn require_token(
    State(verifier): State<Verifier>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let Some(token) = bearer(&parts) else {
        return AuthRejection::Missing.into_response();
    };
    match verifier.verify(token).await {
        Ok(claims) => {
            parts.extensions.insert(claims);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(e) => AuthRejection::Invalid(e).into_response(),
    }
}

/// Checks that `claims` carry `scope`.
///
/// # Errors
/// [`AuthRejection::InsufficientScope`].
pub fn require_scope(claims: &AccessClaims, scope: &str) -> Result<(), AuthRejection> {
    let granted = claims.scope.as_deref().unwrap_or("");
    if granted.split_whitespace().any(|s| s == scope) {
        Ok(())
    } else {
        Err(AuthRejection::InsufficientScope(scope.to_owned()))
    }
}

/// Checks that the token's sign-in reached one of `acr_values` (Tessera's are `aal1`, a
/// password, and `aal2`, a password and a second factor): list every level you accept.
///
/// # Errors
/// [`AuthRejection::InsufficientUserAuthentication`] naming `acr_values`, for the client to
/// send the user back to sign in with them (RFC 9470).
pub fn require_acr(claims: &AccessClaims, acr_values: &[&str]) -> Result<(), AuthRejection> {
    match claims.acr.as_deref() {
        Some(acr) if acr_values.contains(&acr) => Ok(()),
        _ => Err(AuthRejection::InsufficientUserAuthentication {
            acr_values: Some(acr_values.join(" ")),
            max_age: None,
        }),
    }
}

/// Checks that the token's sign-in (`auth_time`) is at most `max_age` old, by the
/// verifier's clock (with its leeway). A token without `auth_time` is refused.
///
/// # Errors
/// [`AuthRejection::InsufficientUserAuthentication`] naming `max_age` (RFC 9470).
pub fn require_auth_age(
    claims: &AccessClaims,
    max_age: std::time::Duration,
    verifier: &Verifier,
) -> Result<(), AuthRejection> {
    let max = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
    let fresh = claims.auth_time.is_some_and(|at| {
        verifier.now().saturating_sub(at) <= max.saturating_add(verifier.leeway())
    });
    if fresh {
        Ok(())
    } else {
        Err(AuthRejection::InsufficientUserAuthentication {
            acr_values: None,
            max_age: Some(max_age.as_secs()),
        })
    }
}

/// The largest logout request read (a logout token is a few hundred bytes).
const MAX_LOGOUT_BODY: usize = 16 * 1024;

/// The endpoint for your `backchannel_logout_uri` (OpenID Connect Back-Channel Logout 1.0
/// §2.5–2.8): takes `logout_token` from a form body, checks it with `receiver`, and calls
/// `hook` with the [`LogoutEvent`] (end the local sessions of `sid`, or of `sub`).
///
/// Answers 200 (`Cache-Control: no-store`) once the hook succeeded; 400
/// `invalid_request` for a request that is not one form with one `logout_token`, and for a
/// token that does not verify or was seen before; 503 when the hook fails or the keys
/// cannot be had now (the JWKS unreachable, a `kid` not yet fetched), so the authority
/// tries again later (the specification says 400 for "the logout failed", which
/// an authority does not retry; a failure of yours is worth a retry).
///
/// ```no_run
/// use std::sync::Arc;
/// use axum::Router;
/// use tessera_client::{LogoutEvent, LogoutReceiver, Verifier};
///
/// fn routes(verifier: Verifier) -> Router {
///     let receiver = Arc::new(LogoutReceiver::new(verifier, "orders"));
///     Router::new().route(
///         "/backchannel-logout",
///         tessera_client::axum::backchannel_logout(receiver, |event: LogoutEvent| async move {
///             println!("session {:?} of {:?} ended", event.sid, event.sub);
///             Ok::<(), String>(())
///         }),
///     )
/// }
/// ```
pub fn backchannel_logout<S, F, Fut, E>(
    receiver: std::sync::Arc<crate::LogoutReceiver>,
    hook: F,
) -> axum::routing::MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
    F: Fn(crate::LogoutEvent) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    axum::routing::post(move |request: Request| {
        let receiver = receiver.clone();
        let hook = hook.clone();
        async move {
            let token = match logout_token(request).await {
                Ok(token) => token,
                Err(why) => return logout_error(StatusCode::BAD_REQUEST, why),
            };
            let event = match receiver.receive(&token).await {
                Ok(event) => event,
                // This side's trouble, not the token's: the keys could not be had (the
                // JWKS unreachable past max_stale, a new key not fetched yet). The
                // authority tries again later.
                Err(e @ (VerifyError::KeysUnavailable | VerifyError::UnknownKey)) => {
                    tracing::warn!(error = %e, "back-channel logout token not checkable now");
                    return logout_error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the signing keys are not available now",
                    );
                }
                Err(e) => {
                    tracing::info!(error = %e, "back-channel logout token refused");
                    return logout_error(StatusCode::BAD_REQUEST, "the logout token is not valid");
                }
            };
            match hook(event).await {
                Ok(()) => (
                    StatusCode::OK,
                    [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
                )
                    .into_response(),
                Err(e) => {
                    tracing::warn!(error = %e, "back-channel logout hook failed");
                    logout_error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the logout could not be applied",
                    )
                }
            }
        }
    })
}

/// The one `logout_token` of a form body.
async fn logout_token(request: Request) -> Result<String, &'static str> {
    let form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err("the body must be application/x-www-form-urlencoded");
    }
    let body = axum::body::to_bytes(request.into_body(), MAX_LOGOUT_BODY)
        .await
        .map_err(|_| "the body is too large or could not be read")?;
    let mut tokens = url::form_urlencoded::parse(&body)
        .filter(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned());
    match (tokens.next(), tokens.next()) {
        (Some(token), None) => Ok(token),
        (None, _) => Err("logout_token: this field is required"),
        (Some(_), Some(_)) => Err("logout_token: sent more than once"),
    }
}

fn logout_error(status: StatusCode, description: &'static str) -> Response {
    let error = if status == StatusCode::BAD_REQUEST {
        "invalid_request"
    } else {
        "temporarily_unavailable"
    };
    (
        status,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        axum::Json(serde_json::json!({"error": error, "error_description": description})),
    )
        .into_response()
}
