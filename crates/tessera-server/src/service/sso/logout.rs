//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) and what a logout tells
//! the browser's other applications (Front-Channel Logout 1.0). The back channel is
//! [`super::backchannel`]'s.
//!
//! A request ends the browser's session at once only when the relying party proves it
//! speaks for it: an `id_token_hint` Tessera signed for the session's user, issued through
//! this session (its `sid`), and a `logout_hint`, when given, naming that same user. Otherwise the user confirms, so a
//! link or an image elsewhere cannot sign a browser out. The browser goes back to
//! `post_logout_redirect_uri` only when it is one of the `post_logout_redirect_uris` of the
//! client the request names, by a hint Tessera signed or by `client_id` (both: the same).

use crate::state::AppState;
use crate::store::{Session, StoreError};
use serde::{Deserialize, Serialize};

/// The parameters of a logout request (§2), by GET or POST.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct LogoutParams {
    /// An ID token Tessera issued (expired or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_hint: Option<String>,
    /// The relying party.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Where to send the browser afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uri: Option<String>,
    /// Given back on that redirect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Who the relying party believes is signed in: a username, an e-mail address or a
    /// `sub`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logout_hint: Option<String>,
    /// Preferred languages; Tessera's pages are in English only, so it is taken and
    /// not acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ui_locales: Option<String>,
}

/// What to do with a logout request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// No live session: nothing to end.
    NoSession,
    /// The relying party speaks for the session: end it now.
    EndNow,
    /// Ask the user first.
    Confirm,
}

/// A logout request that cannot be acted on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogoutError {
    /// `client_id` names another client than the `id_token_hint`'s audience (§2).
    #[error("client_id does not match the id_token_hint")]
    ClientMismatch,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The client a request names and what its verified hint says.
struct Named {
    client_id: Option<String>,
    hint_sub: Option<String>,
    hint_sid: Option<String>,
}

/// Reads the client and the hint's subject: the hint only when Tessera signed it (an
/// unverifiable hint names nobody); `client_id` must agree with it.
fn named(state: &AppState, params: &LogoutParams) -> Result<Named, LogoutError> {
    let hint = params.id_token_hint.as_deref().and_then(|hint| {
        let ring = state.keys.current();
        tessera_token::validate::verify_id_token_hint(hint, ring.published(), &state.validation)
            .ok()
    });
    let client_id = match (&hint, &params.client_id) {
        (Some(h), Some(c)) if &h.aud != c => return Err(LogoutError::ClientMismatch),
        (Some(h), _) => Some(h.aud.clone()),
        (None, c) => c.clone(),
    };
    Ok(Named {
        client_id,
        hint_sid: hint.as_ref().and_then(|h| h.sid.clone()),
        hint_sub: hint.map(|h| h.sub),
    })
}

/// Decides what a logout request does to the browser's `current` session.
///
/// # Errors
/// [`LogoutError`].
pub async fn decide(
    state: &AppState,
    params: &LogoutParams,
    current: Option<&Session>,
) -> Result<Decision, LogoutError> {
    let named = named(state, params)?;
    let Some(current) = current else {
        return Ok(Decision::NoSession);
    };
    let sub = current.user_id.to_string();
    if named.hint_sub.as_deref() != Some(sub.as_str()) {
        return Ok(Decision::Confirm);
    }
    // An ID token of another (older) session of the same user proves less: ask.
    if named
        .hint_sid
        .as_deref()
        .is_some_and(|sid| sid != current.sid)
    {
        return Ok(Decision::Confirm);
    }
    match params.logout_hint.as_deref() {
        None => Ok(Decision::EndNow),
        Some(hint) => {
            let user = state.store.user_by_id(current.user_id).await?;
            let same = user.is_some_and(|u| {
                hint == sub
                    || hint == u.username
                    || (hint.contains('@') && hint.eq_ignore_ascii_case(&u.email))
            });
            Ok(if same {
                Decision::EndNow
            } else {
                Decision::Confirm
            })
        }
    }
}

/// Where the browser goes afterwards: `post_logout_redirect_uri` when it is registered
/// for the client the request names, else nowhere (Tessera's "signed out" page).
///
/// # Errors
/// [`LogoutError`].
pub async fn return_uri(
    state: &AppState,
    params: &LogoutParams,
) -> Result<Option<String>, LogoutError> {
    let Some(uri) = params.post_logout_redirect_uri.as_ref() else {
        return Ok(None);
    };
    let Some(client_id) = named(state, params)?.client_id else {
        return Ok(None);
    };
    let registered = state
        .store
        .client(&client_id)
        .await?
        .is_some_and(|c| c.post_logout_redirect_uris.iter().any(|r| r == uri));
    Ok(registered.then(|| uri.clone()))
}

/// The front-channel logout pages of the clients that got tokens through the session the
/// cookie names, each with `iss` and `sid` (Front-Channel Logout 1.0 §2–3). Read before
/// the session ends (ending it forgets its clients).
///
/// # Errors
/// Store failures.
pub async fn frontchannel_pages(
    state: &AppState,
    cookie: Option<&str>,
) -> Result<Vec<url::Url>, StoreError> {
    let Some(cookie) = cookie.filter(|c| !c.is_empty() && c.len() <= 128) else {
        return Ok(Vec::new());
    };
    let found = state
        .store
        .session_frontchannel_uris(&crate::domain::digest::sha256_hex(cookie))
        .await?;
    Ok(found
        .into_iter()
        .filter_map(|(uri, sid)| {
            let mut url = url::Url::parse(&uri).ok()?;
            url.query_pairs_mut()
                .append_pair("iss", &state.issuer)
                .append_pair("sid", &sid);
            Some(url)
        })
        .collect())
}
