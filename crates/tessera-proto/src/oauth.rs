//! OAuth 2.0 wire types: the token endpoint (RFC 6749), introspection (RFC 7662),
//! revocation (RFC 7009) and the error body.

use crate::secret::Secret;
use serde::{Deserialize, Serialize};

/// `POST /oauth/token` (form-encoded; every field optional here, each grant checks its own).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct TokenRequest {
    /// `authorization_code`, `refresh_token`, `client_credentials` or `password`.
    #[serde(default)]
    pub grant_type: Option<String>,
    /// Space-separated scopes asked for.
    #[serde(default)]
    pub scope: Option<String>,
    /// For `refresh_token`.
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    /// For `password`.
    #[serde(default)]
    pub username: Option<String>,
    /// For `password`.
    #[serde(default)]
    pub password: Option<Secret>,
    /// For `authorization_code`.
    #[serde(default)]
    pub code: Option<Secret>,
    /// For `authorization_code`.
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// For `authorization_code` (PKCE).
    #[serde(default)]
    pub code_verifier: Option<Secret>,
    /// `client_secret_post`, or a public client's id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// `client_secret_post`.
    #[serde(default)]
    pub client_secret: Option<Secret>,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// A refresh token, for grants that give one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The scopes granted, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The ID token, for the `openid` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// `POST /oauth/introspect` and `POST /oauth/revoke`: the token and an optional hint.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct TokenHintRequest {
    /// The token.
    #[serde(default)]
    pub token: Option<Secret>,
    /// `access_token` or `refresh_token`: where to look first.
    #[serde(default)]
    pub token_type_hint: Option<String>,
    /// `client_secret_post`.
    #[serde(default)]
    pub client_id: Option<String>,
    /// `client_secret_post`.
    #[serde(default)]
    pub client_secret: Option<Secret>,
}

/// An introspection answer (RFC 7662 §2.2); only `active` when the token is not.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Introspection {
    /// Whether the token is valid now.
    pub active: bool,
    /// Scopes, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The user's username, for user tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `access_token` or `refresh_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issue time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience: one or several (RFC 7662 §2.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<IntrospectedAudience>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// The `aud` of an introspected token: a string, or a list of strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntrospectedAudience {
    /// One audience.
    One(String),
    /// Several.
    Many(Vec<String>),
}

/// RFC 6749 §5.2 error codes (and RFC 7009's `unsupported_token_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    /// Malformed request.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The grant (code, refresh token, credentials) is invalid.
    InvalidGrant,
    /// The client may not use this grant.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// The scope is invalid or wider than allowed.
    InvalidScope,
    /// A request object (RFC 9101 §6.3; pushed, RFC 9126 §2.3) that does not verify.
    InvalidRequestObject,
    /// The server failed.
    ServerError,
    /// The server is overloaded or its database unavailable; retry later.
    TemporarilyUnavailable,
}

/// The error body of the OAuth endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct OAuthErrorBody {
    /// The code.
    pub error: OAuthErrorCode,
    /// A human-readable explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// The realm of every `WWW-Authenticate` challenge Tessera sends (Bearer on the API and
/// UserInfo, Basic on the OAuth endpoints): `api`, djangorestframework-simplejwt's, which
/// Django clients already see. One realm: the same credentials are asked for everywhere.
pub const REALM: &str = "api";

/// `WWW-Authenticate` for a request without usable credentials (RFC 6750 §3).
pub const BEARER_CHALLENGE: &str = r#"Bearer realm="api""#;

/// `WWW-Authenticate` for a token that is not valid (RFC 6750 §3.1 `invalid_token`).
pub const BEARER_INVALID_TOKEN: &str = r#"Bearer realm="api", error="invalid_token""#;

/// `WWW-Authenticate` for a client that failed to authenticate (RFC 6749 §5.2, RFC 7617).
pub const BASIC_CHALLENGE: &str = r#"Basic realm="api", charset="UTF-8""#;

/// `text` in the characters RFC 6749 allows in `error_description` (§5.2, A.8: printable
/// ASCII but `"` and the backslash): a double quote becomes `'`, a backslash `/`, anything else
/// outside the set `?`. Every OAuth error answer, redirect and `WWW-Authenticate`
/// challenge goes through it.
pub fn error_description(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

impl OAuthErrorBody {
    /// An error body; the description kept to the characters RFC 6749 allows
    /// ([`error_description`]).
    pub fn new(error: OAuthErrorCode, description: &str) -> Self {
        Self {
            error,
            error_description: Some(error_description(description)),
        }
    }
}

/// The client id and secret of an `Authorization: Basic …` header value (RFC 6749
/// §2.3.1: each form-encoded, then joined by `:` and base64-encoded). `None` for any
/// other scheme or a malformed value.
pub fn parse_basic(header: &str) -> Option<(String, String)> {
    let (id, secret) = parse_basic_plain(header)?;
    Some((form_decode(&id)?, form_decode(&secret)?))
}

/// A user's name and password of an `Authorization: Basic …` header value as RFC 7617
/// has them (no form-encoding; the name ends at the first `:`). `None` for any other
/// scheme or a malformed value.
pub fn parse_basic_plain(header: &str) -> Option<(String, String)> {
    use base64::Engine as _;
    let (scheme, encoded) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// `application/x-www-form-urlencoded` decoding of one component.
fn form_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

#[cfg(test)]
mod realm_tests {
    use super::{BASIC_CHALLENGE, BEARER_CHALLENGE, BEARER_INVALID_TOKEN, REALM};

    #[test]
    fn every_challenge_names_the_one_realm() {
        let realm = format!(r#"realm="{REALM}""#);
        for challenge in [BEARER_CHALLENGE, BEARER_INVALID_TOKEN, BASIC_CHALLENGE] {
            assert!(challenge.contains(&realm), "{challenge}");
        }
    }
}
