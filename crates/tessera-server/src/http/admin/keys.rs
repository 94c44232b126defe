//! `/admin/api/keys`: the published signing keys and which one signs.

use super::Admin;
use crate::error::ApiError;
use crate::service::published_keys;
use crate::state::AppState;
use crate::store::KeyState;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

/// A published signing key.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    kid: String,
    alg: String,
    /// Signs new tokens now.
    signing: bool,
    /// next | active | retired (stored keys), or `published` (Vault backends).
    state: String,
    /// Unix seconds, when known.
    created_at: Option<i64>,
}

/// The published signing keys (no private material), and which one signs.
#[utoipa::path(get, path = "/admin/api/keys", tag = "keys", security(("bearer" = [])),
    responses((status = 200, body = Vec<KeyView>)))]
pub(super) async fn list_keys(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    let keys = published_keys::published(&state)
        .await?
        .into_iter()
        .map(|k| KeyView {
            kid: k.kid,
            alg: k.alg.as_str().to_owned(),
            signing: k.signing,
            state: k.state.map_or("published", KeyState::as_str).to_owned(),
            created_at: k.created_at,
        })
        .collect();
    Ok(Json(keys))
}
