//! Request bodies the way Django REST framework parses them: JSON, URL-encoded forms and
//! multipart forms (`curl --form`), all into the same typed request.

use crate::error::ApiError;
use crate::http::MAX_BODY_BYTES;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A request body of type `T`, from any of the three content types.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let fields = match content_type.as_str() {
            "application/json" => {
                let bytes = read_bytes(req, state).await?;
                serde_json::from_slice::<Value>(&bytes)
                    .map_err(|e| ApiError::Parse(format!("JSON parse error: {e}")))?
            }
            "application/x-www-form-urlencoded" => {
                let bytes = read_bytes(req, state).await?;
                let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
                    .map_err(|e| ApiError::Parse(format!("form parse error: {e}")))?;
                object(pairs)
            }
            "multipart/form-data" => read_multipart(req, state).await?,
            _ => return Err(ApiError::UnsupportedMediaType),
        };
        if !fields.is_object() {
            return Err(ApiError::Parse("expected a JSON object".into()));
        }
        serde_json::from_value(fields)
            .map(Body)
            .map_err(field_error)
    }
}

/// A request body of the OAuth endpoints: `application/x-www-form-urlencoded` only
/// (RFC 6749 §3.2, §4.1.3, §4.3.2 …; RFC 7662 §2.1; RFC 7009 §2.1), every parameter at most
/// once (RFC 6749 §3.1, §3.2: "Request and response parameters MUST NOT be included more
/// than once"). A JSON or multipart body, or a repeated parameter, is refused, never read
/// as the Django API's bodies are.
#[derive(Debug)]
pub struct FormBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for FormBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_form(req.headers()) {
            return Err(ApiError::Parse(
                "the body must be application/x-www-form-urlencoded".into(),
            ));
        }
        let bytes = read_bytes(req, state).await?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| ApiError::Parse(format!("form parse error: {e}")))?;
        let mut seen = std::collections::HashSet::new();
        if let Some((name, _)) = pairs.iter().find(|(name, _)| !seen.insert(name.as_str())) {
            let name: String = name.chars().take(40).collect();
            return Err(ApiError::Parse(format!(
                "parameter {name} is sent more than once"
            )));
        }
        serde_json::from_value(object(pairs))
            .map(FormBody)
            .map_err(field_error)
    }
}

/// Whether the request says its body is `application/x-www-form-urlencoded` (parameters
/// such as `charset` aside).
pub fn is_form(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Reads the request body whole (up to one byte past [`MAX_BODY_BYTES`], so the
/// extractors still see it is too large and answer 413) within `body_read_timeout`, before
/// any handler runs: a body that has not arrived by then is answered 408 and the
/// connection closed, on every surface alike. Requests without a body pass untouched.
pub async fn body_deadline(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    use http_body_util::BodyExt as _;
    let empty = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes() == b"0")
        || (!request.headers().contains_key(header::CONTENT_LENGTH)
            && !request.headers().contains_key(header::TRANSFER_ENCODING));
    if empty {
        return next.run(request).await;
    }
    let limit = state.settings.body_read_timeout;
    let (parts, mut body) = request.into_parts();
    let read = async {
        let mut buf = bytes::BytesMut::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                buf.extend_from_slice(&data);
                if buf.len() > MAX_BODY_BYTES {
                    break;
                }
            }
        }
        Ok::<_, axum::Error>(buf.freeze())
    };
    match tokio::time::timeout(limit, read).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Ok(Err(_)) => ApiError::Parse("the request body could not be read".into()).into_response(),
        Err(_) => {
            tracing::info!(path = %parts.uri.path(), "request body not received in time");
            if parts.uri.path().starts_with("/oauth/") {
                let body = tessera_proto::oauth::OAuthErrorBody::new(
                    tessera_proto::oauth::OAuthErrorCode::InvalidRequest,
                    "the request body did not arrive in time",
                );
                (
                    StatusCode::REQUEST_TIMEOUT,
                    [
                        (header::CONNECTION, "close"),
                        (header::CACHE_CONTROL, "no-store"),
                    ],
                    axum::Json(body),
                )
                    .into_response()
            } else {
                ApiError::RequestTimeout(limit.as_secs()).into_response()
            }
        }
    }
}

async fn read_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|rejection| match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(MAX_BODY_BYTES),
            _ => ApiError::Parse(rejection.body_text()),
        })
}

async fn read_multipart<S: Send + Sync>(req: Request, state: &S) -> Result<Value, ApiError> {
    let mut multipart = Multipart::from_request(req, state)
        .await
        .map_err(|r| ApiError::Parse(r.body_text()))?;
    let mut pairs = Vec::new();
    loop {
        let field = multipart.next_field().await.map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(MAX_BODY_BYTES),
            _ => ApiError::Parse(format!("multipart parse error: {}", e.body_text())),
        })?;
        let Some(field) = field else { break };
        let name = field.name().unwrap_or_default().to_owned();
        let value = field.text().await.map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(MAX_BODY_BYTES),
            _ => ApiError::Parse(format!("multipart parse error: {}", e.body_text())),
        })?;
        pairs.push((name, value));
    }
    Ok(object(pairs))
}

/// Form fields as a JSON object of strings (the last value of a repeated field wins).
fn object(pairs: Vec<(String, String)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect::<Map<_, _>>(),
    )
}

/// Turns serde's message into DRF's two codes: `required` or `invalid`.
fn field_error(e: serde_json::Error) -> ApiError {
    let msg = e.to_string();
    match msg
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        Some(field) => ApiError::Required(field.to_owned()),
        None => ApiError::Invalid(msg),
    }
}
