//! The second step of a browser sign-in: the second-factor form (`POST
//! /signin/second-factor`), enrolment for a user who must use one and has none (`POST
//! /signin/enrol`, then the recovery codes once, then `POST /signin/continue`). The sign-in
//! between its steps is a ticket in a cookie (`session_cookie::mfa_cookie`); the forms
//! carry the authorization request (none: the account page) and a CSRF token.

use super::{
    answer, browser_session, failure, form_request, hidden_fields, origin_of, redirect, show,
};
use crate::http::body::Body;
use crate::http::client_ip::ClientIp;
use crate::http::csrf;
use crate::http::pages::{self, EnrolPage, RecoveryCodesPage, SecondFactorPage};
use crate::http::session_cookie::{
    mfa_cookie, mfa_value, session_cookie, session_value, without_mfa,
};
use crate::service::authn::SecondFactorError;
use crate::service::sso::authorize::{self, AuthorizeParams, AuthorizeRequest, Next};
use crate::service::sso::session::{self, SignInError, SignedIn};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

/// `/signin/second-factor`, `/signin/enrol`, `/signin/continue`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/signin/second-factor", post(second_factor_form))
        .route("/signin/enrol", post(enrol_form))
        .route("/signin/continue", post(continue_form))
}

/// Where a sign-in goes once done: the authorization request it began with, or the
/// account page.
#[expect(
    clippy::large_enum_variant,
    reason = "one per request, on the stack of a handler"
)]
pub(crate) enum Destination {
    /// An authorization request (validated), with its parameters for the forms.
    Authorize(Box<AuthorizeRequest>, AuthorizeParams),
    /// The account page.
    Account,
}

impl Destination {
    fn client_name(&self) -> Option<String> {
        match self {
            Self::Authorize(req, _) => Some(req.client.name.clone()),
            Self::Account => None,
        }
    }

    fn hidden(&self) -> Vec<(String, String)> {
        match self {
            Self::Authorize(_, params) => hidden_fields(params),
            Self::Account => Vec::new(),
        }
    }

    fn target(&self) -> Option<String> {
        match self {
            Self::Authorize(req, _) => origin_of(&req.redirect_uri),
            Self::Account => None,
        }
    }
}

/// The page asking for the second factor (or, with `enrol`, enrolling one), with the
/// ticket set in its cookie.
pub(crate) async fn ask(
    state: &AppState,
    jar: CookieJar,
    dest: &Destination,
    ticket: String,
    enrol: bool,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let jar = jar.add(mfa_cookie(state, ticket.clone()));
    let (jar, csrf) = csrf::token(state, jar);
    let target = dest.target();
    let page = if enrol {
        let enrolment = match session::begin_enrolment(state, &ticket).await {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "an enrolment could not start");
                let page = pages::message(
                    StatusCode::BAD_REQUEST,
                    "Sign in again",
                    "Your sign-in expired. Go back to the app and sign in again.",
                    true,
                );
                return (without_mfa(state, jar), page).into_response();
            }
        };
        pages::render(
            &EnrolPage {
                client_name: dest.client_name(),
                error: error.map(str::to_owned),
                qr_svg: enrolment.qr_svg,
                secret: enrolment.secret,
                action: "/signin/enrol",
                hidden: dest.hidden(),
                csrf,
            },
            status,
            target.as_deref(),
        )
    } else {
        pages::render(
            &SecondFactorPage {
                client_name: dest.client_name(),
                error: error.map(str::to_owned),
                hidden: dest.hidden(),
                csrf,
                passkeys: state.webauthn.is_some(),
            },
            status,
            target.as_deref(),
        )
    };
    (jar, page).into_response()
}

