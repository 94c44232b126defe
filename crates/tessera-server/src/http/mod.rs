//! The HTTP API: one module per resource, merged into one router here.
//!
//! Handlers extract typed input, call one service function and map its result.

pub mod authorize;
pub mod bearer;
pub mod body;
pub mod health;
pub mod jwks;
pub mod oauth;
pub mod oidc;
pub mod pages;
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
    Router::new()
        .merge(token::routes())
        .merge(users::routes())
        .merge(jwks::routes())
        .merge(oauth::routes())
        .merge(oidc::routes())
        .merge(authorize::routes())
        .merge(pages::routes())
        .merge(health::routes())
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
                // Only method, path and request id: never headers (tokens) or bodies (passwords).
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}
