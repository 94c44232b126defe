//! The OAuth 2.0 endpoints: `POST /oauth/token`, `POST /oauth/introspect`,
//! `POST /oauth/revoke`. Client authentication by `client_secret_basic` or
//! `client_secret_post` (never both); errors as RFC 6749 `{"error", "error_description"}`.

use crate::error::ApiError;
use crate::http::body::FormBody;
use crate::http::client_ip::ClientIp;
use crate::service::client::ClientCredentials;
use crate::service::oauth::{self, OAuthError};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;
use tessera_proto::oauth::{TokenHintRequest, TokenRequest};
use tessera_proto::{OAuthErrorBody, Secret};

/// `/oauth/token`, `/oauth/introspect`, `/oauth/revoke`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/oauth/introspect", post(introspect))
        .route("/oauth/revoke", post(revoke))
        .route("/oauth/par", post(par))
}

/// `/oauth/par`'s body: an authorization request and, for `client_secret_post`, the
/// secret (its `client_id` is both the request's and the authenticating client's).
#[derive(Debug, serde::Deserialize)]
struct PushRequest {
    #[serde(flatten)]
    params: crate::service::sso::authorize::AuthorizeParams,
    #[serde(default)]
    client_secret: Option<Secret>,
}

impl WithClient for PushRequest {
    fn take_client(&mut self) -> (Option<String>, Option<Secret>) {
        (self.params.client_id.clone(), self.client_secret.take())
    }
}

/// `POST /oauth/par` (RFC 9126): 201 with `request_uri` and `expires_in`.
async fn par(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<FormBody<PushRequest>, ApiError>,
) -> Result<Response, OAuthError> {
    let (req, creds) = read(&headers, body)?;
    let pushed = oauth::push(&state, &creds, req.params).await?;
    Ok(no_store(
        (axum::http::StatusCode::CREATED, Json(pushed)).into_response(),
    ))
}

async fn token(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Result<FormBody<TokenRequest>, ApiError>,
) -> Result<Response, OAuthError> {
    let (req, creds) = read(&headers, body)?;
    let issued = oauth::token(&state, &creds, req, ip).await?;
    Ok(no_store(Json(issued).into_response()))
}

async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<FormBody<TokenHintRequest>, ApiError>,
) -> Result<Response, OAuthError> {
    let (req, creds) = read(&headers, body)?;
    let answer = oauth::introspect(&state, &creds, req).await?;
    Ok(no_store(Json(answer).into_response()))
}

async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<FormBody<TokenHintRequest>, ApiError>,
) -> Result<Response, OAuthError> {
    let (req, creds) = read(&headers, body)?;
    oauth::revoke(&state, &creds, req).await?;
    Ok(no_store(Json(json!({})).into_response()))
}

/// A request body that may carry `client_secret_post` credentials.
trait WithClient {
    /// Takes `client_id` and `client_secret` out of the body.
    fn take_client(&mut self) -> (Option<String>, Option<Secret>);
}

impl WithClient for TokenRequest {
    fn take_client(&mut self) -> (Option<String>, Option<Secret>) {
        (self.client_id.take(), self.client_secret.take())
    }
}

impl WithClient for TokenHintRequest {
    fn take_client(&mut self) -> (Option<String>, Option<Secret>) {
        (self.client_id.take(), self.client_secret.take())
    }
}

/// The parsed body and the client's credentials from it or the `Authorization` header.
fn read<T: WithClient>(
    headers: &HeaderMap,
    body: Result<FormBody<T>, ApiError>,
) -> Result<(T, ClientCredentials), OAuthError> {
    let FormBody(mut req) = body.map_err(invalid_request)?;
    let (id, secret) = req.take_client();
    let creds = credentials(headers, id, secret)?;
    Ok((req, creds))
}

fn invalid_request(e: ApiError) -> OAuthError {
    match e {
        ApiError::PayloadTooLarge(limit) => OAuthError::TooLarge(limit),
        other => OAuthError::InvalidRequest(other.to_string()),
    }
}

