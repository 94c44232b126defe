//! The account page (`GET /account`): who is signed in where (browser SSO sessions and
//! apps holding refresh tokens) and a "log out everywhere" button. It uses the SSO session
//! cookie; without one it shows its own sign-in form (`POST /account/login`). Forms carry a
//! server-bound CSRF token (`http::csrf`).

use crate::http::authorize::second_factor::{self, Destination};
use crate::http::body::Body;
use crate::http::client_ip::ClientIp;
use crate::http::csrf;
use crate::http::pages::{self, AccountLoginPage, AccountPage, SessionLine, SignInRefusal};
use crate::http::session_cookie::{session_cookie, session_value, without_session};
use crate::service::audit::Actor;
use crate::service::sso::session::{self, SignedIn};
use crate::service::user::Users;
use crate::state::AppState;
use crate::store::{LiveFamily, Session, StoreError, User};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use tessera_proto::Secret;

/// `/account`, `/account/login`, `/account/logout-everywhere`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(show))
        .route("/account/login", post(sign_in))
        .route("/account/logout-everywhere", post(logout_everywhere))
}

async fn show(State(state): State<AppState>, jar: CookieJar) -> Response {
    match signed_in(&state, &jar).await {
        Ok(Some((user, current))) => account(&state, jar, &user, &current).await,
        Ok(None) => sign_in_form(&state, jar, None, "", StatusCode::OK),
        Err(e) => unavailable(&e),
    }
}

/// The browser's live session and its user.
pub(crate) async fn signed_in(
    state: &AppState,
    jar: &CookieJar,
) -> Result<Option<(User, Session)>, StoreError> {
    let cookie = session_value(state, jar);
    session::current_user(state, cookie).await
}

async fn account(state: &AppState, jar: CookieJar, user: &User, current: &Session) -> Response {
    let (sessions, families) = match session::of_user(state, user.id).await {
        Ok(found) => found,
        Err(e) => return unavailable(&e),
    };
    let factors = match crate::service::authn::factors_of(state, user.id).await {
        Ok(found) => found,
        Err(e) => return unavailable(&e),
    };
    let required = match crate::service::authn::requirement(state, user, None, None).await {
        Ok(r) => r != crate::service::authn::Requirement::PasswordOnly,
        Err(e) => return unavailable(&e),
    };
    let (jar, csrf) = csrf::token(state, jar);
    let page = AccountPage {
        username: user.username.clone(),
        email: user.email.clone(),
        sessions: sessions
            .iter()
            .map(|s| SessionLine {
                client: "browser".into(),
                since: when(s.auth_time),
                until: when(s.expires_at),
                current: s.token_hash == current.token_hash,
            })
            .collect(),
        families: families.iter().map(family_line).collect(),
        csrf,
        totp: factors.totp.map(|t| {
            (
                when(t.enrolled_at),
                t.last_used_at.map_or_else(|| "never".to_owned(), when),
            )
        }),
        recovery_left: factors.recovery.map(|r| r.remaining),
        required,
        passkeys_on: state.webauthn.is_some(),
        passkeys: factors
            .passkeys
            .iter()
            .map(|p| crate::http::pages::PasskeyLine {
                id: p.credential_id.clone(),
                name: p.name.clone(),
                created: when(p.created_at),
                last_used: p.last_used_at.map_or_else(|| "never".to_owned(), when),
            })
            .collect(),
    };
    (jar, pages::render(&page, StatusCode::OK, None)).into_response()
}

fn family_line(f: &LiveFamily) -> SessionLine {
    SessionLine {
        client: f
            .client_id
            .clone()
            .unwrap_or_else(|| "API (/auth/token/)".into()),
        since: when(f.issued_at),
        until: when(f.expires_at),
        current: false,
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM UTC`.
fn when(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

fn sign_in_form(
    state: &AppState,
    jar: CookieJar,
    error: Option<&str>,
    username: &str,
    status: StatusCode,
) -> Response {
    let (jar, csrf) = csrf::token(state, jar);
    let page = AccountLoginPage {
        error: error.map(str::to_owned),
        username: username.to_owned(),
        csrf,
        reset: state.mailer.is_some(),
        passkeys: state.webauthn.is_some(),
    };
    (jar, pages::render(&page, status, None)).into_response()
}

#[derive(Debug, Deserialize)]
struct SignIn {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: Option<Secret>,
}

async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    Body(form): Body<SignIn>,
) -> Response {
    if !csrf::ok(&state, &jar, &form.csrf) {
        let msg = "This form expired. Please sign in again.";
        return sign_in_form(
            &state,
            jar,
            Some(msg),
            &form.username,
            StatusCode::FORBIDDEN,
        );
    }
    let password = form.password.unwrap_or_else(|| Secret::new(""));
    match session::sign_in(&state, &form.username, &password, ip, None, None).await {
        Ok(SignedIn::Session(cookie, _)) => {
            let jar = jar.add(session_cookie(&state, cookie));
            (jar, see_other("/account")).into_response()
        }
        Ok(SignedIn::SecondFactor(ticket)) => {
            second_factor::ask(
                &state,
                jar,
                &Destination::Account,
                ticket,
                false,
                None,
                StatusCode::OK,
            )
            .await
        }
        Ok(SignedIn::Enrol(ticket)) => {
            second_factor::ask(
                &state,
                jar,
                &Destination::Account,
                ticket,
                true,
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(e) => match pages::sign_in_refusal(&e) {
            SignInRefusal::Form {
                message,
                status,
                retry_after,
            } => {
                let page = sign_in_form(&state, jar, Some(&message), &form.username, status);
                pages::with_status(page, status, retry_after)
            }
            SignInRefusal::Page(page) => page,
        },
    }
}

#[derive(Debug, Deserialize)]
struct Confirm {
    #[serde(default)]
    csrf: String,
}

async fn logout_everywhere(
    State(state): State<AppState>,
    jar: CookieJar,
    Body(form): Body<Confirm>,
) -> Response {
    if !csrf::ok(&state, &jar, &form.csrf) {
        return pages::message(
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form expired. Open your account page again.",
            true,
        );
    }
    let (user, _) = match signed_in(&state, &jar).await {
        Ok(Some(found)) => found,
        Ok(None) => return see_other("/account"),
        Err(e) => return unavailable(&e),
    };
    // The same use case as the admin API's force logout, with the user as the actor.
    if let Err(e) = Users::of(&state)
        .end_sessions(user.id, Actor::User(user.id))
        .await
    {
        return unavailable(&e);
    }
    let jar = without_session(&state, jar);
    let page = pages::message(
        StatusCode::OK,
        "Signed out everywhere",
        "Every browser and app signed in as you was signed out.",
        false,
    );
    (jar, page).into_response()
}

pub(crate) fn see_other(location: &'static str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(location));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(crate) fn unavailable(e: &dyn std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "account page failed on the store");
    pages::unavailable()
}
