//! `Authorization: Bearer <token>`.

use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use tessera_proto::Secret;

/// The bearer token of the request. Missing → 401 `not_authenticated`.
#[derive(Debug)]
pub struct Bearer(pub Secret);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::NotAuthenticated)?;
        let (scheme, token) = value
            .trim()
            .split_once(' ')
            .ok_or(ApiError::NotAuthenticated)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(ApiError::NotAuthenticated);
        }
        Ok(Self(Secret::new(token.trim())))
    }
}
