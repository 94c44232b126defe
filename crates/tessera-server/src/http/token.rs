//! The simplejwt-compatible token endpoints under `/auth/`.

use crate::error::ApiError;
use crate::http::body::Body;
use crate::http::client_ip::ClientIp;
use crate::http::oauth::no_store;
use crate::service::login::{self, LoginId};
use crate::service::token;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use tessera_proto::django::{BlacklistRequest, ObtainRequest, RefreshRequest, VerifyRequest};

/// `/auth/token/`, `/auth/token/refresh/`, `/auth/refresh/`, `/auth/token/verify/`,
/// `/auth/token/blacklist/`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/token/", post(obtain))
        .route("/auth/token/mfa/", post(obtain_mfa))
        .route("/auth/token/refresh/", post(refresh))
        .route("/auth/refresh/", post(refresh))
        .route("/auth/token/verify/", post(verify))
        .route("/auth/token/blacklist/", post(blacklist))
}

async fn obtain(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(req): Body<ObtainRequest>,
) -> Result<Response, ApiError> {
    let id = match (req.username, req.email) {
        (Some(username), _) if !username.is_empty() => LoginId::Username(username),
        (_, Some(email)) if !email.is_empty() => LoginId::Email(email),
        _ => return Err(ApiError::Required("username".into())),
    };
    let pair = login::obtain_pair(&state, &id, &req.password, ip).await?;
    Ok(no_store(Json(pair).into_response()))
}

/// `POST /auth/token/mfa/`'s body.
#[derive(Debug, serde::Deserialize)]
struct MfaRequest {
    #[serde(default)]
    mfa_token: Option<tessera_proto::Secret>,
    #[serde(default)]
    code: Option<tessera_proto::Secret>,
}

async fn obtain_mfa(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(req): Body<MfaRequest>,
) -> Result<Response, ApiError> {
    let token = req
        .mfa_token
        .ok_or_else(|| ApiError::Required("mfa_token".into()))?;
    let code = req.code.ok_or_else(|| ApiError::Required("code".into()))?;
    let pair = login::obtain_pair_mfa(&state, token.expose(), code.expose(), ip).await?;
    Ok(no_store(Json(pair).into_response()))
}

async fn refresh(
    State(state): State<AppState>,
    Body(req): Body<RefreshRequest>,
) -> Result<Response, ApiError> {
    let token = req
        .into_token()
        .ok_or_else(|| ApiError::Required("refresh".into()))?;
    let pair = token::refresh(&state, &token).await?;
    Ok(no_store(Json(pair).into_response()))
}

/// A refusal carries `Content-Type: application/json; charset=utf-8` (still JSON to every
/// parser): drf_remotejwt 0.3.2 lets a request in whatever status `/auth/token/verify/`
/// answers, as long as the type is exactly `application/json`; with the parameter it
/// refuses instead. Success keeps the exact type it needs.
async fn verify(State(state): State<AppState>, Body(req): Body<VerifyRequest>) -> Response {
    match token::verify(&state, &req.token).await {
        Ok(()) => Json(json!({})).into_response(),
        Err(e) => {
            let mut response = ApiError::from(e).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            response
        }
    }
}

async fn blacklist(
    State(state): State<AppState>,
    Body(req): Body<BlacklistRequest>,
) -> Result<Json<Value>, ApiError> {
    token::blacklist(&state, &req.refresh).await?;
    Ok(Json(json!({})))
}
