//! The HTTP API: one module per resource, merged into one router here.
//!
//! Handlers extract typed input, call one service function and map its result.

pub mod account;
pub mod account_page;
pub mod account_security;
pub mod admin;
pub mod authorize;
pub mod bearer;
pub mod body;
pub mod client_ip;
pub mod conn_limit;
pub mod csrf;
pub mod health;
pub mod jwks;
pub mod logout;
pub mod metrics;
pub mod oauth;
pub mod oidc;
pub mod pages;
pub mod passkey;
pub mod security;
pub mod session_cookie;
pub mod token;
pub mod users;

use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole API.
pub fn router(state: AppState) -> Router {
    let hsts = state.settings.tls_cert.is_some().then(|| {
        tower_http::set_header::SetResponseHeaderLayer::if_not_present(
            axum::http::header::STRICT_TRANSPORT_SECURITY,
            axum::http::HeaderValue::from_static("max-age=31536000"),
        )
    });
    let cors = cors(&state.settings.cors_origins);
    Router::new()
        .merge(token::routes())
        .merge(users::routes())
        .merge(security::routes())
        .merge(account_security::routes())
        .merge(passkey::routes())
        .merge(admin::routes())
        .merge(account::routes())
        .merge(account_page::routes())
        .merge(jwks::routes())
        .merge(oauth::routes())
        .merge(oidc::routes())
        .merge(authorize::routes())
        .merge(logout::routes())
        .merge(pages::routes())
        .merge(health::routes())
        .merge(metrics::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::record,
        ))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            body::body_deadline,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), deadline))
        // A bug that panics answers the generic 500 (detail logged), not a dropped
        // connection; `unwrap`/`panic` are denied in this crate, arithmetic is not.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
                // Only method, path and request id: never headers (tokens) or bodies (passwords).
                // At ERROR level so that the span exists whatever the filter lets through:
                // a warning logged under `log_filter = "warn"` still carries its request id.
                tracing::error_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(tower::util::option_layer(hsts))
        .layer(tower::util::option_layer(cors))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// The answer to a request whose handler panicked.
fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    ApiError::Internal("a handler panicked".into()).into_response()
}

/// CORS for the configured origins only (none: no CORS headers at all). Bearer tokens and
/// form posts; no cookies cross-origin (`allow_credentials` stays off).
fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderValue, Method, header};
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    (!allowed.is_empty()).then(|| {
        tower_http::cors::CorsLayer::new()
            .allow_origin(allowed)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .max_age(std::time::Duration::from_secs(600))
    })
}

/// Answers 503 `temporarily_unavailable` (with `Retry-After`) when a request runs past
/// `request_timeout`, instead of holding the connection.
async fn deadline(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(state.settings.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Unavailable("request deadline exceeded".into()).into_response(),
    }
}