/// The code forms' fields.
#[derive(Debug, Deserialize)]
struct CodeForm {
    #[serde(flatten)]
    params: AuthorizeParams,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

/// The destination the form's parameters name (or the page to show instead).
async fn destination(
    state: &AppState,
    jar: &CookieJar,
    params: AuthorizeParams,
) -> Result<Destination, Response> {
    if params.client_id.is_none() {
        return Ok(Destination::Account);
    }
    match form_request(
        state,
        &params,
        csrf::nonce_of(state, jar).unwrap_or_default(),
    )
    .await
    {
        Ok(req) => Ok(Destination::Authorize(Box::new(req), params)),
        Err(e) => Err(failure(state, e, StatusCode::SEE_OTHER)),
    }
}

/// The browser's live session with its cookie value, for a step-up.
async fn current(state: &AppState, jar: &CookieJar) -> Option<(String, crate::store::Session)> {
    let cookie = session_value(state, jar)?.to_owned();
    let found = session::current(state, Some(&cookie)).await.ok()??;
    Some((cookie, found))
}

/// The start both code forms share: where the sign-in goes, its ticket, the browser's
/// session; or the page to answer instead (the form again when its CSRF token expired).
async fn code_form_start(
    state: &AppState,
    jar: &CookieJar,
    form: CodeForm,
    enrol: bool,
) -> Result<
    (
        Destination,
        String,
        Option<(String, crate::store::Session)>,
        String,
    ),
    Response,
> {
    let dest = destination(state, jar, form.params).await?;
    let ticket = mfa_value(state, jar).unwrap_or_default().to_owned();
    if !csrf::ok(state, jar, &form.csrf) {
        let msg = if enrol {
            "This form expired. Scan the new code and try again."
        } else {
            "This form expired. Please enter the code again."
        };
        let page = ask(
            state,
            jar.clone(),
            &dest,
            ticket,
            enrol,
            Some(msg),
            StatusCode::FORBIDDEN,
        );
        return Err(page.await);
    }
    let now = current(state, jar).await;
    Ok((dest, ticket, now, form.code))
}

async fn second_factor_form(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    Body(form): Body<CodeForm>,
) -> Response {
    let (dest, ticket, now, code) = match code_form_start(&state, &jar, form, false).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    match session::second_factor(&state, &ticket, &code, ip, now).await {
        Ok(SignedIn::Session(cookie, signed)) => {
            let jar = without_mfa(&state, jar).add(session_cookie(&state, cookie));
            proceed(&state, jar, dest, signed, true).await
        }
        Ok(_) => refused(&state, jar, &dest, &SecondFactorError::Expired.into()).await,
        Err(SignInError::SecondFactor(SecondFactorError::Invalid)) => {
            let msg = "That code is not right, or it was used already. Try the next one.";
            ask(
                &state,
                jar,
                &dest,
                ticket,
                false,
                Some(msg),
                StatusCode::UNAUTHORIZED,
            )
            .await
        }
        Err(e) => refused(&state, jar, &dest, &e).await,
    }
}

async fn enrol_form(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    Body(form): Body<CodeForm>,
) -> Response {
    let (dest, ticket, now, code) = match code_form_start(&state, &jar, form, true).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    match session::enrol_and_finish(&state, &ticket, &code, ip, now).await {
        Ok((SignedIn::Session(cookie, signed), codes)) => {
            let jar = without_mfa(&state, jar).add(session_cookie(&state, cookie));
            if codes.is_empty() {
                return proceed(&state, jar, dest, signed, true).await;
            }
            let (jar, csrf) = csrf::token(&state, jar);
            let target = dest.target();
            let page = pages::render(
                &RecoveryCodesPage {
                    codes,
                    action: "/signin/continue",
                    hidden: dest.hidden(),
                    csrf,
                },
                StatusCode::OK,
                target.as_deref(),
            );
            (jar, page).into_response()
        }
        Ok(_) => refused(&state, jar, &dest, &SecondFactorError::Expired.into()).await,
        Err(SignInError::SecondFactor(SecondFactorError::Invalid)) => {
            // A new secret is drawn for the next try (the page shown may have been seen
            // by someone else): the old QR code no longer works.
            let msg = "That code is not right. Scan this new code and try again.";
            ask(
                &state,
                jar,
                &dest,
                ticket,
                true,
                Some(msg),
                StatusCode::UNAUTHORIZED,
            )
            .await
        }
        Err(e) => refused(&state, jar, &dest, &e).await,
    }
}

/// The fields of the "continue" form after the recovery codes.
#[derive(Debug, Deserialize)]
struct ContinueForm {
    #[serde(flatten)]
    params: AuthorizeParams,
    #[serde(default)]
    csrf: String,
}

async fn continue_form(
    State(state): State<AppState>,
    jar: CookieJar,
    Body(form): Body<ContinueForm>,
) -> Response {
    let dest = match destination(&state, &jar, form.params).await {
        Ok(d) => d,
        Err(page) => return page,
    };
    let signed = match browser_session(&state, &jar).await {
        Ok(Some(s)) if csrf::ok(&state, &jar, &form.csrf) => s,
        Ok(_) => return redirect("/account", StatusCode::SEE_OTHER),
        Err(e) => return failure(&state, e, StatusCode::SEE_OTHER),
    };
    // Only a sign-in that just happened continues as one (prompt=login, max_age): any
    // other session is decided as it is.
    let now = state.clock.unix();
    let fresh = now.saturating_sub(signed.auth_time) <= crate::service::authn::ticket::LIFETIME;
    proceed(&state, jar, dest, signed, fresh).await
}

/// Signed in: on to the authorization request's decision, or the account page.
async fn proceed(
    state: &AppState,
    jar: CookieJar,
    dest: Destination,
    signed: crate::store::Session,
    fresh: bool,
) -> Response {
    match dest {
        Destination::Authorize(req, params) => {
            let decided = authorize::decide(state, &req, Some(signed), fresh).await;
            answer(state, jar, &req, &params, decided, StatusCode::SEE_OTHER).await
        }
        Destination::Account => (jar, redirect("/account", StatusCode::SEE_OTHER)).into_response(),
    }
}

/// A second step that cannot go on: an expired sign-in starts again (the login page);
/// throttling shows the form with 429; anything else is the unavailable page.
async fn refused(
    state: &AppState,
    jar: CookieJar,
    dest: &Destination,
    e: &SignInError,
) -> Response {
    let jar = without_mfa(state, jar);
    match e {
        SignInError::SecondFactor(SecondFactorError::Throttled(wait)) => {
            let msg = format!(
                "Too many wrong codes. Please wait {} seconds and sign in again.",
                wait.seconds
            );
            let page = pages::message(StatusCode::TOO_MANY_REQUESTS, "Please wait", &msg, true);
            pages::with_status(
                (jar, page).into_response(),
                StatusCode::TOO_MANY_REQUESTS,
                Some(wait.seconds.max(1)),
            )
        }
        SignInError::SecondFactor(SecondFactorError::Expired) => match dest {
            Destination::Authorize(req, params) => {
                let msg = "Your sign-in expired or had too many wrong codes. Please sign in again.";
                show(
                    state,
                    jar,
                    req,
                    params,
                    Next::Login,
                    Some(msg),
                    "",
                    StatusCode::SEE_OTHER,
                )
                .await
            }
            Destination::Account => {
                (jar, redirect("/account", StatusCode::SEE_OTHER)).into_response()
            }
        },
        e => {
            tracing::warn!(error = %e, "a second-factor step failed");
            (jar, pages::unavailable()).into_response()
        }
    }
}
