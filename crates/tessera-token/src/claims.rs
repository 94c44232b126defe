//! Claims of the tokens Tessera issues.

use crate::error::RandomError;
use serde::{Deserialize, Serialize};

/// Which kind of token this is (`token_type`, as djangorestframework-simplejwt writes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    /// A short-lived bearer token for resource servers.
    Access,
    /// A long-lived token only Tessera accepts, to obtain new access tokens.
    Refresh,
}

/// The `aud` claim: one audience or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience, serialised as a string.
    One(String),
    /// Several audiences, serialised as an array.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `aud` names this audience.
    pub fn contains(&self, aud: &str) -> bool {
        match self {
            Self::One(a) => a == aud,
            Self::Many(all) => all.iter().any(|a| a == aud),
        }
    }
}

/// Claims of an access token (RFC 9068 plus simplejwt's `token_type` and `user_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer URL.
    pub iss: String,
    /// Subject: the user id as a string (or a client id for client credentials).
    pub sub: String,
    /// Audience.
    pub aud: Audience,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Unique token id.
    pub jti: String,
    /// Always [`TokenType::Access`].
    pub token_type: TokenType,
    /// The user's integer id (simplejwt's `USER_ID_CLAIM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// The OAuth client the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Space-separated scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The user's profile version (hex): changes whenever the user object a resource
    /// service would copy changes, so a shadow copy knows when to refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uv: Option<String>,
    /// The user's roles (when the authority is configured to carry them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// The user's groups (when the authority is configured to carry them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Django's staff flag (when the authority is configured to carry it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_staff: Option<bool>,
    /// Django's superuser flag (when the authority is configured to carry it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_superuser: Option<bool>,
    /// The user's session epoch when the token was issued: the authority counts every
    /// "end every session of this user" and refuses a token of an earlier epoch. Absent
    /// (0) until the user's sessions were first ended.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sep: i64,
    /// When the user authenticated (Unix seconds), for resource services that require a
    /// recent sign-in (RFC 9470 `max_age`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The authentication level reached (`aal1`, `aal2`): RFC 9470's `acr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The authentication methods used (RFC 8176 values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

/// Whether an epoch is the first one (then it is not written).
#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
pub(crate) fn is_zero(v: &i64) -> bool {
    *v == 0
}

impl AccessClaims {
    /// Whether the token says its user has `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Whether the token says its user is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// Whether the token carries `scope` among its space-separated scopes.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope
            .as_deref()
            .is_some_and(|s| s.split_whitespace().any(|x| x == scope))
    }
}

/// Claims of a refresh token. Its validity is decided by server state; the MAC only
/// proves that Tessera made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshClaims {
    /// Issuer URL.
    pub iss: String,
    /// Subject: the user id as a string.
    pub sub: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Unique token id (the server-side row).
    pub jti: String,
    /// The rotation family this token belongs to.
    pub fam: String,
    /// Always [`TokenType::Refresh`].
    pub token_type: TokenType,
    /// The user's integer id.
    pub user_id: i64,
    /// The OAuth client the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Space-separated scopes granted; a refresh may only narrow them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The user's session epoch when the token was issued (see [`AccessClaims::sep`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sep: i64,
    /// When the user authenticated, for a family that began with a browser sign-in: an
    /// ID token issued on refresh repeats it (OpenID Connect Core §12.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The browser session the family began in (`sid` of its ID tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The sign-in's authentication level, repeated in the tokens it is exchanged for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The sign-in's authentication methods, likewise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

/// A new random token id: 32 lowercase hex characters (128 bits).
///
/// Hex keeps every claim in the characters that legacy base64 decoders accept.
///
/// # Errors
/// [`RandomError`] if the system random generator fails.
pub fn new_jti() -> Result<String, RandomError> {
    random_hex::<16>()
}

/// `N` random bytes as lowercase hex.
///
/// # Errors
/// [`RandomError`] if the system random generator fails.
pub fn random_hex<const N: usize>() -> Result<String, RandomError> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| RandomError)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
