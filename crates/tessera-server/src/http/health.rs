//! `GET /healthz` (alive) and `GET /readyz` (database reachable and writable, signing key
//! loaded).

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

/// The health routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state
        .store
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    // Reads work but writes (logins, refreshes) answer 503: not ready, so a load balancer
    // sends traffic to a replica that can write.
    if !state.store.writable() {
        return Err(ApiError::Unavailable("the database refuses writes".into()));
    }
    Ok(Json(
        json!({"status": "ready", "database": "ok", "signing_key": state.keys.current().signer().kid()}),
    ))
}