/// The client's credentials: HTTP Basic (RFC 6749 §2.3.1: id and secret form-encoded,
/// then base64) or `client_id`/`client_secret` in the body, not both; a public client
/// sends only its `client_id`.
fn credentials(
    headers: &HeaderMap,
    body_id: Option<String>,
    body_secret: Option<Secret>,
) -> Result<ClientCredentials, OAuthError> {
    let basic = match headers.get(header::AUTHORIZATION) {
        Some(value) => Some(parse_basic(value).ok_or(OAuthError::InvalidClient)?),
        None => None,
    };
    match (basic, body_id, body_secret) {
        (Some(_), _, Some(_)) => Err(OAuthError::InvalidRequest(
            "use one client authentication method, not two".into(),
        )),
        (Some((id, _)), Some(other), None) if other != id => Err(OAuthError::InvalidRequest(
            "client_id differs from the authenticated client".into(),
        )),
        (Some((id, secret)), _, None) => Ok(ClientCredentials {
            id,
            secret: Some(Secret::new(secret)),
        }),
        (None, Some(id), secret) => Ok(ClientCredentials { id, secret }),
        (None, None, _) => Err(OAuthError::InvalidClient),
    }
}

fn parse_basic(value: &HeaderValue) -> Option<(String, String)> {
    tessera_proto::oauth::parse_basic(value.to_str().ok()?)
}

/// RFC 6749 §5.1: token responses (and errors) must not be cached. Every answer that
/// carries a token goes through it (the Django API's too).
pub(crate) fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::InvalidClient => StatusCode::UNAUTHORIZED,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::InvalidRequest(_)
            | Self::InvalidGrant(_)
            | Self::UnauthorizedClient(_)
            | Self::UnsupportedGrantType(_)
            | Self::InvalidScope(_)
            | Self::InvalidRequestObject(_) => StatusCode::BAD_REQUEST,
        };
        let description = match &self {
            Self::Unavailable(detail) | Self::Internal(detail) => {
                tracing::error!(error = %detail, "OAuth request failed");
                self.to_string()
            }
            other => other.to_string(),
        };
        let body = OAuthErrorBody::new(self.code(), &description);
        let mut response = no_store((status, Json(body)).into_response());
        let headers = response.headers_mut();
        match self {
            Self::InvalidClient => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(tessera_proto::oauth::BASIC_CHALLENGE),
                );
            }
            Self::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            Self::Throttled(seconds) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
            }
            Self::InvalidRequest(_)
            | Self::InvalidGrant(_)
            | Self::UnauthorizedClient(_)
            | Self::UnsupportedGrantType(_)
            | Self::InvalidScope(_)
            | Self::InvalidRequestObject(_)
            | Self::TooLarge(_)
            | Self::Internal(_) => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    fn basic(raw: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode(raw));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("")),
        );
        h
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let creds = credentials(&basic("svc%3Aa:s%2Bc+r%25t"), None, None).ok();
        let creds = creds.map(|c| (c.id, c.secret.map(|s| s.expose().to_owned())));
        assert_eq!(creds, Some(("svc:a".into(), Some("s+c r%t".into()))));
    }

    #[test]
    fn two_methods_or_none_are_refused() {
        let both = credentials(&basic("a:b"), None, Some(Secret::new("b")));
        assert!(matches!(both, Err(OAuthError::InvalidRequest(_))));
        let none = credentials(&HeaderMap::new(), None, None);
        assert!(matches!(none, Err(OAuthError::InvalidClient)));
        let mut bearer = HeaderMap::new();
        bearer.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert!(matches!(
            credentials(&bearer, None, None),
            Err(OAuthError::InvalidClient)
        ));
        let public = credentials(&HeaderMap::new(), Some("spa".into()), None).ok();
        assert_eq!(
            public.map(|c| (c.id, c.secret.is_none())),
            Some(("spa".into(), true))
        );
    }
}
