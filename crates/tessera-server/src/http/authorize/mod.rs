//! The browser side of SSO: `GET /oauth/authorize`, the login and consent forms it shows
//! (`POST /oauth/authorize/login`, `POST /oauth/authorize/consent`), and the second step
//! of a sign-in ([`second_factor`]). Forms carry the authorization request in hidden
//! fields and a server-bound CSRF token (`http::csrf`).

pub mod second_factor;

use crate::domain::Scope;
use crate::error::ApiError;
use crate::http::body::Body;
use crate::http::client_ip::ClientIp;
use crate::http::csrf;
use crate::http::pages::{self, ConsentPage, LoginPage, SignInRefusal};
use crate::http::session_cookie::{session_cookie, session_value};
use crate::service::sso::authorize::{
    self, AuthorizeError, AuthorizeParams, AuthorizeRequest, Next,
};
use crate::service::sso::session::{self, SignedIn};
use crate::state::AppState;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use second_factor::Destination;
use serde::Deserialize;
use tessera_proto::Secret;

/// The authorization endpoint and its forms.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth/authorize", get(authorize).post(authorize_post))
        .route("/oauth/authorize/login", post(login_form))
        .route("/oauth/authorize/consent", post(consent_form))
        .merge(second_factor::routes())
}

async fn authorize(
    State(state): State<AppState>,
    jar: CookieJar,
    query: Result<Query<AuthorizeParams>, QueryRejection>,
) -> Response {
    match query {
        Ok(Query(params)) => authorize_with(state, jar, params).await,
        Err(_) => malformed_request(),
    }
}

/// `POST /oauth/authorize`: the same request form-encoded in the body (OpenID Connect Core
/// 3.1.2.1: the endpoint MUST take both).
async fn authorize_post(
    State(state): State<AppState>,
    jar: CookieJar,
    form: Result<axum::Form<AuthorizeParams>, axum::extract::rejection::FormRejection>,
) -> Response {
    match form {
        Ok(axum::Form(params)) => authorize_with(state, jar, params).await,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        Err(_) => malformed_request(),
    }
}

/// 413 on Tessera's page: a form body over the limit, as every other surface answers it.
pub(crate) fn too_large() -> Response {
    pages::message(
        StatusCode::PAYLOAD_TOO_LARGE,
        "This request is too large",
        "The form sent more than Tessera takes. Go back to the app and start again.",
        true,
    )
}

fn malformed_request() -> Response {
    bad_request("The authorization request is malformed (a parameter repeated or unreadable).")
}

async fn authorize_with(state: AppState, jar: CookieJar, params: AuthorizeParams) -> Response {
    // The forms' seal is for this browser: its CSRF nonce (set now if it had none).
    let (jar, browser) = csrf::nonce(&state, jar);
    let (req, params) = match incoming_request(&state, params, &browser).await {
        Ok(found) => found,
        Err(e) => return failure(&state, e, StatusCode::FOUND),
    };
    let current = match browser_session(&state, &jar).await {
        Ok(s) => s,
        Err(e) => return failure(&state, e, StatusCode::FOUND),
    };
    let decided = authorize::decide(&state, &req, current, false).await;
    answer(&state, jar, &req, &params, decided, StatusCode::FOUND).await
}

/// The request that reached the endpoint: a pushed request's or a request object's values
/// in place of the reference (sealed, so that the forms carry them unaltered), validated,
/// and as the client requires it to come.
async fn incoming_request(
    state: &AppState,
    mut params: AuthorizeParams,
    browser: &str,
) -> Result<(AuthorizeRequest, AuthorizeParams), AuthorizeError> {
    // A seal is Tessera's own, carried through its forms: a request arriving here is
    // vouched for by what it brings (a pushed request, a signed object), never by a seal
    // copied from an earlier form.
    params.sealed = None;
    let params = authorize::resolve_pushed(state, params).await?;
    let mut params = authorize::resolve_request_object(state, params).await?;
    // Sealed before any browser had it (pushed, or a request object): sealed again for
    // this one, so that its forms carry a seal no other browser's form matches.
    let how = authorize::unseal(state, &params, "")?;
    params.sealed = authorize::seal(state, &params, how, browser);
    let req = form_request(state, &params, browser).await?;
    Ok((req, params))
}

/// The request a login or consent form carries (or the endpoint resolved): valid, and
/// when the client (or the server) requires it pushed or signed, sealed as such and
/// unaltered.
async fn form_request(
    state: &AppState,
    params: &AuthorizeParams,
    browser: &str,
) -> Result<AuthorizeRequest, AuthorizeError> {
    let how = authorize::unseal(state, params, browser)?;
    let req = authorize::validate(state, params).await?;
    authorize::require_provenance(state, &req, how)?;
    Ok(req)
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(flatten)]
    params: AuthorizeParams,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    password: Option<Secret>,
}

