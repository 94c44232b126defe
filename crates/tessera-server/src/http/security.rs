//! The signed-in user's second factors through the Django-style API: `POST
//! /auth/users/me/totp/` (begin, with the current password), `POST
//! /auth/users/me/totp/confirm/` (the first code), `DELETE /auth/users/me/totp/` (with the
//! current password), `POST /auth/users/me/recovery-codes/` (a new set). Each takes a
//! bearer token for the user API. Confirming ends every session of the user, this token's
//! too: the client logs in again, with the code.

use crate::error::ApiError;
use crate::http::bearer::Bearer;
use crate::http::body::Body;
use crate::http::client_ip::ClientIp;
use crate::http::oauth::no_store;
use crate::service::security::{self, Caller};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tessera_proto::Secret;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/users/me/totp/", post(begin).delete(remove))
        .route("/auth/users/me/totp/confirm/", post(confirm))
        .route("/auth/users/me/recovery-codes/", post(regenerate))
}

#[derive(Debug, Deserialize)]
struct CurrentPassword {
    #[serde(default)]
    current_password: Option<Secret>,
}

impl CurrentPassword {
    fn get(self) -> Result<Secret, ApiError> {
        self.current_password
            .ok_or_else(|| ApiError::Required("current_password".into()))
    }
}

async fn begin(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Bearer(bearer): Bearer,
    Body(req): Body<CurrentPassword>,
) -> Result<Response, ApiError> {
    let current = req.get()?;
    let enrolment = security::begin_totp(&state, Caller::Bearer(&bearer), ip, &current).await?;
    let body = json!({"secret": enrolment.secret, "otpauth_url": enrolment.otpauth_url});
    Ok(no_store((StatusCode::CREATED, Json(body)).into_response()))
}

#[derive(Debug, Deserialize)]
struct Code {
    #[serde(default)]
    code: Option<Secret>,
}

async fn confirm(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Bearer(bearer): Bearer,
    Body(req): Body<Code>,
) -> Result<Response, ApiError> {
    let code = req.code.ok_or_else(|| ApiError::Required("code".into()))?;
    let (_, codes) =
        security::confirm_totp(&state, Caller::Bearer(&bearer), ip, code.expose()).await?;
    Ok(no_store(
        Json(json!({"recovery_codes": codes})).into_response(),
    ))
}

async fn remove(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Bearer(bearer): Bearer,
    Body(req): Body<CurrentPassword>,
) -> Result<StatusCode, ApiError> {
    let current = req.get()?;
    security::remove_totp(&state, Caller::Bearer(&bearer), ip, &current).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn regenerate(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Bearer(bearer): Bearer,
    Body(req): Body<CurrentPassword>,
) -> Result<Response, ApiError> {
    let current = req.get()?;
    let codes =
        security::regenerate_recovery_codes(&state, Caller::Bearer(&bearer), ip, &current).await?;
    Ok(no_store(
        Json(json!({"recovery_codes": codes})).into_response(),
    ))
}
