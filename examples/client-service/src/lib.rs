//! An example microservice that trusts Tessera, in the role of the original design's
//! "client-service" (drf_remotejwt's client app):
//!
//! - `POST /validate-jwt/` and `GET /api/test/` are protected: the bearer token is
//!   verified locally (tessera-client, cached JWKS, no call to the authority), and the
//!   answer is the service's local copy of the user, created on first sight from
//!   `/auth/users/{id}/` and refreshed when the token's `uv` claim says it changed.
//! - `POST /auth/token/`, `/auth/token/refresh/`, `/auth/token/verify/` and
//!   `GET /auth/users/{id}/` are passed through to the authority, so users log in
//!   through this service and the authority need not be reachable from outside. A
//!   successful login also makes the local copy, as drf_remotejwt does.
//! - With a client id (`--client-id`, registered at the authority with
//!   `--backchannel-logout-uri http://…/backchannel-logout/`), `POST /backchannel-logout/`
//!   hears of sign-outs at the authority (tessera-client's receiver), and the protected
//!   routes refuse the user's tokens issued before their last sign-out.
#![warn(missing_docs)]

pub mod signouts;
pub mod users;

use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tessera_client::axum::{Authenticated, bearer_token};
use tessera_client::shadow::{ShadowError, ShadowUsers};
use tessera_client::{AccessClaims, LogoutEvent, LogoutReceiver, Verifier};
use users::{LocalUser, SqliteUsers};

/// How the service is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The authority's base URL (its issuer).
    pub authority: String,
    /// The audience this service accepts (Tessera's `tokens.audience`).
    pub audience: String,
    /// Where the local users live (`sqlite:client-service.db`).
    pub database: String,
    /// This service's OAuth client id at the authority: with one, it takes back-channel
    /// logouts addressed to it at `POST /backchannel-logout/`.
    pub client_id: Option<String>,
}

/// Shared state of the handlers.
#[derive(Clone)]
pub struct Service {
    verifier: Verifier,
    shadows: Arc<ShadowUsers<SqliteUsers>>,
    http: reqwest::Client,
    authority: String,
    signouts: Arc<signouts::SignOuts>,
    logouts: Option<Arc<LogoutReceiver>>,
}

impl FromRef<Service> for Verifier {
    fn from_ref(s: &Service) -> Verifier {
        s.verifier.clone()
    }
}

impl Service {
    /// Connects to the authority (discovery + JWKS) and opens the user database.
    ///
    /// # Errors
    /// When the authority cannot be reached or the database cannot be opened.
    pub async fn start(config: &Config) -> anyhow::Result<Self> {
        let authority = config.authority.trim_end_matches('/').to_owned();
        let verifier = Verifier::builder(authority.clone(), config.audience.clone())
            .discover()
            .await?;
        let users = SqliteUsers::open(&config.database).await?;
        let signouts = Arc::new(signouts::SignOuts::open(users.pool().clone()).await?);
        let logouts = config
            .client_id
            .as_ref()
            .map(|id| Arc::new(LogoutReceiver::new(verifier.clone(), id.clone())));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            verifier,
            shadows: Arc::new(ShadowUsers::new(&authority, users)),
            http,
            authority,
            signouts,
            logouts,
        })
    }

    /// The local user store.
    pub fn users(&self) -> &SqliteUsers {
        self.shadows.store()
    }

    /// How many times the authority was asked for a user.
    pub fn user_fetches(&self) -> u64 {
        self.shadows.stats().fetches
    }

    /// The routes, plus, with `unverified_baseline`, `GET /bench/unverified/`: the same
    /// answer as `/api/test/` without verifying the token (it reads `user_id` from the
    /// payload as is). Only for measuring what verification costs (`bench/client_service.sh`);
    /// it trusts any token, so it is off unless asked for.
    #[cfg(feature = "bench-unverified")]
    pub fn router_with(self, unverified_baseline: bool) -> Router {
        let router = self.clone().router();
        if !unverified_baseline {
            return router;
        }
        router.merge(
            Router::new()
                .route("/bench/unverified/", get(unverified))
                .with_state(self),
        )
    }

    /// The routes. Serve them with
    /// `into_make_service_with_connect_info::<SocketAddr>()`: the login proxy passes each
    /// caller's address on.
    pub fn router(self) -> Router {
        let mut router = Router::new();
        if let Some(receiver) = self.logouts.clone() {
            let signouts = self.signouts.clone();
            router = router.route(
                "/backchannel-logout/",
                tessera_client::axum::backchannel_logout(receiver, move |event: LogoutEvent| {
                    let signouts = signouts.clone();
                    async move { signed_out(&signouts, event).await }
                }),
            );
        }
        router
            .route("/validate-jwt/", post(me))
            .route("/api/test/", get(me))
            .route("/auth/token/", post(login))
            .route("/auth/token/refresh/", post(pass_through))
            .route("/auth/token/verify/", post(pass_through))
            .route("/auth/users/{id}/", get(user_of_authority))
            .with_state(self)
    }
}

