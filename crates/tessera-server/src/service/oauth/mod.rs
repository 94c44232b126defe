//! The OAuth 2.0 endpoints' rules: the token endpoint's grants (RFC 6749), introspection
//! (RFC 7662), revocation (RFC 7009) and pushed authorization requests (RFC 9126). Every
//! function authenticates the client first.

mod code;
mod grants;
mod introspection;
mod par;

pub use code::identity;
pub use grants::token;
pub use introspection::{introspect, revoke};
pub use par::{MAX_PUSHED_BYTES, MAX_PUSHED_PER_CLIENT, Pushed, push};

use crate::service::client::ClientAuthError;
use crate::service::login::LoginError;
use crate::service::password::HashError;
use crate::service::token::TokenError;
use crate::store::StoreError;
use tessera_proto::OAuthErrorCode;

/// An OAuth request failed; each case is one RFC 6749 error code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// Malformed or missing parameter.
    #[error("{0}")]
    InvalidRequest(String),
    /// Client authentication failed (401 with `WWW-Authenticate`).
    #[error("client authentication failed")]
    InvalidClient,
    /// The credentials, code or refresh token are invalid, expired, revoked or another
    /// client's.
    #[error("{0}")]
    InvalidGrant(&'static str),
    /// The client may not use this grant, or revoke this token.
    #[error("{0}")]
    UnauthorizedClient(&'static str),
    /// Unknown or unsupported grant type.
    #[error("unsupported grant type {0:?}")]
    UnsupportedGrantType(String),
    /// A scope the client may not ask for.
    #[error("scope {0:?} is not allowed for this client")]
    InvalidScope(String),
    /// A pushed request object that does not verify (RFC 9126 §2.3).
    #[error("{0}")]
    InvalidRequestObject(String),
    /// The request body is over the limit (413).
    #[error("the request body is over {0} bytes")]
    TooLarge(usize),
    /// Too many failed logins (429 with `Retry-After`).
    #[error("too many failed logins; retry in {0} seconds")]
    Throttled(i64),
    /// Overloaded, or the database is unavailable (503).
    #[error("temporarily unavailable, retry later")]
    Unavailable(String),
    /// A failure of ours (500); the text is logged, never sent.
    #[error("internal server error")]
    Internal(String),
}

impl OAuthError {
    /// The RFC code.
    pub fn code(&self) -> OAuthErrorCode {
        match self {
            Self::InvalidRequest(_) | Self::TooLarge(_) => OAuthErrorCode::InvalidRequest,
            Self::InvalidClient => OAuthErrorCode::InvalidClient,
            Self::InvalidGrant(_) => OAuthErrorCode::InvalidGrant,
            Self::UnauthorizedClient(_) => OAuthErrorCode::UnauthorizedClient,
            Self::UnsupportedGrantType(_) => OAuthErrorCode::UnsupportedGrantType,
            Self::InvalidScope(_) => OAuthErrorCode::InvalidScope,
            Self::InvalidRequestObject(_) => OAuthErrorCode::InvalidRequestObject,
            Self::Unavailable(_) | Self::Throttled(_) => OAuthErrorCode::TemporarilyUnavailable,
            Self::Internal(_) => OAuthErrorCode::ServerError,
        }
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Self::Unavailable(e.to_string()),
            StoreError::Conflict(_)
            | StoreError::Database(_)
            | StoreError::Migrate(_)
            | StoreError::Corrupt(_)
            | StoreError::NotEmpty => Self::Internal(e.to_string()),
        }
    }
}

impl From<ClientAuthError> for OAuthError {
    fn from(e: ClientAuthError) -> Self {
        match e {
            ClientAuthError::Failed => Self::InvalidClient,
            ClientAuthError::Store(s) => s.into(),
        }
    }
}

impl From<TokenError> for OAuthError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::NotValid(why) => Self::InvalidGrant(why),
            TokenError::ServiceNotAllowed => Self::InvalidGrant("the user may not use this client"),
            TokenError::NumericClientId => Self::UnauthorizedClient(
                "client ids of digits only get no service token; register the client again",
            ),
            TokenError::Store(s) => s.into(),
            TokenError::Signer(s) if s.is_unavailable() => Self::Unavailable(s.to_string()),
            TokenError::Sign(_)
            | TokenError::Random(_)
            | TokenError::Signer(_)
            | TokenError::NoKeyFor(_) => Self::Internal(e.to_string()),
        }
    }
}

impl From<HashError> for OAuthError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => Self::Unavailable(e.to_string()),
            HashError::TooLong(_) => Self::InvalidGrant("invalid resource owner credentials"),
            HashError::Internal(_) => Self::Internal(e.to_string()),
        }
    }
}

impl From<LoginError> for OAuthError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::NoActiveAccount => Self::InvalidGrant("invalid resource owner credentials"),
            LoginError::Throttled(wait) => Self::Throttled(wait.seconds),
            LoginError::Hash(h) => h.into(),
            LoginError::Store(s) => s.into(),
        }
    }
}

/// `value`, or `invalid_request` naming the missing `field`.
pub(super) fn required<T>(value: Option<T>, field: &str) -> Result<T, OAuthError> {
    value.ok_or_else(|| OAuthError::InvalidRequest(format!("{field}: this field is required")))
}

/// The scope to answer with: none when empty.
pub(super) fn scope_of(scope: &str) -> Option<String> {
    (!scope.is_empty()).then(|| scope.to_owned())
}
