//! `ApiError`: every way a request can fail, mapped to a status and a simplejwt-style body
//! `{"detail", "code"}` by one exhaustive `match`. A 5xx body is generic; its detail goes
//! to the log only.

use crate::service::account::AccountError;
use crate::service::client::ClientServiceError;
use crate::service::login::{LoginError, ObtainError};
use crate::service::password::HashError;
use crate::service::token::TokenError;
use crate::service::user::UserServiceError;
use crate::store::StoreError;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_proto::{ErrorBody, ErrorCode};

/// A failed request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A token is invalid, expired or revoked (401).
    #[error("token is invalid or expired")]
    TokenNotValid,
    /// Wrong credentials or disabled account (401).
    #[error("no active account found with the given credentials")]
    NoActiveAccount,
    /// No credentials were sent (401).
    #[error("authentication credentials were not provided")]
    NotAuthenticated,
    /// Not allowed (403).
    #[error("you do not have permission to perform this action")]
    PermissionDenied,
    /// No such resource (404).
    #[error("not found")]
    NotFound,
    /// No such method on this path (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A unique value is taken (409).
    #[error("{0}: already exists")]
    Conflict(String),
    /// The body could not be parsed (400).
    #[error("{0}")]
    Parse(String),
    /// A required field is missing (400).
    #[error("{0}: this field is required")]
    Required(String),
    /// A field is invalid (400).
    #[error("{0}")]
    Invalid(String),
    /// The body is too large (413).
    #[error("request body too large (the limit is {0} bytes)")]
    PayloadTooLarge(usize),
    /// The body did not arrive in time (408); the connection is closed after the answer.
    #[error("the request body did not arrive within {0} seconds")]
    RequestTimeout(u64),
    /// Wrong content type (415).
    #[error(
        "unsupported media type: send application/json, application/x-www-form-urlencoded or multipart/form-data"
    )]
    UnsupportedMediaType,
    /// Too many failed logins (429 with `Retry-After`), as DRF's throttling words it.
    #[error("Request was throttled. Expected available in {0} seconds.")]
    Throttled(i64),
    /// Overloaded or a dependency is down (503).
    #[error("service temporarily unavailable, retry later")]
    Unavailable(String),
    /// A bug or an unexpected failure (500); the text is logged, never sent.
    #[error("internal server error")]
    Internal(String),
    /// The password was right; a second factor completes the sign-in (401, with the
    /// `mfa_token` and the methods it takes).
    #[error("a second factor is required: send a code to /auth/token/mfa/ with this mfa_token")]
    MfaRequired {
        /// The sign-in's ticket.
        token: String,
        /// `totp`, `recovery_code`.
        methods: Vec<&'static str>,
    },
    /// The second factor's code is wrong or was used (401).
    #[error("the code is not valid")]
    MfaInvalid,
    /// The `mfa_token` cannot be used any more (401).
    #[error("this mfa_token is invalid or expired: log in again")]
    MfaTokenInvalid,
    /// The account must enrol a second factor, in a browser (401).
    #[error("this account must set up two-step verification first: sign in on the account page")]
    MfaEnrollmentRequired,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, ErrorCode) {
        match self {
            Self::TokenNotValid => (StatusCode::UNAUTHORIZED, ErrorCode::TokenNotValid),
            Self::NoActiveAccount => (StatusCode::UNAUTHORIZED, ErrorCode::NoActiveAccount),
            Self::NotAuthenticated => (StatusCode::UNAUTHORIZED, ErrorCode::NotAuthenticated),
            Self::PermissionDenied => (StatusCode::FORBIDDEN, ErrorCode::PermissionDenied),
            Self::NotFound => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, ErrorCode::MethodNotAllowed),
            Self::Conflict(_) => (StatusCode::CONFLICT, ErrorCode::Conflict),
            Self::Parse(_) => (StatusCode::BAD_REQUEST, ErrorCode::ParseError),
            Self::Required(_) => (StatusCode::BAD_REQUEST, ErrorCode::Required),
            Self::Invalid(_) => (StatusCode::BAD_REQUEST, ErrorCode::Invalid),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge),
            Self::RequestTimeout(_) => (StatusCode::REQUEST_TIMEOUT, ErrorCode::RequestTimeout),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
            ),
            Self::Throttled(_) => (StatusCode::TOO_MANY_REQUESTS, ErrorCode::Throttled),
            Self::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TemporarilyUnavailable,
            ),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::ServerError),
            Self::MfaRequired { .. } => (StatusCode::UNAUTHORIZED, ErrorCode::MfaRequired),
            Self::MfaInvalid => (StatusCode::UNAUTHORIZED, ErrorCode::MfaInvalid),
            Self::MfaTokenInvalid => (StatusCode::UNAUTHORIZED, ErrorCode::MfaTokenInvalid),
            Self::MfaEnrollmentRequired => {
                (StatusCode::UNAUTHORIZED, ErrorCode::MfaEnrollmentRequired)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        match &self {
            Self::Internal(detail) => tracing::error!(%detail, "request failed"),
            Self::Unavailable(detail) => tracing::warn!(%detail, "request refused: unavailable"),
            _ => {}
        }
        let mut response = match &self {
            Self::MfaRequired { token, methods } => (
                status,
                // The mfa_token is a credential for five minutes: not for any cache.
                [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
                Json(serde_json::json!({
                    "detail": self.to_string(),
                    "code": code,
                    "mfa_token": token,
                    "methods": methods,
                })),
            )
                .into_response(),
            _ => (
                status,
                Json(ErrorBody {
                    detail: self.to_string(),
                    code,
                }),
            )
                .into_response(),
        };
        let headers = response.headers_mut();
        match code {
            ErrorCode::TokenNotValid => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(tessera_proto::oauth::BEARER_INVALID_TOKEN),
                );
            }
            _ if status == StatusCode::UNAUTHORIZED => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(tessera_proto::oauth::BEARER_CHALLENGE),
                );
            }
            ErrorCode::TemporarilyUnavailable => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            ErrorCode::RequestTimeout => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        if let Self::Throttled(seconds) = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}

