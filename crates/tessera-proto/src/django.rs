//! The djangorestframework-simplejwt / drf_remotejwt compatible API.

use crate::secret::Secret;
use serde::{Deserialize, Serialize};

/// `POST /auth/token/`: a username or an e-mail, and a password.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ObtainRequest {
    /// Username (or an e-mail address, also accepted here).
    #[serde(default)]
    pub username: Option<String>,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Password.
    pub password: Secret,
}

/// `POST /auth/token/refresh/` (`refresh`) and `POST /auth/refresh/` (`refresh_token`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RefreshRequest {
    /// The refresh token (simplejwt's field name).
    #[serde(default)]
    pub refresh: Option<Secret>,
    /// The refresh token (the field name of `/auth/refresh/`).
    #[serde(default)]
    pub refresh_token: Option<Secret>,
}

impl RefreshRequest {
    /// Whichever of the two fields was sent.
    pub fn into_token(self) -> Option<Secret> {
        self.refresh.or(self.refresh_token)
    }
}

/// `POST /auth/token/verify/`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct VerifyRequest {
    /// The token to check.
    pub token: Secret,
}

/// `POST /auth/token/blacklist/`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BlacklistRequest {
    /// The refresh token whose family ends.
    pub refresh: Secret,
}

/// `{"access", "refresh"}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TokenPair {
    /// The access token.
    pub access: String,
    /// The refresh token.
    pub refresh: String,
}

/// simplejwt's error body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ErrorBody {
    /// Human-readable explanation.
    pub detail: String,
    /// Machine-readable code.
    pub code: ErrorCode,
}

/// The `code` of an [`ErrorBody`], as Django REST framework and simplejwt spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// A token is invalid, expired or revoked (401).
    TokenNotValid,
    /// Wrong credentials, or the account is disabled (401).
    NoActiveAccount,
    /// No credentials were given (401).
    NotAuthenticated,
    /// Authenticated, but not allowed (403).
    PermissionDenied,
    /// No such resource (404).
    NotFound,
    /// The body could not be parsed (400).
    ParseError,
    /// A required field is missing (400).
    Required,
    /// A field has an invalid value (400).
    Invalid,
    /// The body is larger than allowed (413).
    PayloadTooLarge,
    /// The content type is not accepted (415).
    UnsupportedMediaType,
    /// The body did not arrive within the body-read timeout (408).
    RequestTimeout,
    /// The method is not allowed on this path (405).
    MethodNotAllowed,
    /// The resource exists already, e.g. a taken username (409).
    Conflict,
    /// Too many failed logins: wait `Retry-After` seconds (429, as DRF's throttling).
    Throttled,
    /// The service is overloaded or a dependency is down (503).
    TemporarilyUnavailable,
    /// Something failed on the server (500); details are in the server's log.
    ServerError,
    /// The password was right and the account has a second factor: complete the sign-in
    /// at `/auth/token/mfa/` with the answer's `mfa_token` (401).
    MfaRequired,
    /// The second factor's code is wrong or was used before (401).
    MfaInvalid,
    /// The `mfa_token` is unknown, expired, spent or out of attempts: log in again (401).
    MfaTokenInvalid,
    /// The account must enrol a second factor first, in a browser (401).
    MfaEnrollmentRequired,
}
