//! Passkey ceremonies for the pages' script (`/oauth/assets/passkey.js`), JSON in and out:
//! `POST /webauthn/login/start` and `/finish` (usernameless sign-in: the passkey alone),
//! `POST /webauthn/second-factor/start` and `/finish` (the second step of a password
//! sign-in, with its ticket cookie), `POST /webauthn/register/start` and `/finish` (the
//! account page: a signed-in user who authenticated in the last 10 minutes; the form's
//! CSRF token in the body), `POST /account/passkeys/remove` (a form, with the password).
//! A finished sign-in sets the session cookie and answers a fresh CSRF token, with which
//! the page posts its authorization request to `/signin/continue`.

use crate::error::ApiError;
use crate::http::account_page::{see_other, signed_in, unavailable};
use crate::http::body::Body;
use crate::http::client_ip::ClientIp;
use crate::http::csrf;
use crate::http::pages;
use crate::http::session_cookie::{mfa_value, session_cookie, without_mfa};
use crate::service::authn::SecondFactorError;
use crate::service::authn::passkey::{self, Challenge};
use crate::service::sso::session;
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_proto::Secret;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webauthn/login/start", post(login_start))
        .route("/webauthn/login/finish", post(login_finish))
        .route("/webauthn/second-factor/start", post(second_factor_start))
        .route("/webauthn/second-factor/finish", post(second_factor_finish))
        .route("/webauthn/register/start", post(register_start))
        .route("/webauthn/register/finish", post(register_finish))
        .route("/account/passkeys/remove", post(remove))
}

/// A ceremony's answer from the browser.
#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: Value,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

/// A registration's start: the CSRF token and the password.
#[derive(Debug, Deserialize)]
struct Start {
    #[serde(default)]
    csrf: String,
    current_password: Option<Secret>,
}

fn challenge(c: Challenge) -> Response {
    crate::http::oauth::no_store(Json(c).into_response())
}

/// Signed in: the session cookie, and the CSRF token the page posts its request with.
fn signed_in_answer(state: &AppState, jar: CookieJar, cookie: String) -> Response {
    let jar = without_mfa(state, jar).add(session_cookie(state, cookie));
    let (jar, csrf) = csrf::token(state, jar);
    (jar, Json(json!({"csrf": csrf, "next": "/signin/continue"}))).into_response()
}

async fn login_start(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(challenge(passkey::begin_sign_in(&state).await?))
}

async fn login_finish(
    State(state): State<AppState>,
    jar: CookieJar,
    Body(answer): Body<Answer>,
) -> Result<Response, ApiError> {
    match session::passkey_sign_in(&state, &answer.ceremony, &answer.credential).await {
        Ok(cookie) => Ok(signed_in_answer(&state, jar, cookie)),
        Err(session::SignInError::Authn(e)) => Err(e.into()),
        Err(e) => Err(ApiError::Unavailable(e.to_string())),
    }
}

async fn second_factor_start(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<Response, ApiError> {
    let ticket = mfa_value(&state, &jar).unwrap_or_default();
    Ok(challenge(
        passkey::begin_second_factor(&state, ticket).await?,
    ))
}

async fn second_factor_finish(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    Body(answer): Body<Answer>,
) -> Result<Response, ApiError> {
    let ticket = mfa_value(&state, &jar).unwrap_or_default().to_owned();
    let current = match crate::http::session_cookie::session_value(&state, &jar) {
        Some(cookie) => session::current(&state, Some(cookie))
            .await?
            .map(|s| (cookie.to_owned(), s)),
        None => None,
    };
    let signed = session::second_factor_passkey(
        &state,
        &ticket,
        &answer.ceremony,
        &answer.credential,
        ip,
        current,
    )
    .await;
    match signed {
        Ok(session::SignedIn::Session(cookie, _)) => Ok(signed_in_answer(&state, jar, cookie)),
        Ok(_) => Err(ApiError::from(SecondFactorError::Expired)),
        Err(session::SignInError::SecondFactor(SecondFactorError::Invalid)) => {
            Err(ApiError::Invalid("the passkey was not accepted".into()))
        }
        Err(session::SignInError::SecondFactor(e)) => Err(e.into()),
        Err(e) => Err(ApiError::Unavailable(e.to_string())),
    }
}

async fn register_start(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    Body(start): Body<Start>,
) -> Result<Response, ApiError> {
    if !csrf::ok(&state, &jar, &start.csrf) {
        return Err(ApiError::PermissionDenied);
    }
    let (user, current) = signed_in(&state, &jar)
        .await?
        .ok_or(ApiError::NotAuthenticated)?;
    let password = start
        .current_password
        .ok_or_else(|| ApiError::Required("current_password".into()))?;
    let caller = crate::service::security::Caller::Session(&user, &current);
    let started =
        crate::service::security::begin_passkey(&state, caller, ip, &password, current.auth_time)
            .await?;
    Ok(challenge(started))
}

async fn register_finish(
    State(state): State<AppState>,
    jar: CookieJar,
    Body(answer): Body<Answer>,
) -> Result<Response, ApiError> {
    if !csrf::ok(&state, &jar, &answer.csrf) {
        return Err(ApiError::PermissionDenied);
    }
    let (user, current) = signed_in(&state, &jar)
        .await?
        .ok_or(ApiError::NotAuthenticated)?;
    let codes = passkey::finish_registration(
        &state,
        &user,
        &answer.ceremony,
        &answer.name,
        &answer.credential,
    )
    .await?;
    // Every session ended with the registration: this browser goes on, as it was.
    let cookie = session::resume(&state, user.id, &current)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?
        .ok_or(ApiError::NotAuthenticated)?;
    let jar = jar.add(session_cookie(&state, cookie));
    let (jar, csrf) = csrf::token(&state, jar);
    Ok((jar, Json(json!({"recovery_codes": codes, "csrf": csrf}))).into_response())
}

/// The removal form's fields.
#[derive(Debug, Deserialize)]
struct RemoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    current_password: Option<Secret>,
}

async fn remove(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    Body(form): Body<RemoveForm>,
) -> Response {
    if !csrf::ok(&state, &jar, &form.csrf) {
        return pages::message(
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form expired. Open your account page again.",
            true,
        );
    }
    let (user, current) = match signed_in(&state, &jar).await {
        Ok(Some(found)) => found,
        Ok(None) => return see_other("/account"),
        Err(e) => return unavailable(&e),
    };
    let password = form.current_password.unwrap_or_else(|| Secret::new(""));
    let caller = crate::service::security::Caller::Session(&user, &current);
    match crate::service::security::remove_passkey(&state, caller, ip, &password, &form.id).await {
        Ok(()) => {
            // Every session ended with the passkey (what it signed in must not outlive
            // it): this browser goes on, as it was.
            match session::resume(&state, user.id, &current).await {
                Ok(Some(cookie)) => (
                    jar.add(session_cookie(&state, cookie)),
                    see_other("/account"),
                )
                    .into_response(),
                Ok(None) => see_other("/account"),
                Err(e) => unavailable(&e),
            }
        }
        Err(e) => crate::http::account_security::refused(&e),
    }
}
