//! How a request reached Tessera, besides the browser: pushed to `/oauth/par` or a signed
//! request object. Tessera's seal carries that through its login and consent forms (the
//! values stay the request that came, for ten minutes); a client, or the server, may
//! require either.

use super::{
    AuthorizeError, AuthorizeParams, AuthorizeRequest, CONSENT_TICKET_LIFETIME, redirect_error,
};
use crate::state::AppState;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// How a request reached Tessera: what vouches for its values besides the browser.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Provenance {
    /// Pushed to `/oauth/par` by the client (RFC 9126).
    pub pushed: bool,
    /// A request object signed with one of the client's keys (RFC 9101).
    pub signed: bool,
}

impl Provenance {
    fn flags(self) -> &'static str {
        match (self.pushed, self.signed) {
            (true, true) => "ps",
            (true, false) => "p",
            (false, true) => "s",
            (false, false) => "",
        }
    }
}

const SEAL_PURPOSE: &str = "vouched-request";

/// How long a seal holds: as long as a consent page may be answered (a user signing in
/// takes that long at most). A request the client vouched for is taken at the
/// authorization endpoint once (a pushed request is used up, a request object is checked
/// there); past this, its forms are refused.
pub const SEAL_LIFETIME: i64 = CONSENT_TICKET_LIFETIME;

/// The request's values without the seal, in a fixed order (the struct's), after how
/// they came, until when the seal holds and which browser it is for.
fn sealed_message(
    params: &AuthorizeParams,
    how: Provenance,
    expires_at: i64,
    browser: &str,
) -> Vec<u8> {
    let unsealed = AuthorizeParams {
        sealed: None,
        ..params.clone()
    };
    let mut message = format!("{}\n{expires_at}\n{browser}\n", how.flags()).into_bytes();
    message.extend(serde_json::to_vec(&unsealed).unwrap_or_default());
    message
}

/// Seals `params` as a request that came as `how` says, for [`SEAL_LIFETIME`] seconds, for
/// `browser`: `<flags>.<expires at>.<HMAC under the internal key>`. A request nothing
/// vouches for gets no seal. `browser` is the browser's CSRF nonce for the seal its forms
/// carry (a seal copied into another browser's form matches nothing there), and empty for
/// the seal a pushed request or a request object gets before any browser has it; the
/// authorization endpoint checks that one and seals again for the browser.
pub fn seal(
    state: &AppState,
    params: &AuthorizeParams,
    how: Provenance,
    browser: &str,
) -> Option<String> {
    if how == Provenance::default() {
        return None;
    }
    let expires_at = state.clock.unix().saturating_add(SEAL_LIFETIME);
    let tag = state.keys.current().mac().tag(
        SEAL_PURPOSE,
        &sealed_message(params, how, expires_at, browser),
    );
    Some(format!(
        "{}.{expires_at}.{}",
        how.flags(),
        URL_SAFE_NO_PAD.encode(tag)
    ))
}

/// How `params` came, by their seal for `browser` (none: nothing vouches for them).
///
/// # Errors
/// [`AuthorizeError::Page`] for a seal that does not match (the form was altered, or
/// comes from another browser) or has expired.
pub fn unseal(
    state: &AppState,
    params: &AuthorizeParams,
    browser: &str,
) -> Result<Provenance, AuthorizeError> {
    let Some(seal) = params.sealed.as_deref() else {
        return Ok(Provenance::default());
    };
    let mut parts = seal.splitn(3, '.');
    let (Some(flags), Some(expires_at), Some(tag)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(altered());
    };
    let how = match flags {
        "ps" => Provenance {
            pushed: true,
            signed: true,
        },
        "p" => Provenance {
            pushed: true,
            signed: false,
        },
        "s" => Provenance {
            pushed: false,
            signed: true,
        },
        _ => return Err(altered()),
    };
    let (Ok(expires_at), Ok(tag)) = (expires_at.parse::<i64>(), URL_SAFE_NO_PAD.decode(tag)) else {
        return Err(altered());
    };
    if !state.keys.current().mac().verify_tag(
        SEAL_PURPOSE,
        &sealed_message(params, how, expires_at, browser),
        &tag,
    ) {
        return Err(altered());
    }
    if state.clock.unix() > expires_at {
        return Err(AuthorizeError::Page(
            "This sign-in form expired. Go back to the app and start again.".into(),
        ));
    }
    Ok(how)
}

fn altered() -> AuthorizeError {
    AuthorizeError::Page(
        "This sign-in form was altered. Go back to the app and start again.".into(),
    )
}

/// Refuses a request whose provenance the client, or the server, requires and it lacks:
/// pushed first (RFC 9126 §5–6), or a signed request object (RFC 9101 §10.5).
///
/// # Errors
/// [`AuthorizeError::Redirect`] `invalid_request`.
pub fn require_provenance(
    state: &AppState,
    req: &AuthorizeRequest,
    how: Provenance,
) -> Result<(), AuthorizeError> {
    let must_push = state.settings.sso.require_pushed_authorization_requests
        || req.client.require_pushed_authorization_requests;
    if must_push && !how.pushed {
        return Err(redirect_error(
            req,
            "invalid_request",
            "this client must push its authorization requests to /oauth/par first",
        ));
    }
    if req.client.require_signed_request_object && !how.signed {
        return Err(redirect_error(
            req,
            "invalid_request",
            "this client must send its authorization requests as signed request objects",
        ));
    }
    Ok(())
}
