//! Requests that arrive by reference or wrapped: a pushed request's `request_uri` (RFC
//! 9126) and a request object (RFC 9101), each replaced by the values it stands for and
//! sealed as the client vouched for them.

use super::{AuthorizeError, AuthorizeParams, Provenance, known_client, seal, trusted_redirect};
use crate::state::AppState;

/// The prefix of the `request_uri`s `/oauth/par` hands out (RFC 9126 §2.2).
pub const PUSHED_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// How long a pushed request may wait for its browser (RFC 9126 suggests 5 to 600 s).
pub const PUSHED_LIFETIME: i64 = 60;

/// Replaces a pushed request's `request_uri` by the request it stands for (used once;
/// `client_id` must be the pushing client's), sealed as pushed when it was stored.
/// Requests without one pass unchanged; a `request_uri` of another kind is left for
/// [`validate`] to refuse.
///
/// # Errors
/// [`AuthorizeError::Page`] for an unknown, used, expired or another client's pushed
/// request (no redirect URI can be trusted for it).
pub async fn resolve_pushed(
    state: &AppState,
    params: AuthorizeParams,
) -> Result<AuthorizeParams, AuthorizeError> {
    let Some(uri) = params
        .request_uri
        .as_deref()
        .filter(|u| u.starts_with(PUSHED_URI_PREFIX))
    else {
        return Ok(params);
    };
    let gone = || {
        AuthorizeError::Page(
            "This sign-in link was already used or has expired. Go back to the app and start again."
                .into(),
        )
    };
    let (client_id, stored) = state
        .store
        .take_pushed_request(&crate::domain::digest::sha256_hex(uri), state.clock.unix())
        .await?
        .ok_or_else(gone)?;
    if params.client_id.as_deref() != Some(client_id.as_str()) {
        return Err(gone());
    }
    serde_json::from_str(&stored)
        .map_err(|_| AuthorizeError::Page("The pushed request could not be read.".into()))
}

/// Replaces a request object (`request`, RFC 9101) by the parameters it carries, sealed
/// as signed when it was; requests without one pass unchanged. The outer `client_id` must
/// name a client and be the object's; refusals go to the outer `redirect_uri` when it is
/// one of that client's.
///
/// # Errors
/// [`AuthorizeError::Page`] for an unknown client or untrusted redirect URI;
/// [`AuthorizeError::Redirect`] `invalid_request` (with `request_uri` too) or
/// `invalid_request_object`.
pub async fn resolve_request_object(
    state: &AppState,
    params: AuthorizeParams,
) -> Result<AuthorizeParams, AuthorizeError> {
    let Some(request) = params.request.as_deref() else {
        return Ok(params);
    };
    let client = known_client(state, &params).await?;
    // Sent back only to an outer redirect URI of the client's; else Tessera's page.
    let fail = |error: &'static str, description: String| match trusted_redirect(&client, &params) {
        Ok(redirect_uri) => AuthorizeError::Redirect {
            redirect_uri,
            state: params.state.clone(),
            error,
            description,
        },
        Err(page) => page,
    };
    if params.request_uri.is_some() {
        return Err(fail(
            "invalid_request",
            "request and request_uri cannot both be sent".into(),
        ));
    }
    match crate::service::sso::request_object::resolve(state, &client, request, false).await {
        Ok(resolved) => {
            let mut inner = resolved.params;
            let how = Provenance {
                pushed: false,
                signed: resolved.signed,
            };
            inner.sealed = seal(state, &inner, how, "");
            Ok(inner)
        }
        Err(e) => Err(fail("invalid_request_object", e.0)),
    }
}
