//! The account page's security section (`id="security"`): set up an authenticator app
//! (`POST /account/totp` with the password → the QR code; `POST /account/totp/confirm`
//! with its first code → the recovery codes, once), remove it and make new recovery codes
//! (`POST /account/totp/remove`, `POST /account/recovery-codes`, with the password). The
//! same use cases as the API (`service::security`), with the SSO session as the caller;
//! every form carries the CSRF token.

use crate::domain::authn::{Method, Methods};
use crate::http::account_page::{see_other, signed_in, unavailable};
use crate::http::body::Body;
use crate::http::client_ip::ClientIp;
use crate::http::csrf;
use crate::http::pages::{self, EnrolPage, RecoveryCodesPage};
use crate::http::session_cookie::session_cookie;
use crate::service::account::AccountError;
use crate::service::authn::{AuthnError, totp};
use crate::service::security::{self, Caller};
use crate::service::sso::session;
use crate::state::AppState;
use crate::store::{Session, User};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use tessera_proto::Secret;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account/totp", post(begin))
        .route("/account/totp/confirm", post(confirm))
        .route("/account/totp/remove", post(remove))
        .route("/account/recovery-codes", post(regenerate))
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    csrf: String,
    current_password: Option<Secret>,
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

/// The signed-in user and session of a form with a valid CSRF token, or the page to show.
async fn caller(
    state: &AppState,
    jar: &CookieJar,
    csrf_token: &str,
) -> Result<(User, Session), Response> {
    if !csrf::ok(state, jar, csrf_token) {
        return Err(pages::message(
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form expired. Open your account page again.",
            true,
        ));
    }
    match signed_in(state, jar).await {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(see_other("/account")),
        Err(e) => Err(unavailable(&e)),
    }
}

/// What a refused change shows.
pub(crate) fn refused(e: &AccountError) -> Response {
    let (status, text) = match e {
        AccountError::WrongPassword => (StatusCode::BAD_REQUEST, "The password is not right."),
        AccountError::Login(_) | AccountError::Throttled(_) => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many wrong attempts. Please wait a minute and try again.",
        ),
        AccountError::Authn(AuthnError::AlreadyEnrolled) => (
            StatusCode::CONFLICT,
            "An authenticator app is already set up. Remove it first.",
        ),
        AccountError::Authn(AuthnError::StepUpRequired) => (
            StatusCode::FORBIDDEN,
            "Sign in again with your second factor to change it.",
        ),
        AccountError::Authn(AuthnError::NotEnrolled | AuthnError::NothingToConfirm) => (
            StatusCode::BAD_REQUEST,
            "There is nothing to change here. Open your account page again.",
        ),
        e => {
            tracing::warn!(error = %e, "a security change failed");
            return pages::unavailable();
        }
    };
    pages::message(status, "Not changed", text, true)
}

fn enrol_page(
    state: &AppState,
    jar: CookieJar,
    enrolment: totp::Enrolment,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (jar, csrf) = csrf::token(state, jar);
    let page = EnrolPage {
        client_name: None,
        error: error.map(str::to_owned),
        qr_svg: enrolment.qr_svg,
        secret: enrolment.secret,
        action: "/account/totp/confirm",
        hidden: Vec::new(),
        csrf,
    };
    (jar, pages::render(&page, status, None)).into_response()
}

/// The recovery codes, once; "continue" leads back to the account page.
fn recovery_codes_page(state: &AppState, jar: CookieJar, codes: Vec<String>) -> Response {
    let (jar, csrf) = csrf::token(state, jar);
    let page = RecoveryCodesPage {
        codes,
        action: "/signin/continue",
        hidden: Vec::new(),
        csrf,
    };
    (jar, pages::render(&page, StatusCode::OK, None)).into_response()
}

async fn begin(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    Body(form): Body<PasswordForm>,
) -> Response {
    let (user, current) = match caller(&state, &jar, &form.csrf).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let password = form.current_password.unwrap_or_else(|| Secret::new(""));
    match security::begin_totp(&state, Caller::Session(&user, &current), ip, &password).await {
        Ok(enrolment) => enrol_page(&state, jar, enrolment, None, StatusCode::OK),
        Err(e) => refused(&e),
    }
}

async fn confirm(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    Body(form): Body<CodeForm>,
) -> Response {
    let (user, current) = match caller(&state, &jar, &form.csrf).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    match security::confirm_totp(&state, Caller::Session(&user, &current), ip, &form.code).await {
        Ok((now, codes)) => {
            // Every session ended with the enrolment: this browser goes on in a new one,
            // at the level it has just proved (the password at the start, the code now).
            let at = state.clock.unix();
            let methods = Methods::one(Method::Password, at).with(Method::Totp, at);
            let (cookie, _) = match session::start(&state, &now, &methods).await {
                Ok(started) => started,
                Err(e) => return unavailable(&e),
            };
            let jar = jar.add(session_cookie(&state, cookie));
            recovery_codes_page(&state, jar, codes)
        }
        Err(AccountError::Authn(AuthnError::WrongCode)) => match totp::pending(&state, &user).await
        {
            Ok(enrolment) => enrol_page(
                &state,
                jar,
                enrolment,
                Some("That code is not right. Try the code the app shows now."),
                StatusCode::UNAUTHORIZED,
            ),
            Err(e) => refused(&AccountError::Authn(e)),
        },
        Err(e) => refused(&e),
    }
}

async fn remove(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    Body(form): Body<PasswordForm>,
) -> Response {
    let (user, current) = match caller(&state, &jar, &form.csrf).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let password = form.current_password.unwrap_or_else(|| Secret::new(""));
    match security::remove_totp(&state, Caller::Session(&user, &current), ip, &password).await {
        Ok(()) => see_other("/account"),
        Err(e) => refused(&e),
    }
}

async fn regenerate(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    Body(form): Body<PasswordForm>,
) -> Response {
    let (user, current) = match caller(&state, &jar, &form.csrf).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let password = form.current_password.unwrap_or_else(|| Secret::new(""));
    match security::regenerate_recovery_codes(
        &state,
        Caller::Session(&user, &current),
        ip,
        &password,
    )
    .await
    {
        Ok(codes) => recovery_codes_page(&state, jar, codes),
        Err(e) => refused(&e),
    }
}
