//! Self-service over HTTP: the JSON endpoints (named as djoser names them, under
//! `/auth/users/`), the pages the e-mailed links open (`/account/…`), and the thin aliases
//! of the small Flask-style auth servers (`POST /user`, `GET /login`, `GET /user/profile`).
//!
//! Over 500 lines as one resource: every self-service route of an account, in JSON and as
//! pages, shares the link, CSRF and error handling here; the use cases are in
//! `service::account`.

use crate::error::ApiError;
use crate::http::bearer::Bearer;
use crate::http::body::Body;
use crate::http::client_ip::ClientIp;
use crate::http::csrf;
use crate::http::pages::{self, ForgotPage, ResetPage, SignupPage, VerifyPage};
use crate::service::account::{self, AccountError, Signup};
use crate::service::login::{self, LoginId};
use crate::service::{links, token};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_proto::Secret;

/// The self-service routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/users/", post(signup))
        .route("/auth/users/activation/", post(activate))
        .route("/auth/users/reset_password/", post(reset_password))
        .route(
            "/auth/users/reset_password_confirm/",
            post(reset_password_confirm),
        )
        .route("/auth/users/set_password/", post(set_password))
        .route("/auth/users/set_email/", post(set_email))
        .route("/account/verify", get(verify_page).post(verify_submit))
        .route("/account/reset", get(reset_page).post(reset_submit))
        .route("/account/forgot", get(forgot_page).post(forgot_submit))
        .route("/account/signup", get(signup_page).post(signup_submit))
        .route("/user", post(flask_signup))
        .route("/login", get(flask_login))
        .route("/user/profile", get(flask_profile))
}

const CHECK_MAIL: &str = "check your e-mail to finish signing up";
const RESET_SENT: &str =
    "if an account has this address, a link to choose a new password is on its way";

/// `POST /auth/users/` (djoser's create).
#[derive(Debug, Deserialize)]
struct SignupRequest {
    #[serde(default)]
    username: Option<String>,
    email: String,
    password: Secret,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
}

async fn signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(req): Body<SignupRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    account::signup(
        &state,
        Signup {
            username: req.username.filter(|u| !u.is_empty()),
            email: req.email,
            password: req.password,
            first_name: req.first_name,
            last_name: req.last_name,
        },
        ip,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"detail": CHECK_MAIL}))))
}

#[derive(Debug, Deserialize)]
struct TokenRequest {
    token: String,
    /// A sign-up's link needs the password chosen at sign-up.
    #[serde(default)]
    password: Option<Secret>,
}

async fn activate(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(req): Body<TokenRequest>,
) -> Result<StatusCode, ApiError> {
    account::verify(&state, &req.token, req.password.as_ref(), ip).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct EmailRequest {
    email: String,
}

async fn reset_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(req): Body<EmailRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    account::request_reset(&state, &req.email, ip).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"detail": RESET_SENT}))))
}

#[derive(Debug, Deserialize)]
struct ResetConfirm {
    token: String,
    new_password: Secret,
}

async fn reset_password_confirm(
    State(state): State<AppState>,
    Body(req): Body<ResetConfirm>,
) -> Result<StatusCode, ApiError> {
    account::confirm_reset(&state, &req.token, &req.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct SetPassword {
    current_password: Secret,
    new_password: Secret,
}

async fn set_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Bearer(bearer): Bearer,
    Body(req): Body<SetPassword>,
) -> Result<StatusCode, ApiError> {
    account::change_password(
        &state,
        &bearer,
        ip,
        &req.current_password,
        &req.new_password,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct SetEmail {
    current_password: Secret,
    new_email: String,
}

async fn set_email(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Bearer(bearer): Bearer,
    Body(req): Body<SetEmail>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    account::change_email(&state, &bearer, ip, &req.current_password, &req.new_email).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"detail": "a confirmation link was sent to the new address"})),
    ))
}

// ----- pages ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct LinkQuery {
    #[serde(default)]
    token: String,
}

fn bad_link() -> Response {
    pages::message(
        StatusCode::BAD_REQUEST,
        "Link not valid",
        "This link is invalid, was used already, or has expired. Ask for a new one.",
        true,
    )
}

