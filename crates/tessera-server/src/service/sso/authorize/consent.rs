//! The consent page: its ticket (Tessera decided, for this very request and session, that
//! only consent was missing), the user's approval, and a denial.

use super::code::issue_code;
use super::{AuthorizeError, AuthorizeRequest, Next, decide, error_redirect_url};
use crate::domain::Scope;
use crate::state::AppState;
use crate::store::Session;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// How long a consent page may be answered.
pub const CONSENT_TICKET_LIFETIME: i64 = 600;

const CONSENT_PURPOSE: &str = "consent";

/// The consent page's proof that Tessera decided, for this very request and session, that
/// only consent was missing: `<issued at>.<tag>`, the tag an HMAC (the internal MAC key,
/// purpose `consent`) of the time, the session and every request value a code carries.
pub fn consent_ticket(state: &AppState, req: &AuthorizeRequest, session: &Session) -> String {
    let now = state.clock.unix();
    let tag = state
        .keys
        .current()
        .mac()
        .tag(CONSENT_PURPOSE, &ticket_message(now, req, session));
    format!("{now}.{}", URL_SAFE_NO_PAD.encode(tag))
}

fn consent_ticket_ok(
    state: &AppState,
    req: &AuthorizeRequest,
    session: &Session,
    ticket: &str,
) -> bool {
    let Some((at, tag)) = ticket.split_once('.') else {
        return false;
    };
    let (Ok(at), Ok(tag)) = (at.parse::<i64>(), URL_SAFE_NO_PAD.decode(tag)) else {
        return false;
    };
    let now = state.clock.unix();
    (at..=at.saturating_add(CONSENT_TICKET_LIFETIME)).contains(&now)
        && state.keys.current().mac().verify_tag(
            CONSENT_PURPOSE,
            &ticket_message(at, req, session),
            &tag,
        )
}

/// What a consent ticket binds, each value length-prefixed so no two requests share bytes:
/// the session (and the methods it used), and every value of the request (what the code
/// carries, and `state`, `prompt`, `max_age` and `acr_values`, which decided that only
/// consent was missing).
fn ticket_message(at: i64, req: &AuthorizeRequest, session: &Session) -> Vec<u8> {
    let mut out = Vec::new();
    let values = [
        Some(at.to_string()),
        Some(session.sid.clone()),
        Some(session.auth_time.to_string()),
        Some(req.client.client_id.clone()),
        Some(req.redirect_uri.clone()),
        Some(req.scope.clone()),
        req.nonce.clone(),
        req.code_challenge.clone(),
        req.state.clone(),
        req.max_age.map(|m| m.to_string()),
        req.acr.map(|l| l.acr().to_owned()),
        Some(session.methods.clone()),
        Some(format!(
            "{}{}{}",
            u8::from(req.prompt_none),
            u8::from(req.prompt_login),
            u8::from(req.prompt_consent)
        )),
    ];
    for v in values {
        match v {
            Some(v) => {
                out.extend_from_slice(&(v.len() as u64).to_be_bytes());
                out.extend_from_slice(v.as_bytes());
            }
            None => out.extend_from_slice(&u64::MAX.to_be_bytes()),
        }
    }
    out
}

/// The user answered "Allow" on the consent page. With the page's ticket, the consent is
/// remembered and a code issued; without a valid one (the form posted directly, another
/// session, a changed request, an old page) the request is decided again from the start,
/// so `prompt=login`, `max_age` and the user's services are checked as for any request.
///
/// # Errors
/// Store failures; the errors of [`decide`].
pub async fn approve(
    state: &AppState,
    req: &AuthorizeRequest,
    session: Session,
    ticket: &str,
) -> Result<Next, AuthorizeError> {
    if !consent_ticket_ok(state, req, &session, ticket) {
        return decide(state, req, Some(session), false).await;
    }
    let granted = state
        .store
        .consent(session.user_id, &req.client.client_id)
        .await?
        .unwrap_or_default();
    let all = Scope::of(&granted).union(Scope::of(&req.scope));
    state
        .store
        .grant_consent(
            session.user_id,
            &req.client.client_id,
            &all,
            state.clock.unix(),
        )
        .await?;
    Ok(Next::Redirect(issue_code(state, req, &session).await?))
}

/// The user denied consent.
pub fn deny(state: &AppState, req: &AuthorizeRequest) -> String {
    error_redirect_url(
        state,
        &req.redirect_uri,
        "access_denied",
        "the user denied the request",
        req.state.as_deref(),
    )
}