/// Records a sign-out at the authority (the hook of `POST /backchannel-logout/`).
async fn signed_out(signouts: &signouts::SignOuts, event: LogoutEvent) -> Result<(), String> {
    // Only a user's logout changes anything here (a token names the user by `sub`).
    let Some(user_id) = event.sub.as_deref().and_then(|s| s.parse::<i64>().ok()) else {
        return Ok(());
    };
    signouts
        .record(user_id, event.iat)
        .await
        .map_err(|e| e.to_string())
}

/// The caller's local user.
async fn me(
    State(service): State<Service>,
    Authenticated(claims): Authenticated<AccessClaims>,
    headers: HeaderMap,
) -> Result<Json<LocalUser>, ApiError> {
    if let Some(id) = claims.user_id
        && service.signouts.ended(id, claims.iat)
    {
        return Err(ApiError::SignedOut);
    }
    let token = bearer_token(&headers).unwrap_or_default();
    Ok(Json(service.shadows.user(&claims, token).await?))
}

/// `/api/test/` minus verification: the baseline of `bench/client_service.sh`.
#[cfg(feature = "bench-unverified")]
async fn unverified(
    State(service): State<Service>,
    headers: HeaderMap,
) -> Result<Json<LocalUser>, ApiError> {
    use base64::Engine as _;
    let claims = bearer_token(&headers)
        .and_then(|t| t.split('.').nth(1))
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<AccessClaims>(&b).ok())
        .ok_or(ApiError::Refused)?;
    let token = bearer_token(&headers).unwrap_or_default();
    Ok(Json(service.shadows.user(&claims, token).await?))
}

/// Login through the authority; on success, make or refresh the local copy. The caller's
/// address goes along (`X-Forwarded-For`), so the authority throttles each caller on its
/// own: list this service in the authority's `[throttle] trusted_proxies`.
async fn login(
    State(service): State<Service>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = forward(&service, "/auth/token/", peer, &headers, body).await;
    let Ok((status, passed, body)) = answer else {
        return ApiError::Unavailable.into_response();
    };
    if status == StatusCode::OK {
        remember_login(&service, &body).await;
    }
    reply(status, passed, body)
}

async fn remember_login(service: &Service, body: &Bytes) {
    let access = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("access")?.as_str().map(str::to_owned));
    let Some(access) = access else { return };
    match service.verifier.verify(&access).await {
        Ok(claims) => {
            if let Err(e) = service.shadows.user(&claims, &access).await {
                tracing::warn!(error = %e, "could not copy the user at login");
            }
        }
        Err(e) => tracing::warn!(error = %e, "the authority issued a token we cannot verify"),
    }
}

