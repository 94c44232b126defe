//! Server-rendered pages (askama templates under `templates/`): login, consent and
//! messages, each sent with headers against framing, sniffing, caching and referrer leaks.
//! The stylesheet is compiled into the binary; pages load nothing else.

use crate::service::login::LoginError;
use crate::service::sso::session::SignInError;
use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The login page.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    /// The client's display name.
    pub client_name: String,
    /// A failed attempt's message.
    pub error: Option<String>,
    /// The username typed before (kept after a failure).
    pub username: String,
    /// The authorization request, carried through the form.
    pub hidden: Vec<(String, String)>,
    /// The CSRF token (also in a cookie).
    pub csrf: String,
    /// Link to the sign-up page.
    pub signup: bool,
    /// Link to the password-reset page.
    pub reset: bool,
    /// Offer "Sign in with a passkey" (the server has a relying party).
    pub passkeys: bool,
}

/// The page a password-reset link opens.
#[derive(Template)]
#[template(path = "reset.html")]
pub struct ResetPage {
    /// Whose password.
    pub username: String,
    /// The link's token, posted back.
    pub token: String,
    /// Why the last attempt was refused.
    pub error: Option<String>,
}

/// The page a verification or e-mail change link opens.
#[derive(Template)]
#[template(path = "verify.html")]
pub struct VerifyPage {
    /// The account (the sign-up's chosen username, or the account moving).
    pub username: String,
    /// An e-mail change: the address the account moves to.
    pub new_email: Option<String>,
    /// A sign-up: the password chosen then is asked for.
    pub needs_password: bool,
    /// The link's token, posted back.
    pub token: String,
    /// The CSRF token.
    pub csrf: String,
    /// Why the last attempt was refused.
    pub error: Option<String>,
}

/// The account page's own sign-in form.
#[derive(Template)]
#[template(path = "account_login.html")]
pub struct AccountLoginPage {
    /// Why the last attempt was refused.
    pub error: Option<String>,
    /// Kept after a failure.
    pub username: String,
    /// The CSRF token.
    pub csrf: String,
    /// Link to the password-reset page.
    pub reset: bool,
    /// Offer "Sign in with a passkey".
    pub passkeys: bool,
}

/// One line of the account page.
#[derive(Debug)]
pub struct SessionLine {
    /// An app (client id) or "this browser".
    pub client: String,
    /// Start or last use, UTC.
    pub since: String,
    /// End, UTC.
    pub until: String,
    /// The browser viewing the page.
    pub current: bool,
}

/// The account page: where the user is signed in, and "log out everywhere".
#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    /// Username.
    pub username: String,
    /// E-mail.
    pub email: String,
    /// Browser sessions.
    pub sessions: Vec<SessionLine>,
    /// Refresh families.
    pub families: Vec<SessionLine>,
    /// The CSRF token.
    pub csrf: String,
    /// The authenticator app, when enrolled: when added, when last used.
    pub totp: Option<(String, String)>,
    /// Recovery codes left.
    pub recovery_left: Option<i64>,
    /// A second factor is required of this user.
    pub required: bool,
    /// The server has passkeys (a relying party).
    pub passkeys_on: bool,
    /// The user's passkeys.
    pub passkeys: Vec<PasskeyLine>,
}

/// A passkey on the account page.
#[derive(Debug, Clone)]
pub struct PasskeyLine {
    /// Credential id (for removal).
    pub id: String,
    /// Its name.
    pub name: String,
    /// When added.
    pub created: String,
    /// When last used.
    pub last_used: String,
}

/// "Forgot your password?": asks for the address.
#[derive(Template)]
#[template(path = "forgot.html")]
pub struct ForgotPage {
    /// The CSRF token.
    pub csrf: String,
}

/// The sign-up page.
#[derive(Template)]
#[template(path = "signup.html")]
pub struct SignupPage {
    /// Why the last attempt was refused.
    pub error: Option<String>,
    /// Kept after a failure.
    pub email: String,
    /// Kept after a failure.
    pub username: String,
    /// The CSRF token.
    pub csrf: String,
}

