//! The browser's SSO session cookie: its name (`__Host-` on https), reading it, setting it
//! and clearing it. Every page that signs a browser in or out uses these.

use crate::state::AppState;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

/// The SSO session cookie on plain http.
pub const SESSION_COOKIE: &str = "tessera_session";
/// The SSO session cookie on https: `__Host-`, so no sibling subdomain can set one (and
/// sign a browser in as someone else).
pub const HOST_SESSION_COOKIE: &str = "__Host-tessera_session";

/// The session cookie's name for this issuer.
pub fn session_cookie_name(state: &AppState) -> &'static str {
    if state.issuer.starts_with("https://") {
        HOST_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// The browser's session cookie value, if it sent one.
pub fn session_value<'j>(state: &AppState, jar: &'j CookieJar) -> Option<&'j str> {
    jar.get(session_cookie_name(state)).map(Cookie::value)
}

/// The jar with the session cookie cleared.
pub fn without_session(state: &AppState, jar: CookieJar) -> CookieJar {
    jar.remove(Cookie::build(session_cookie_name(state)).path("/"))
}

/// The session cookie carrying `value`: HttpOnly, SameSite=Lax, Secure on https, for the
/// session's lifetime.
pub fn session_cookie(state: &AppState, value: String) -> Cookie<'static> {
    let max_age = crate::domain::time::seconds(state.settings.sso.session_lifetime);
    Cookie::build((session_cookie_name(state), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.issuer.starts_with("https://"))
        .max_age(time::Duration::seconds(max_age))
        .build()
}

/// The cookie carrying a sign-in between its password and its second factor (plain http).
pub const MFA_COOKIE: &str = "tessera_mfa";
/// The same on https.
pub const HOST_MFA_COOKIE: &str = "__Host-tessera_mfa";

fn mfa_cookie_name(state: &AppState) -> &'static str {
    if state.issuer.starts_with("https://") {
        HOST_MFA_COOKIE
    } else {
        MFA_COOKIE
    }
}

/// The second-factor ticket the browser carries, if any.
pub fn mfa_value<'j>(state: &AppState, jar: &'j CookieJar) -> Option<&'j str> {
    jar.get(mfa_cookie_name(state)).map(Cookie::value)
}

/// The cookie carrying a second-factor ticket: HttpOnly, SameSite=Lax, the ticket's life.
pub fn mfa_cookie(state: &AppState, ticket: String) -> Cookie<'static> {
    Cookie::build((mfa_cookie_name(state), ticket))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.issuer.starts_with("https://"))
        .max_age(time::Duration::seconds(
            crate::service::authn::ticket::LIFETIME,
        ))
        .build()
}

/// The jar with the second-factor ticket cleared.
pub fn without_mfa(state: &AppState, jar: CookieJar) -> CookieJar {
    jar.remove(Cookie::build(mfa_cookie_name(state)).path("/"))
}