impl From<StoreError> for ApiError {
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

impl From<HashError> for ApiError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => Self::Unavailable(e.to_string()),
            HashError::TooLong(max) => Self::Invalid(format!(
                "password: ensure this field has no more than {max} bytes"
            )),
            HashError::Internal(_) => Self::Internal(e.to_string()),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::NoActiveAccount => Self::NoActiveAccount,
            LoginError::Throttled(wait) => Self::Throttled(wait.seconds),
            LoginError::Hash(h) => h.into(),
            LoginError::Store(s) => s.into(),
        }
    }
}

impl From<ObtainError> for ApiError {
    fn from(e: ObtainError) -> Self {
        match e {
            ObtainError::Login(e) => e.into(),
            ObtainError::Token(e) => e.into(),
            ObtainError::MfaRequired { token, methods } => Self::MfaRequired { token, methods },
            ObtainError::MfaEnrollmentRequired => Self::MfaEnrollmentRequired,
            ObtainError::SecondFactor(e) => e.into(),
            ObtainError::Authn(e) => e.into(),
            ObtainError::Store(e) => e.into(),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::NotValid(_) => Self::TokenNotValid,
            TokenError::ServiceNotAllowed | TokenError::NumericClientId => Self::PermissionDenied,
            TokenError::Store(s) => s.into(),
            TokenError::Signer(s) if s.is_unavailable() => Self::Unavailable(s.to_string()),
            TokenError::Sign(_)
            | TokenError::Random(_)
            | TokenError::Signer(_)
            | TokenError::NoKeyFor(_) => Self::Internal(e.to_string()),
        }
    }
}

impl From<crate::service::user::ReadError> for ApiError {
    fn from(e: crate::service::user::ReadError) -> Self {
        use crate::service::user::ReadError;
        match e {
            ReadError::Token(t) => t.into(),
            ReadError::PermissionDenied => Self::PermissionDenied,
            ReadError::NotFound => Self::NotFound,
            ReadError::Store(s) => s.into(),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::SignupClosed | AccountError::NoMail => Self::NotFound,
            AccountError::Invalid(e) => Self::Invalid(e.to_string()),
            AccountError::BadLink
            | AccountError::WrongPassword
            | AccountError::NotTheSignupPassword
            | AccountError::Taken(_) => Self::Invalid(e.to_string()),
            AccountError::Login(l) => l.into(),
            AccountError::Throttled(wait) => Self::Throttled(wait.seconds),
            AccountError::Token(t) => t.into(),
            AccountError::Users(u) => u.into(),
            AccountError::Authn(a) => a.into(),
            AccountError::Store(s) => s.into(),
        }
    }
}

impl From<UserServiceError> for ApiError {
    fn from(e: UserServiceError) -> Self {
        match e {
            UserServiceError::Invalid(e) => Self::Invalid(e.to_string()),
            UserServiceError::UnsupportedHash => Self::Invalid(e.to_string()),
            UserServiceError::Conflict(field) => Self::Conflict(field.into()),
            UserServiceError::NotFound => Self::NotFound,
            UserServiceError::Hash(h) => h.into(),
            UserServiceError::Store(s) => s.into(),
        }
    }
}

impl From<ClientServiceError> for ApiError {
    fn from(e: ClientServiceError) -> Self {
        match e {
            ClientServiceError::Invalid(e) => Self::Invalid(e.to_string()),
            ClientServiceError::Exists(id) => Self::Conflict(format!("client {id}")),
            ClientServiceError::NotFound(_) => Self::NotFound,
            ClientServiceError::Store(s) => s.into(),
            ClientServiceError::Random(r) => Self::Internal(r.to_string()),
        }
    }
}

impl From<crate::service::authn::AuthnError> for ApiError {
    fn from(e: crate::service::authn::AuthnError) -> Self {
        use crate::service::authn::AuthnError;
        match e {
            AuthnError::AlreadyEnrolled => Self::Conflict("totp".into()),
            AuthnError::NothingToConfirm => Self::Invalid(e.to_string()),
            AuthnError::WrongCode => Self::Invalid(format!("code: {e}")),
            AuthnError::NotEnrolled => Self::NotFound,
            AuthnError::StepUpRequired => Self::PermissionDenied,
            AuthnError::PasskeysOff => Self::NotFound,
            AuthnError::Ceremony | AuthnError::Rejected | AuthnError::Cloned => {
                Self::Invalid(e.to_string())
            }
            AuthnError::Sealed | AuthnError::Random(_) => Self::Internal(e.to_string()),
            AuthnError::Store(s) => s.into(),
        }
    }
}

impl From<crate::service::authn::SecondFactorError> for ApiError {
    fn from(e: crate::service::authn::SecondFactorError) -> Self {
        use crate::service::authn::SecondFactorError;
        match e {
            SecondFactorError::Invalid => Self::MfaInvalid,
            SecondFactorError::Expired => Self::MfaTokenInvalid,
            SecondFactorError::Throttled(wait) => Self::Throttled(wait.seconds),
            SecondFactorError::Authn(a) => a.into(),
            SecondFactorError::Store(s) => s.into(),
        }
    }
}
