//! A user's second factors in the admin API: what they have (never the secrets), and
//! the reset that removes them and ends the user's sessions.

use super::{Admin, ErrorSchema};
use crate::error::ApiError;
use crate::service::audit::Actor;
use crate::service::authn;
use crate::service::user::Users;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

/// A user's second factors.
#[derive(Debug, Serialize, ToSchema)]
pub struct FactorsView {
    /// An admin requires a second factor of the user.
    mfa_required: bool,
    /// The TOTP authenticator, if enrolled: Unix seconds.
    totp: Option<TotpView>,
    /// The recovery codes left, if any were made.
    recovery_codes: Option<RecoveryView>,
    /// The passkeys (names and dates; never keys).
    passkeys: Vec<PasskeyView>,
}

/// A passkey.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyView {
    name: String,
    created_at: i64,
    last_used_at: Option<i64>,
}

/// A TOTP authenticator.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpView {
    enrolled_at: i64,
    last_used_at: Option<i64>,
}

/// A set of recovery codes.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryView {
    remaining: i64,
    created_at: i64,
    last_used_at: Option<i64>,
}

/// A user's second factors (never their secrets).
#[utoipa::path(get, path = "/admin/api/users/{id}/factors", tag = "users",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = FactorsView), (status = 404, body = ErrorSchema)))]
pub(super) async fn list(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<FactorsView>, ApiError> {
    let users = Users::of(&state);
    let target = admin.target(&users, &id).await?;
    let factors = authn::factors_of(&state, target.id).await?;
    Ok(Json(FactorsView {
        mfa_required: target.mfa_required,
        totp: factors.totp.map(|t| TotpView {
            enrolled_at: t.enrolled_at,
            last_used_at: t.last_used_at,
        }),
        recovery_codes: factors.recovery.map(|r| RecoveryView {
            remaining: r.remaining,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        }),
        passkeys: factors
            .passkeys
            .into_iter()
            .map(|p| PasskeyView {
                name: p.name,
                created_at: p.created_at,
                last_used_at: p.last_used_at,
            })
            .collect(),
    }))
}

/// Removes every second factor of the user and ends all their sessions.
#[utoipa::path(post, path = "/admin/api/users/{id}/factors/reset", tag = "users",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorSchema)))]
pub(super) async fn reset(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let users = Users::of(&state);
    let target = admin.target(&users, &id).await?;
    let now = state.clock.unix();
    if !authn::reset(state.store.as_ref(), now, &target, Actor::User(admin.0.id)).await? {
        return Err(ApiError::NotFound);
    }
    state.logout_wake.notify_one();
    authn::notice::send(&state, &target, authn::notice::Change::Reset);
    Ok(StatusCode::NO_CONTENT)
}