/// The page a verification or e-mail change link opens: says what following it does and
/// asks (a sign-up's password, or a button); a GET changes nothing.
async fn verify_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(q): Query<LinkQuery>,
) -> Response {
    match account::view_link(&state, &q.token).await {
        Ok(view) => verify_form(&state, jar, view, q.token, None, StatusCode::OK),
        Err(AccountError::BadLink) => bad_link(),
        Err(e) => {
            tracing::warn!(error = %e, "verification link could not be read");
            pages::unavailable()
        }
    }
}

fn verify_form(
    state: &AppState,
    jar: CookieJar,
    view: account::LinkView,
    token: String,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let (jar, csrf) = csrf::token(state, jar);
    let (username, new_email, needs_password) = match view {
        account::LinkView::Signup { username } => (username, None, true),
        account::LinkView::Verify => (String::new(), None, false),
        account::LinkView::Email {
            username,
            new_email,
        } => (username, Some(new_email), false),
    };
    let page = VerifyPage {
        username,
        new_email,
        needs_password,
        token,
        csrf,
        error,
    };
    (jar, pages::render(&page, status, None)).into_response()
}

#[derive(Debug, Deserialize)]
struct VerifyForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: Option<Secret>,
}

async fn verify_submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    Body(form): Body<VerifyForm>,
) -> Response {
    if !csrf::ok(&state, &jar, &form.csrf) {
        return form_expired();
    }
    match account::verify(&state, &form.token, form.password.as_ref(), ip).await {
        Ok(()) => pages::message(
            StatusCode::OK,
            "Address confirmed",
            "Your e-mail address is confirmed. You can sign in now.",
            false,
        ),
        Err(AccountError::BadLink) => bad_link(),
        Err(e @ AccountError::NotTheSignupPassword) => {
            match account::view_link(&state, &form.token).await {
                Ok(view) => verify_form(
                    &state,
                    jar,
                    view,
                    form.token,
                    Some(e.to_string()),
                    StatusCode::BAD_REQUEST,
                ),
                Err(_) => bad_link(),
            }
        }
        Err(e @ AccountError::Taken(_)) => pages::message(
            StatusCode::BAD_REQUEST,
            "Not confirmed",
            &e.to_string(),
            true,
        ),
        Err(AccountError::Throttled(wait)) => pages::with_status(
            pages::message(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                &format!("Please wait {} seconds and try again.", wait.seconds),
                true,
            ),
            StatusCode::TOO_MANY_REQUESTS,
            Some(wait.seconds.max(1)),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "verification failed");
            pages::unavailable()
        }
    }
}

async fn reset_page(State(state): State<AppState>, Query(q): Query<LinkQuery>) -> Response {
    match links::peek_user(&state, &q.token, links::Purpose::Reset).await {
        Ok(Some((_, user))) => pages::render(
            &ResetPage {
                username: user.username,
                token: q.token,
                error: None,
            },
            StatusCode::OK,
            None,
        ),
        Ok(None) => bad_link(),
        Err(_) => pages::unavailable(),
    }
}

#[derive(Debug, Deserialize)]
struct ResetForm {
    token: String,
    password: Secret,
}

async fn reset_submit(State(state): State<AppState>, Body(form): Body<ResetForm>) -> Response {
    match account::confirm_reset(&state, &form.token, &form.password).await {
        Ok(()) => pages::message(
            StatusCode::OK,
            "Password changed",
            "Your new password is set and you were signed out everywhere. Sign in again.",
            false,
        ),
        Err(AccountError::BadLink) => bad_link(),
        Err(AccountError::Invalid(e)) => {
            let username = match links::peek_user(&state, &form.token, links::Purpose::Reset).await
            {
                Ok(Some((_, user))) => user.username,
                _ => String::new(),
            };
            pages::render(
                &ResetPage {
                    username,
                    token: form.token,
                    error: Some(e.to_string()),
                },
                StatusCode::BAD_REQUEST,
                None,
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "password reset failed");
            pages::unavailable()
        }
    }
}

/// A page's form: its fields and the CSRF token (`http::csrf`).
#[derive(Debug, Deserialize)]
struct PageForm<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    fields: T,
}

fn form_expired() -> Response {
    pages::message(
        StatusCode::FORBIDDEN,
        "Form expired",
        "This form expired. Open the page again.",
        true,
    )
}