async fn login_form(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    body: Result<Body<LoginForm>, ApiError>,
) -> Response {
    let mut form = match body {
        Ok(Body(form)) => form,
        Err(ApiError::PayloadTooLarge(_)) => return too_large(),
        Err(_) => return bad_request("The sign-in form could not be read."),
    };
    let req = match form_request(
        &state,
        &form.params,
        csrf::nonce_of(&state, &jar).unwrap_or_default(),
    )
    .await
    {
        Ok(req) => req,
        Err(e) => return failure(&state, e, StatusCode::SEE_OTHER),
    };
    if !csrf::ok(&state, &jar, &form.csrf) {
        let msg = "This form expired. Please sign in again.";
        return login_again(&state, jar, &req, &form, msg).await;
    }
    let password = form.password.take().unwrap_or_else(|| Secret::new(""));
    let signed = session::sign_in(
        &state,
        &form.username,
        &password,
        ip,
        Some(&req.client),
        req.acr,
    )
    .await;
    let (cookie, started) = match signed {
        Ok(SignedIn::Session(cookie, started)) => (cookie, started),
        Ok(SignedIn::SecondFactor(ticket)) => {
            let dest = Destination::Authorize(Box::new(req), form.params);
            return second_factor::ask(&state, jar, &dest, ticket, false, None, StatusCode::OK)
                .await;
        }
        Ok(SignedIn::Enrol(ticket)) => {
            let dest = Destination::Authorize(Box::new(req), form.params);
            return second_factor::ask(&state, jar, &dest, ticket, true, None, StatusCode::OK)
                .await;
        }
        Err(e) => {
            return match pages::sign_in_refusal(&e) {
                SignInRefusal::Form {
                    message,
                    status,
                    retry_after,
                } => {
                    let page = login_again(&state, jar, &req, &form, &message).await;
                    pages::with_status(page, status, retry_after)
                }
                SignInRefusal::Page(page) => page,
            };
        }
    };
    let jar = jar.add(session_cookie(&state, cookie));
    let decided = authorize::decide(&state, &req, Some(started), true).await;
    answer(
        &state,
        jar,
        &req,
        &form.params,
        decided,
        StatusCode::SEE_OTHER,
    )
    .await
}

/// The consent form's fields.
#[derive(Debug, Deserialize)]
struct ConsentForm {
    #[serde(flatten)]
    params: AuthorizeParams,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    ticket: String,
}

async fn consent_form(
    State(state): State<AppState>,
    jar: CookieJar,
    body: Result<Body<ConsentForm>, ApiError>,
) -> Response {
    let form = match body {
        Ok(Body(form)) => form,
        Err(ApiError::PayloadTooLarge(_)) => return too_large(),
        Err(_) => return bad_request("The consent form could not be read."),
    };
    let req = match form_request(
        &state,
        &form.params,
        csrf::nonce_of(&state, &jar).unwrap_or_default(),
    )
    .await
    {
        Ok(req) => req,
        Err(e) => return failure(&state, e, StatusCode::SEE_OTHER),
    };
    let current = match browser_session(&state, &jar).await {
        Ok(s) => s,
        Err(e) => return failure(&state, e, StatusCode::SEE_OTHER),
    };
    let Some(current) = current else {
        let msg = "Your session ended. Please sign in again.";
        return show(
            &state,
            jar,
            &req,
            &form.params,
            Next::Login,
            Some(msg),
            "",
            StatusCode::SEE_OTHER,
        )
        .await;
    };
    if !csrf::ok(&state, &jar, &form.csrf) {
        return show(
            &state,
            jar,
            &req,
            &form.params,
            Next::Consent(current),
            None,
            "",
            StatusCode::SEE_OTHER,
        )
        .await;
    }
    match form.decision.as_str() {
        "approve" => {
            let decided = authorize::approve(&state, &req, current, &form.ticket).await;
            answer(
                &state,
                jar,
                &req,
                &form.params,
                decided,
                StatusCode::SEE_OTHER,
            )
            .await
        }
        _ => redirect(&authorize::deny(&state, &req), StatusCode::SEE_OTHER),
    }
}

/// The login page again, with `msg` and what the user typed as username.
async fn login_again(
    state: &AppState,
    jar: CookieJar,
    req: &AuthorizeRequest,
    form: &LoginForm,
    msg: &str,
) -> Response {
    show(
        state,
        jar,
        req,
        &form.params,
        Next::Login,
        Some(msg),
        &form.username,
        StatusCode::SEE_OTHER,
    )
    .await
}

/// What a decision leads to: its page or redirect, or its error (on Tessera's page, or
/// redirected to the client).
async fn answer(
    state: &AppState,
    jar: CookieJar,
    req: &AuthorizeRequest,
    params: &AuthorizeParams,
    decided: Result<Next, AuthorizeError>,
    redirect_status: StatusCode,
) -> Response {
    match decided {
        Ok(next) => show(state, jar, req, params, next, None, "", redirect_status).await,
        Err(e) => failure(state, e, redirect_status),
    }
}

