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

/// `Cache-Control` of the JWKS: [`JWKS_MAX_AGE`] (a unit test keeps the two equal).
const JWKS_CACHE_CONTROL: &str = "public, max-age=300";

/// The bytes serialised when the keys were loaded; nothing is built per request.
async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, JWKS_CACHE_CONTROL),
        ],
        state.keys.current().jwks_json(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cache_header_says_the_max_age() {
        assert_eq!(
            super::JWKS_CACHE_CONTROL,
            format!("public, max-age={}", super::JWKS_MAX_AGE)
        );
    }
}