async fn forgot_page(State(state): State<AppState>, jar: CookieJar) -> Response {
    if state.mailer.is_none() {
        return ApiError::NotFound.into_response();
    }
    let (jar, csrf) = csrf::token(&state, jar);
    (
        jar,
        pages::render(&ForgotPage { csrf }, StatusCode::OK, None),
    )
        .into_response()
}

async fn forgot_submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    Body(form): Body<PageForm<EmailRequest>>,
) -> Response {
    if !csrf::ok(&state, &jar, &form.csrf) {
        return form_expired();
    }
    match account::request_reset(&state, &form.fields.email, ip).await {
        Ok(()) => pages::message(StatusCode::OK, "Check your e-mail", RESET_SENT, false),
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn signup_page(State(state): State<AppState>, jar: CookieJar) -> Response {
    if !state.settings.signup.enabled {
        return ApiError::NotFound.into_response();
    }
    let (jar, csrf) = csrf::token(&state, jar);
    let page = SignupPage {
        error: None,
        email: String::new(),
        username: String::new(),
        csrf,
    };
    (jar, pages::render(&page, StatusCode::OK, None)).into_response()
}

async fn signup_submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    Body(form): Body<PageForm<SignupRequest>>,
) -> Response {
    if !state.settings.signup.enabled {
        return ApiError::NotFound.into_response();
    }
    if !csrf::ok(&state, &jar, &form.csrf) {
        return form_expired();
    }
    let req = form.fields;
    let (email, username) = (req.email.clone(), req.username.clone().unwrap_or_default());
    let result = account::signup(
        &state,
        Signup {
            username: req.username.filter(|u| !u.is_empty()),
            email: req.email,
            password: req.password,
            first_name: req.first_name,
            last_name: req.last_name,
        },
        ip,
    )
    .await;
    match result {
        Ok(()) => pages::message(
            StatusCode::OK,
            "Check your e-mail",
            "We sent a link to confirm your address and finish signing up.",
            false,
        ),
        Err(AccountError::Invalid(e)) => {
            let (jar, csrf) = csrf::token(&state, jar);
            let page = SignupPage {
                error: Some(e.to_string()),
                email,
                username,
                csrf,
            };
            (jar, pages::render(&page, StatusCode::BAD_REQUEST, None)).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

// ----- Flask-style aliases -------------------------------------------------------------

/// `POST /user {email, name, password}`: sign-up with the e-mail as username.
#[derive(Debug, Deserialize)]
struct FlaskSignup {
    email: String,
    #[serde(default)]
    name: String,
    password: Secret,
}

async fn flask_signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(req): Body<FlaskSignup>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    account::signup(
        &state,
        Signup {
            username: None,
            email: req.email,
            password: req.password,
            first_name: req.name,
            last_name: String::new(),
        },
        ip,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"message": CHECK_MAIL}))))
}

/// `GET /login` with HTTP Basic credentials: `{"token": <access token>}` (no refresh
/// token: these clients log in again). Like the other Flask-style aliases, there only
/// when sign-up is on.
async fn flask_login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    if !state.settings.signup.enabled {
        return Err(ApiError::NotFound);
    }
    let (id, password) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(tessera_proto::oauth::parse_basic_plain)
        .ok_or(ApiError::NotAuthenticated)?;
    let password = Secret::new(password);
    let issued = login::obtain_access(&state, &LoginId::Username(id), &password, ip).await?;
    Ok(crate::http::oauth::no_store(
        Json(json!({"token": issued.access})).into_response(),
    ))
}

/// `GET /user/profile` with the token: `{"user": {"email", "name"}}`.
async fn flask_profile(
    State(state): State<AppState>,
    Bearer(bearer): Bearer,
) -> Result<Json<Value>, ApiError> {
    if !state.settings.signup.enabled {
        return Err(ApiError::NotFound);
    }
    let (_, user) =
        token::authenticate_bearer(&state, &bearer, crate::service::audience::Surface::UserApi)
            .await?;
    let name = format!("{} {}", user.first_name, user.last_name)
        .trim()
        .to_owned();
    Ok(Json(json!({"user": {"email": user.email, "name": name}})))
}