/// The consent page.
#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage {
    /// The client's display name.
    pub client_name: String,
    /// Who is signed in.
    pub username: String,
    /// One line per scope asked for.
    pub scopes: Vec<String>,
    /// The authorization request, carried through the form.
    pub hidden: Vec<(String, String)>,
    /// The CSRF token.
    pub csrf: String,
    /// Proof that Tessera showed this page for this request and session
    /// (`authorize::consent_ticket`).
    pub ticket: String,
}

/// "Sign out of Tessera?": a logout that did not prove it speaks for the session.
#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage {
    /// The logout request, carried through the form.
    pub hidden: Vec<(String, String)>,
    /// The CSRF token.
    pub csrf: String,
}

/// "Signed out": the front-channel logout pages of the session's applications in hidden
/// iframes, then (after `delay` seconds, or by the link) back to the application.
#[derive(Template)]
#[template(path = "signed_out.html")]
pub struct SignedOutPage {
    /// Front-channel logout URLs, with `iss` and `sid`.
    pub frames: Vec<String>,
    /// The registered `post_logout_redirect_uri` (with `state`) to go back to.
    pub next: Option<String>,
    /// Seconds before going back (the frames' time to load).
    pub delay: u32,
}

/// Lets a page load frames from `origins` (the signed-out page's front-channel logout
/// iframes): `frame-src` names exactly them, every other page keeps `default-src 'none'`.
pub fn allow_frames(response: &mut Response, origins: &[String]) {
    if origins.is_empty() {
        return;
    }
    let h = response.headers_mut();
    let Some(csp) = h
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    let csp = format!("{csp}; frame-src {}", origins.join(" "));
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
}

/// A page with a title and one message (errors, "signed out").
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    /// Heading.
    pub title: String,
    /// Text.
    pub message: String,
    /// Shown as an error.
    pub error: bool,
}

const STYLESHEET: &str = include_str!("../../assets/tessera.css");
const PASSKEY_SCRIPT: &str = include_str!("../../assets/passkey.js");

/// `/oauth/assets/tessera.css`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/oauth/assets/passkey.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                    ],
                    PASSKEY_SCRIPT,
                )
            }),
        )
        .route(
            "/oauth/assets/tessera.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                    ],
                    STYLESHEET,
                )
            }),
        )
}

