//! `/oauth/logout`: RP-initiated logout by GET or POST (OpenID Connect RP-Initiated Logout
//! 1.0 §2–3), the confirmation form (`POST` with the page's CSRF token), and the
//! signed-out page with the front-channel logout frames. The rules are
//! [`crate::service::sso::logout`]'s.

use crate::http::authorize::{browser_session, hidden_fields, origin_of, redirect};
use crate::http::csrf;
use crate::http::pages::{self, LogoutPage, SignedOutPage};
use crate::http::session_cookie::{session_value, without_session};
use crate::service::sso::authorize::redirect_url;
use crate::service::sso::logout::{self, Decision, LogoutError, LogoutParams};
use crate::service::sso::session;
use crate::state::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::cookie::CookieJar;

/// Seconds the signed-out page waits for the front-channel frames before going back.
const FRAME_DELAY: u32 = 2;

/// `/oauth/logout`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/oauth/logout", get(logout_get).post(logout_post))
}

/// `GET /oauth/logout?…`: an RP-initiated logout request.
async fn logout_get(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    match parse::<LogoutParams>(query.as_deref().unwrap_or_default().as_bytes()) {
        Ok(params) => request(&state, jar, params).await,
        Err(()) => malformed(),
    }
}

/// The confirmation form: the request's parameters and the page's CSRF token.
#[derive(Debug, serde::Deserialize)]
struct Confirmation {
    #[serde(flatten)]
    params: LogoutParams,
    csrf: String,
}

/// `POST /oauth/logout`: an RP-initiated logout request in a form body (§2: the OP
/// supports GET and POST), or, with the page's `csrf` field, the user's confirmation.
async fn logout_post(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !crate::http::body::is_form(&headers) {
        return malformed();
    }
    let confirming = url::form_urlencoded::parse(&body).any(|(k, _)| k == "csrf");
    if !confirming {
        return match parse::<LogoutParams>(&body) {
            Ok(params) => request(&state, jar, params).await,
            Err(()) => malformed(),
        };
    }
    let Ok(confirmation) = parse::<Confirmation>(&body) else {
        return malformed();
    };
    if !csrf::ok(&state, &jar, &confirmation.csrf) {
        return pages::message(
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form expired. You are still signed in; sign out again from the app.",
            true,
        );
    }
    end_session(&state, jar, &confirmation.params).await
}

/// Form-encoded parameters, each at most once (a repeated one is malformed).
fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ()> {
    serde_urlencoded::from_bytes(bytes).map_err(|_| ())
}

/// Ends the session now, asks the user, or goes straight to the end.
async fn request(state: &AppState, jar: CookieJar, params: LogoutParams) -> Response {
    let current = match browser_session(state, &jar).await {
        Ok(current) => current,
        Err(_) => return pages::unavailable(),
    };
    match logout::decide(state, &params, current.as_ref()).await {
        Ok(Decision::NoSession) => match back_to(state, &params).await {
            Ok(next) => signed_out(jar, next, Vec::new()),
            Err(e) => refused(&e),
        },
        Ok(Decision::EndNow) => end_session(state, jar, &params).await,
        Ok(Decision::Confirm) => confirm(state, jar, &params).await,
        Err(e) => refused(&e),
    }
}

/// "Sign out of Tessera?" with the request carried through the form.
async fn confirm(state: &AppState, jar: CookieJar, params: &LogoutParams) -> Response {
    let target = logout::return_uri(state, params)
        .await
        .ok()
        .flatten()
        .and_then(|u| origin_of(&u));
    let (jar, csrf) = csrf::token(state, jar);
    let page = LogoutPage {
        hidden: hidden_fields(params),
        csrf,
    };
    (jar, pages::render(&page, StatusCode::OK, target.as_deref())).into_response()
}

async fn end_session(state: &AppState, jar: CookieJar, params: &LogoutParams) -> Response {
    // Everything that can refuse the request is settled before the session ends: once it
    // has, the answer must clear the cookie and load the frames.
    let next = match back_to(state, params).await {
        Ok(next) => next,
        Err(e) => return refused(&e),
    };
    let cookie = session_value(state, &jar);
    // Read before the session ends: ending it forgets which clients took part.
    let frames = match logout::frontchannel_pages(state, cookie).await {
        Ok(frames) => frames,
        Err(_) => return pages::unavailable(),
    };
    if let Err(e) = session::end(state, cookie).await {
        tracing::warn!(error = %e, "could not end a session");
        return pages::unavailable();
    }
    let jar = without_session(state, jar);
    signed_out(jar, next, frames)
}

/// The registered `post_logout_redirect_uri`, with `state`, when the request may go back.
async fn back_to(state: &AppState, params: &LogoutParams) -> Result<Option<String>, LogoutError> {
    Ok(logout::return_uri(state, params)
        .await?
        .map(|uri| redirect_url(&uri, &[("state", params.state.as_deref())])))
}

/// Back to `next` when there is one, else the "signed out" page; with front-channel
/// frames to load, the page first, which then goes back.
fn signed_out(jar: CookieJar, next: Option<String>, frames: Vec<url::Url>) -> Response {
    if frames.is_empty()
        && let Some(next) = &next
    {
        return (jar, redirect(next, StatusCode::FOUND)).into_response();
    }
    let origins: Vec<String> = frames
        .iter()
        .map(|u| u.origin().ascii_serialization())
        .collect();
    let page = SignedOutPage {
        frames: frames.iter().map(url::Url::to_string).collect(),
        next,
        delay: FRAME_DELAY,
    };
    let mut response = pages::render(&page, StatusCode::OK, None);
    pages::allow_frames(&mut response, &origins);
    (jar, response).into_response()
}

fn refused(e: &LogoutError) -> Response {
    match e {
        LogoutError::ClientMismatch => pages::message(
            StatusCode::BAD_REQUEST,
            "This sign-out link cannot be used",
            "The sign-out request names two different applications.",
            true,
        ),
        LogoutError::Store(_) => pages::unavailable(),
    }
}

fn malformed() -> Response {
    pages::message(
        StatusCode::BAD_REQUEST,
        "This sign-out link cannot be used",
        "The sign-out request is malformed (a parameter repeated or unreadable).",
        true,
    )
}
