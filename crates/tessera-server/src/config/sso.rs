//! `[sso]`: browser single sign-on.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[sso]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SsoSettings {
    /// How long a browser stays logged in at Tessera (the SSO session cookie).
    #[serde(with = "humantime_serde")]
    pub session_lifetime: Duration,
    /// Whether back-channel logouts may be POSTed to this machine itself (a loopback
    /// address): off, so that a client registration cannot aim Tessera's requests at
    /// services listening only on localhost; on for development and tests.
    pub backchannel_allow_loopback: bool,
    /// Every client must push its authorization requests first (RFC 9126 PAR): a request
    /// at the authorization endpoint without a pushed `request_uri` is refused.
    pub require_pushed_authorization_requests: bool,
}

impl Default for SsoSettings {
    fn default() -> Self {
        Self {
            session_lifetime: Duration::from_secs(12 * 3600),
            backchannel_allow_loopback: false,
            require_pushed_authorization_requests: false,
        }
    }
}
