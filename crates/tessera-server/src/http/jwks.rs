//! `GET /.well-known/jwks.json` and `GET /jwks`: the public keys, from memory.

use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

/// How long clients may cache the JWKS, in seconds (advertised in `Cache-Control`).
pub const JWKS_MAX_AGE: u64 = 300;

/// The JWKS routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route("/jwks", get(jwks))
}

async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CACHE_CONTROL,
                format!("public, max-age={JWKS_MAX_AGE}"),
            ),
        ],
        state.keys.current().jwks_json(),
    )
}
