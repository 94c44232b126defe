//! OAuth client registrations: ids, grant types, scopes, redirect URIs.

use std::fmt;
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
    /// An audience that is empty, too long or has spaces or control characters.
    #[error("audience: {0:?} must be 1 to 256 printable characters without spaces")]
    Audience(String),
    /// A combination that cannot work.
    #[error("{0}")]
    Invalid(&'static str),
}

/// An OAuth grant type (RFC 6749 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
