//! OAuth client registrations: ids, grant types, scopes, redirect URIs.

use std::fmt;
use tessera_token::{Algorithm, KeySet};
use url::Url;

/// A client registration value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The id is empty, too long, has other characters than letters, digits and `._-`,
    /// or does not start with a letter (a client-credentials token's `sub` is its client
    /// id, and a user's `sub` is their integer id: the two must never collide, RFC 9068 §5,
    /// not even for parsers that read `1_0`, `1e3` or `1.0` as numbers).
    #[error("client id: 1 to 64 characters: letters, digits and ._- only, starting with a letter")]
    Id,
    /// Not a grant type Tessera supports.
    #[error(
        "grant: unknown grant type {0:?} (authorization_code, refresh_token, client_credentials, password)"
    )]
    Grant(String),
    /// A scope with characters RFC 6749 does not allow.
    #[error("scope: {0:?} is not a valid scope token")]
    Scope(String),
    /// A redirect URI that is not absolute, carries a fragment, or uses plain http off
    /// the loopback interface.
    #[error(
        "redirect URI {0:?}: must be absolute https (http only on localhost), without a fragment"
    )]
    RedirectUri(String),
    /// A back- or front-channel logout URI that is not absolute https (http only on the
    /// loopback interface), or carries a fragment.
    #[error(
        "logout URI {0:?}: must be absolute https (http only on localhost), without a fragment"
    )]
    LogoutUri(String),
    /// Request-object keys (`jwks`, `jwks_uri`), algorithm or requirement that cannot
    /// work.
    #[error("request objects: {0}")]
    RequestObjects(String),
    /// An audience that is empty, too long or has spaces or control characters.
    #[error("audience: {0:?} must be 1 to 256 printable characters without spaces")]
    Audience(String),
    /// A combination that cannot work.
    #[error("{0}")]
    Invalid(&'static str),
}

/// An OAuth grant type (RFC 6749 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// Authorization code (with PKCE).
    AuthorizationCode,
    /// Refresh token rotation.
    RefreshToken,
    /// A service's own tokens.
    ClientCredentials,
    /// Resource owner password (legacy; per client).
    Password,
}

impl GrantType {
    /// Every grant type, in the order discovery lists them.
    pub const ALL: [Self; 4] = [
        Self::AuthorizationCode,
        Self::RefreshToken,
        Self::ClientCredentials,
        Self::Password,
    ];

    /// The RFC name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::Password => "password",
        }
    }

    /// Parses the RFC name.
    ///
    /// # Errors
    /// [`ClientError::Grant`].
    pub fn parse(s: &str) -> Result<Self, ClientError> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| ClientError::Grant(s.to_owned()))
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks a client id.
///
/// # Errors
/// [`ClientError::Id`].
pub fn check_client_id(id: &str) -> Result<(), ClientError> {
    let ok = (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && !could_be_user_id(id);
    if ok { Ok(()) } else { Err(ClientError::Id) }
}

/// Whether `sub` could be read as a user's id (it does not start with a letter): such a
/// client id is refused at registration, and one registered before that rule gets no
/// service token.
pub fn could_be_user_id(sub: &str) -> bool {
    !sub.starts_with(|c: char| c.is_ascii_alphabetic())
}

/// Checks an audience a client's tokens may carry: a scope-like token of printable
/// ASCII without spaces (a client id, `[tokens] audience`, or a resource URI).
///
/// # Errors
/// [`ClientError::Audience`].
pub fn check_audience(aud: &str) -> Result<(), ClientError> {
    let ok = (1..=256).contains(&aud.len()) && aud.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(ClientError::Audience(aud.to_owned()))
    }
}

/// Checks one scope token (RFC 6749 §3.3: `%x21 / %x23-5B / %x5D-7E`).
///
/// # Errors
/// [`ClientError::Scope`].
pub fn check_scope(scope: &str) -> Result<(), ClientError> {
    let ok = !scope.is_empty()
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ClientError::Scope(scope.to_owned()))
    }
}

/// Checks a redirect URI: absolute, no fragment, https, or http on a loopback host
/// (RFC 8252 §7.3), or a private-use scheme with a dot for native apps (§7.1).
///
/// # Errors
/// [`ClientError::RedirectUri`].
pub fn check_redirect_uri(uri: &str) -> Result<(), ClientError> {
    let bad = || ClientError::RedirectUri(uri.to_owned());
    let url = Url::parse(uri).map_err(|_| bad())?;
    if url.fragment().is_some() {
        return Err(bad());
    }
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" if url.host_str().is_some() => Ok(()),
        "http" if loopback => Ok(()),
        scheme if scheme.contains('.') => Ok(()),
        _ => Err(bad()),
    }
}

/// Checks a `backchannel_logout_uri` or `frontchannel_logout_uri`: a web address Tessera
/// (back-channel) or the browser (front-channel) calls, so absolute https, or http on a
/// loopback host; no fragment (Back-Channel Logout 1.0 §2.2, Front-Channel §2).
///
/// # Errors
/// [`ClientError::LogoutUri`].
pub fn check_logout_uri(uri: &str) -> Result<(), ClientError> {
    let bad = || ClientError::LogoutUri(uri.to_owned());
    let url = Url::parse(uri).map_err(|_| bad())?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    let web = match url.scheme() {
        "https" => url.host_str().is_some(),
        "http" => loopback,
        _ => false,
    };
    if web && url.fragment().is_none() && uri.len() <= 2048 {
        Ok(())
    } else {
        Err(bad())
    }
}