/// Renders `page` with `status` and the security headers. `form_target` is an origin the
/// page's form may end up at (the client, after a redirect), added to CSP `form-action`.
pub fn render(page: &impl Template, status: StatusCode, form_target: Option<&str>) -> Response {
    let body = match page.render() {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut response = (status, body).into_response();
    secure(&mut response, form_target);
    response
}

/// The headers every page carries.
pub fn secure(response: &mut Response, form_target: Option<&str>) {
    let form_action = match form_target {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_owned(),
    };
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; \
         connect-src 'self'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// A message page.
pub fn message(status: StatusCode, title: &str, message: &str, error: bool) -> Response {
    render(
        &MessagePage {
            title: title.to_owned(),
            message: message.to_owned(),
            error,
        },
        status,
        None,
    )
}

/// 503 with `Retry-After: 5`: the database, or something else a page needs, is away.
pub fn unavailable() -> Response {
    let mut r = message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again in a moment",
        "Tessera cannot reach its database right now. Please try again.",
        true,
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    r
}

/// What a sign-in form (the authorization endpoint's, the account page's) shows for a
/// sign-in that started no session.
#[derive(Debug)]
pub enum SignInRefusal {
    /// The form again, with this message and status, and `Retry-After` when throttled.
    Form {
        /// Shown above the form.
        message: String,
        /// 401 for refused credentials, 429 when throttled.
        status: StatusCode,
        /// Seconds to wait, when throttled.
        retry_after: Option<i64>,
    },
    /// A whole page instead: the password could not be checked, or the session not started.
    Page(Response),
}

/// The one mapping of a failed browser sign-in to what its form shows.
pub fn sign_in_refusal(e: &SignInError) -> SignInRefusal {
    match e {
        SignInError::Login(LoginError::NoActiveAccount) => SignInRefusal::Form {
            message: "The username or password is not correct.".into(),
            status: StatusCode::UNAUTHORIZED,
            retry_after: None,
        },
        SignInError::Login(LoginError::Throttled(wait)) => SignInRefusal::Form {
            message: format!(
                "Too many failed sign-ins. Please wait {} seconds and try again.",
                wait.seconds
            ),
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after: Some(wait.seconds.max(1)),
        },
        SignInError::Login(e) => {
            tracing::warn!(error = %e, "a sign-in form could not check a password");
            SignInRefusal::Page(message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again in a moment",
                "Tessera is busy and could not check your password. Please try again.",
                true,
            ))
        }
        SignInError::Session(e) => {
            tracing::error!(error = %e, "could not start a session");
            SignInRefusal::Page(unavailable())
        }
        SignInError::SecondFactor(e) => {
            tracing::warn!(error = %e, "a second factor was not taken");
            SignInRefusal::Page(unavailable())
        }
        SignInError::Authn(e) => {
            tracing::error!(error = %e, "a factor could not be used");
            SignInRefusal::Page(unavailable())
        }
        SignInError::Store(e) => {
            tracing::warn!(error = %e, "a sign-in failed on the store");
            SignInRefusal::Page(unavailable())
        }
    }
}

/// `page` answered with `status`, and with `Retry-After` when given.
pub fn with_status(mut page: Response, status: StatusCode, retry_after: Option<i64>) -> Response {
    *page.status_mut() = status;
    if let Some(seconds) = retry_after {
        page.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    page
}

/// What a scope lets a client do, for the consent page.
pub fn describe_scope(scope: &str) -> String {
    match scope {
        "openid" => "Know who you are (your account id)".into(),
        "profile" => "See your name and username".into(),
        "email" => "See your e-mail address".into(),
        crate::service::client::ADMIN_SCOPE => {
            "Administer Tessera with your rights (users, clients, keys)".into()
        }
        other => format!("Use the permission “{other}”"),
    }
}

/// The second-factor form of a sign-in.
#[derive(Template)]
#[template(path = "second_factor.html")]
pub struct SecondFactorPage {
    /// The client signed in to, if any.
    pub client_name: Option<String>,
    /// A failed attempt's message.
    pub error: Option<String>,
    /// The authorization request, carried through the form (empty for the account page).
    pub hidden: Vec<(String, String)>,
    /// The CSRF token.
    pub csrf: String,
    /// Offer a passkey instead of a code.
    pub passkeys: bool,
}

/// TOTP enrolment: the QR code, the key, and the form confirming the first code.
#[derive(Template)]
#[template(path = "enrol.html")]
pub struct EnrolPage {
    /// The client signed in to, if any.
    pub client_name: Option<String>,
    /// A failed attempt's message.
    pub error: Option<String>,
    /// The QR code (an SVG drawn by Tessera).
    pub qr_svg: String,
    /// The secret, base32.
    pub secret: String,
    /// Where the form posts.
    pub action: &'static str,
    /// The authorization request, carried through the form.
    pub hidden: Vec<(String, String)>,
    /// The CSRF token.
    pub csrf: String,
}

/// The recovery codes, shown once.
#[derive(Template)]
#[template(path = "recovery_codes.html")]
pub struct RecoveryCodesPage {
    /// The codes.
    pub codes: Vec<String>,
    /// Where "continue" posts.
    pub action: &'static str,
    /// The authorization request, carried through the form.
    pub hidden: Vec<(String, String)>,
    /// The CSRF token.
    pub csrf: String,
}
