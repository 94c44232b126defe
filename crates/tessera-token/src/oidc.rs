//! OpenID Connect ID tokens: claims and `at_hash`.

use crate::algorithm::Algorithm;
use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// Claims of an ID token (OpenID Connect Core §2), with standard claims by scope.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IdClaims {
    /// Issuer.
    pub iss: String,
    /// Subject: the user id.
    pub sub: String,
    /// The client id.
    pub aud: String,
    /// Expiry.
    pub exp: i64,
    /// Issue time.
    pub iat: i64,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The `nonce` of the authorization request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Half of the access token's hash (§3.1.3.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// The SSO session id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Authorized party (the client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// `profile` scope: the full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `profile`: given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// `profile`: family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// `profile`: the username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// `email` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `email` scope: whether the address was verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// The authentication level reached (`acr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The authentication methods used (`amr`, RFC 8176).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

/// `at_hash` (and `c_hash`): the left half of the hash of the token's ASCII, base64url,
/// with the hash of the signing algorithm (SHA-256 for RS256/PS256/ES256, SHA-512 for
/// EdDSA with Ed25519, as OpenID Connect and its EdDSA profile say).
pub fn half_hash(alg: Algorithm, token: &str) -> String {
    let algorithm = match alg {
        Algorithm::EdDSA => &digest::SHA512,
        _ => &digest::SHA256,
    };
    let hash = digest::digest(algorithm, token.as_bytes());
    let bytes = hash.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_openid_connect_example() {
        // OpenID Connect Core, appendix A.3/A.4 (RS256): access token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
        assert_eq!(
            half_hash(
                Algorithm::RS256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(half_hash(Algorithm::EdDSA, "x").len(), 43);
    }
}

/// The `typ` of a logout token (Back-Channel Logout 1.0 §2.4, explicit typing).
pub const LOGOUT_TYP: &str = "logout+jwt";

/// The event a logout token carries (Back-Channel Logout 1.0 §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Claims of a logout token (OpenID Connect Back-Channel Logout 1.0 §2.4): who ended which
/// session, for which client. It never carries a `nonce`, so it cannot pass for an ID
/// token, and an ID token (no `events`) cannot pass for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogoutClaims {
    /// Issuer.
    pub iss: String,
    /// The client it is for (one client id, or several).
    pub aud: crate::claims::Audience,
    /// Issued at.
    pub iat: i64,
    /// Expiry (a logout token is good for two minutes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Unique id, for replay detection.
    pub jti: String,
    /// The user whose session ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The session that ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// `{"http://schemas.openid.net/event/backchannel-logout": {}}`.
    pub events: serde_json::Map<String, serde_json::Value>,
    /// Never sent; read only to refuse a token that has one (§2.6 step 5).
    #[serde(default, skip_serializing)]
    pub nonce: Option<serde_json::Value>,
}

impl LogoutClaims {
    /// A logout token's claims for `client_id` about `sub` and `sid`, issued at `now`.
    pub fn new(
        iss: String,
        client_id: String,
        sub: String,
        sid: Option<String>,
        now: i64,
        jti: String,
    ) -> Self {
        let mut events = serde_json::Map::new();
        events.insert(
            BACKCHANNEL_LOGOUT_EVENT.to_owned(),
            serde_json::Value::Object(serde_json::Map::new()),
        );
        Self {
            iss,
            aud: crate::claims::Audience::One(client_id),
            iat: now,
            exp: Some(now.saturating_add(120)),
            jti,
            sub: Some(sub),
            sid,
            events,
            nonce: None,
        }
    }
}