/// The longest `jwks` document a client may register (bytes).
pub const MAX_JWKS_LEN: usize = 16 * 1024;

/// A client's `request_object_signing_alg`: one signing algorithm, or `none` (unsigned
/// request objects).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestObjectAlg {
    /// Unsigned request objects only.
    None,
    /// Request objects signed with this algorithm only.
    Signed(Algorithm),
}

impl RequestObjectAlg {
    /// Parses `none` or an algorithm name.
    ///
    /// # Errors
    /// [`ClientError::RequestObjects`].
    pub fn parse(s: &str) -> Result<Self, ClientError> {
        if s == "none" {
            return Ok(Self::None);
        }
        s.parse().map(Self::Signed).map_err(|_| {
            ClientError::RequestObjects(format!(
                "request_object_signing_alg {s:?}: expected none, RS256, PS256, ES256 or EdDSA"
            ))
        })
    }

    /// The algorithm a signed object must use, if this names one.
    pub fn signed(self) -> Option<Algorithm> {
        match self {
            Self::None => None,
            Self::Signed(alg) => Some(alg),
        }
    }
}

/// What a client registers for its request objects (RFC 9101; OpenID Connect Registration
/// `jwks`, `jwks_uri`, `request_object_signing_alg`, `require_signed_request_object`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestObjectSettings<'a> {
    /// An inline JWKS document.
    pub jwks: Option<&'a str>,
    /// Where the JWKS is published.
    pub jwks_uri: Option<&'a str>,
    /// The one algorithm taken.
    pub alg: Option<&'a str>,
    /// Every request must be a signed request object.
    pub require_signed: bool,
}

/// Checks a client's request-object settings: `jwks` and `jwks_uri` not both; `jwks` a
/// JWKS with a usable signing key (of the registered algorithm, when one is); `jwks_uri`
/// https (http on a loopback host); an algorithm Tessera verifies, or `none`; signing
/// required or an algorithm registered only with keys to check them, and not with `none`.
///
/// # Errors
/// [`ClientError::RequestObjects`].
pub fn check_request_objects(s: RequestObjectSettings<'_>) -> Result<(), ClientError> {
    let bad = |why: &str| Err(ClientError::RequestObjects(why.to_owned()));
    let alg = s.alg.map(RequestObjectAlg::parse).transpose()?;
    let has_keys = s.jwks.is_some() || s.jwks_uri.is_some();
    if s.jwks.is_some() && s.jwks_uri.is_some() {
        return bad("register jwks or jwks_uri, not both");
    }
    if let Some(jwks) = s.jwks {
        if jwks.len() > MAX_JWKS_LEN {
            return bad("jwks is longer than 16 KiB");
        }
        let keys =
            KeySet::from_client_jwks(jwks.as_bytes(), alg.and_then(RequestObjectAlg::signed))
                .map_err(|e| ClientError::RequestObjects(format!("jwks: {e}")))?;
        if let Some(Some(alg)) = alg.map(RequestObjectAlg::signed)
            && !keys.iter().any(|k| k.alg() == alg)
        {
            return bad("jwks holds no key of request_object_signing_alg");
        }
    }
    if let Some(uri) = s.jwks_uri
        && check_logout_uri(uri).is_err()
    {
        return bad("jwks_uri must be absolute https (http only on localhost), without a fragment");
    }
    match alg {
        Some(RequestObjectAlg::None) if s.require_signed => {
            bad("require_signed_request_object cannot go with request_object_signing_alg none")
        }
        Some(RequestObjectAlg::Signed(_)) if !has_keys => {
            bad("request_object_signing_alg needs the client's keys (jwks or jwks_uri)")
        }
        _ if s.require_signed && !has_keys => {
            bad("require_signed_request_object needs the client's keys (jwks or jwks_uri)")
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logout_uris_are_web_addresses() {
        for ok in ["https://rp.example.com/logout?x=1", "http://127.0.0.1:9/bc"] {
            assert!(check_logout_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://rp.example.com/logout",
            "https://rp.example.com/logout#f",
            "com.example.app:/logout",
            "file:///etc/passwd",
            "",
        ] {
            assert!(check_logout_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirect_uris_follow_rfc_8252() {
        for ok in [
            "https://app.example.com/cb",
            "http://127.0.0.1:8080/cb",
            "http://localhost/cb?x=1",
            "com.example.app:/oauth",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example.com/cb",
            "https://app.example.com/cb#frag",
            "/relative",
            "javascript:alert(1)",
            "",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes_and_ids_are_checked() {
        assert!(check_scope("openid").is_ok());
        assert!(check_scope("read:orders").is_ok());
        for bad in ["", "a b", "quote\"", "back\\slash", "é"] {
            assert!(check_scope(bad).is_err(), "{bad}");
        }
        assert!(check_client_id("client_1.svc-a").is_ok());
        for bad in [
            "",
            "a b",
            "x/y",
            &"a".repeat(65),
            "1",
            "1_0",
            "1e3",
            "_a",
            ".a",
        ] {
            assert!(check_client_id(bad).is_err(), "{bad}");
        }
        assert_eq!(GrantType::parse("password"), Ok(GrantType::Password));
        assert!(GrantType::parse("implicit").is_err());
    }
}
