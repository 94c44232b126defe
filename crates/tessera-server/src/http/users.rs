//! `GET /auth/users/{id}/` and `GET /auth/users/me/`.

use crate::error::ApiError;
use crate::http::bearer::Bearer;
use crate::service::user::{self, Target};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value};

/// The user routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/users/me/", get(me))
        .route("/auth/users/{id}/", get(by_id))
}

async fn me(
    State(state): State<AppState>,
    Bearer(token): Bearer,
) -> Result<Json<Map<String, Value>>, ApiError> {
    show(&state, &token, Target::Me).await
}

async fn by_id(
    State(state): State<AppState>,
    Bearer(token): Bearer,
    Path(id): Path<String>,
) -> Result<Json<Map<String, Value>>, ApiError> {
    let id = id.parse::<i64>().map_err(|_| ApiError::NotFound)?;
    show(&state, &token, Target::Id(id)).await
}

async fn show(
    state: &AppState,
    token: &tessera_proto::Secret,
    target: Target,
) -> Result<Json<Map<String, Value>>, ApiError> {
    let found = user::read(state, token, target).await?;
    Ok(Json(
        user::view(&found).select(&state.settings.users.fields),
    ))
}