/// Renders what comes next: the login page, the consent page, or the redirect.
#[allow(
    clippy::too_many_arguments,
    reason = "one call per page state; a struct would only rename them"
)]
async fn show(
    state: &AppState,
    jar: CookieJar,
    req: &AuthorizeRequest,
    params: &AuthorizeParams,
    next: Next,
    error: Option<&str>,
    username: &str,
    redirect_status: StatusCode,
) -> Response {
    let (jar, csrf) = csrf::token(state, jar);
    let hidden = hidden_fields(params);
    let target = origin_of(&req.redirect_uri);
    let page = match next {
        Next::Redirect(url) => return (jar, redirect(&url, redirect_status)).into_response(),
        Next::StepUp(current) => {
            let (ticket, requirement) = match session::step_up(state, &current).await {
                Ok(Some(found)) => found,
                Ok(None) => return pages::unavailable(),
                Err(e) => {
                    tracing::warn!(error = %e, "a step-up could not start");
                    return pages::unavailable();
                }
            };
            if requirement == crate::service::authn::Requirement::Enrol {
                // Enrolling a factor needs the password now, not only a session (whoever
                // holds a copy of the cookie must not be able to add their own).
                let msg = "Sign in again to set up two-step verification.";
                return Box::pin(show(
                    state,
                    jar,
                    req,
                    params,
                    Next::Login,
                    Some(msg),
                    "",
                    redirect_status,
                ))
                .await;
            }
            let dest = Destination::Authorize(Box::new(req.clone()), params.clone());
            return second_factor::ask(state, jar, &dest, ticket, false, None, StatusCode::OK)
                .await;
        }
        Next::Login => pages::render(
            &LoginPage {
                client_name: req.client.name.clone(),
                error: error.map(str::to_owned),
                username: username.to_owned(),
                hidden,
                csrf,
                signup: state.settings.signup.enabled,
                reset: state.mailer.is_some(),
                passkeys: state.webauthn.is_some(),
            },
            StatusCode::OK,
            target.as_deref(),
        ),
        Next::Consent(current) => {
            let username = match crate::service::user::Users::of(state)
                .get(current.user_id)
                .await
            {
                Ok(u) => u.username,
                Err(_) => return pages::unavailable(),
            };
            let ticket = authorize::consent_ticket(state, req, &current);
            pages::render(
                &ConsentPage {
                    ticket,
                    client_name: req.client.name.clone(),
                    username,
                    scopes: Scope::of(&req.scope)
                        .tokens()
                        .map(pages::describe_scope)
                        .collect(),
                    hidden,
                    csrf,
                },
                StatusCode::OK,
                target.as_deref(),
            )
        }
    };
    (jar, page).into_response()
}

/// The live SSO session of the browser's cookie, if any.
pub(crate) async fn browser_session(
    state: &AppState,
    jar: &CookieJar,
) -> Result<Option<crate::store::Session>, AuthorizeError> {
    let cookie = session_value(state, jar);
    Ok(session::current(state, cookie).await?)
}

/// A request's parameters as hidden form fields.
pub(crate) fn hidden_fields(params: &impl serde::Serialize) -> Vec<(String, String)> {
    match serde_json::to_value(params) {
        Ok(serde_json::Value::Object(map)) => map
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
            .collect(),
        _ => Vec::new(),
    }
}

/// The origin a redirect URI's form submission ends at, for CSP `form-action`.
pub(crate) fn origin_of(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    match url.origin() {
        url::Origin::Tuple(..) => Some(url.origin().ascii_serialization()),
        url::Origin::Opaque(_) => Some(format!("{}:", url.scheme())),
    }
}

pub(crate) fn redirect(url: &str, status: StatusCode) -> Response {
    let mut response = status.into_response();
    match HeaderValue::from_str(url) {
        Ok(v) => {
            response.headers_mut().insert(header::LOCATION, v);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => bad_request("The redirect URI cannot be used."),
    }
}

fn failure(app: &AppState, e: AuthorizeError, status: StatusCode) -> Response {
    match e {
        AuthorizeError::Page(message) => bad_request(&message),
        AuthorizeError::Redirect {
            redirect_uri,
            state,
            error,
            description,
        } => redirect(
            &authorize::error_redirect_url(
                app,
                &redirect_uri,
                error,
                &description,
                state.as_deref(),
            ),
            status,
        ),
        AuthorizeError::Store(e) => {
            tracing::warn!(error = %e, "authorization failed on the store");
            pages::unavailable()
        }
        AuthorizeError::Random(e) => {
            tracing::error!(error = %e, "random generator failed");
            pages::message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Please try again.",
                true,
            )
        }
    }
}

fn bad_request(message: &str) -> Response {
    pages::message(
        StatusCode::BAD_REQUEST,
        "This sign-in link cannot be used",
        message,
        true,
    )
}