/// Refresh and verify go to the authority unchanged.
async fn pass_through(
    State(service): State<Service>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match forward(&service, uri.path(), peer, &headers, body).await {
        Ok((status, passed, body)) => reply(status, passed, body),
        Err(()) => ApiError::Unavailable.into_response(),
    }
}

/// The authority's user object, fetched with the caller's token.
async fn user_of_authority(
    State(service): State<Service>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    let mut request = service
        .http
        .get(format!("{}/auth/users/{id}/", service.authority));
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        request = request.header(header::AUTHORIZATION, auth);
    }
    match send(request).await {
        Ok((status, passed, body)) => reply(status, passed, body),
        Err(()) => ApiError::Unavailable.into_response(),
    }
}

/// An answer of the authority: its status, the headers a client needs passed on, its body.
type Answer = (StatusCode, HeaderMap, Bytes);

/// The authority's headers the proxy passes on: the body's type, and what a client needs to
/// act on a refusal (`WWW-Authenticate`) or a 429/503 (`Retry-After`).
const PASSED_ON: [header::HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::WWW_AUTHENTICATE,
    header::RETRY_AFTER,
    header::CACHE_CONTROL,
];

async fn forward(
    service: &Service,
    path: &str,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Answer, ()> {
    let mut request = service
        .http
        .post(format!("{}{path}", service.authority))
        .header("x-forwarded-for", forwarded_for(headers, peer))
        .body(body);
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        request = request.header(header::CONTENT_TYPE, ct);
    }
    send(request).await
}

/// `X-Forwarded-For` with the peer appended (the authority believes the right-most address
/// that is not a trusted proxy, so what a caller wrote before it changes nothing).
fn forwarded_for(headers: &HeaderMap, peer: SocketAddr) -> String {
    let before = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    match before {
        Some(list) => format!("{list}, {}", peer.ip()),
        None => peer.ip().to_string(),
    }
}

async fn send(request: reqwest::RequestBuilder) -> Result<Answer, ()> {
    let res = request.send().await.map_err(|e| {
        tracing::warn!(error = %e, "authority unreachable");
    })?;
    let status = StatusCode::from_u16(res.status().as_u16()).map_err(|_| ())?;
    let mut passed = HeaderMap::new();
    for name in PASSED_ON {
        if let Some(value) = res.headers().get(name.as_str())
            && let Ok(value) = HeaderValue::from_bytes(value.as_bytes())
        {
            passed.insert(name, value);
        }
    }
    let body = res.bytes().await.map_err(|_| ())?;
    Ok((status, passed, body))
}

fn reply(status: StatusCode, headers: HeaderMap, body: Bytes) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().extend(headers);
    response
}

/// Why a protected call failed after the token verified.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A service token (client credentials) names no user.
    #[error("this endpoint needs a user's token")]
    NotAUser,
    /// The authority refused the user (disabled, deleted, token revoked).
    #[error("the authority refused this user")]
    Refused,
    /// The user signed out at the authority after this token was issued.
    #[error("the user signed out since this token was issued")]
    SignedOut,
    /// The authority cannot be reached and the user was never seen.
    #[error("the authority cannot be reached")]
    Unavailable,
    /// Anything else (logged).
    #[error("internal error")]
    Internal,
}

impl From<ShadowError<sqlx::Error>> for ApiError {
    fn from(e: ShadowError<sqlx::Error>) -> Self {
        match e {
            ShadowError::NotAUser => Self::NotAUser,
            ShadowError::Refused(_) => Self::Refused,
            ShadowError::Unavailable => Self::Unavailable,
            other => {
                tracing::error!(error = %other, "shadow user");
                Self::Internal
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match self {
            Self::NotAUser => (StatusCode::FORBIDDEN, "insufficient_scope"),
            Self::Refused | Self::SignedOut => (StatusCode::UNAUTHORIZED, "invalid_token"),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable"),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        };
        let body = serde_json::json!({"error": code, "error_description": self.to_string()});
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}
