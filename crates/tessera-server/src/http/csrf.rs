//! CSRF tokens of the server-rendered forms (sign-in, consent, account, sign-up, forgot
//! password, logout confirmation), bound to the server.
//!
//! The browser holds a random nonce in a cookie (`__Host-tessera_csrf` on https, so no
//! sibling subdomain can set it; `tessera_csrf` on plain http); a form carries an HMAC of
//! that nonce and of the browser's SSO session cookie under Tessera's MAC key. Someone who
//! can set cookies on the host can choose the nonce, but not make the field without the
//! key, nor take it from a page shown to another session: a cookie-and-field pair the
//! client picks (double submit) is refused.

use crate::http::session_cookie::session_value;
use crate::service::sso::authorize;
use crate::state::AppState;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The nonce cookie on plain http.
pub const COOKIE: &str = "tessera_csrf";
/// The nonce cookie on https: `__Host-` makes browsers refuse it from anything but this
/// host, over https, for path `/`, without a `Domain`.
pub const HOST_COOKIE: &str = "__Host-tessera_csrf";

const PURPOSE: &str = "csrf";
/// Characters of a nonce: 32 random bytes, base64url.
const NONCE_CHARS: usize = 43;

/// The nonce cookie's name for this issuer.
pub fn cookie_name(state: &AppState) -> &'static str {
    if secure(state) { HOST_COOKIE } else { COOKIE }
}

fn secure(state: &AppState) -> bool {
    state.issuer.starts_with("https://")
}

/// The field a form must carry in this browser, and the jar with a nonce cookie set when
/// the browser had none.
pub fn token(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    let (jar, nonce) = nonce(state, jar);
    if nonce.is_empty() {
        return (jar, String::new());
    }
    let tag = state
        .keys
        .current()
        .mac()
        .tag(PURPOSE, &message(&nonce, session(state, &jar)));
    (jar, URL_SAFE_NO_PAD.encode(tag))
}

/// This browser's nonce, as it sent it; `None` without one.
pub fn nonce_of<'j>(state: &AppState, jar: &'j CookieJar) -> Option<&'j str> {
    jar.get(cookie_name(state))
        .map(Cookie::value)
        .filter(|v| v.len() == NONCE_CHARS)
}

/// This browser's nonce, and the jar with the nonce cookie set when the browser had none
/// (empty if the random generator failed: no form of this browser will then pass).
pub fn nonce(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    let name = cookie_name(state);
    match nonce_of(state, &jar).map(str::to_owned) {
        Some(existing) => (jar, existing),
        None => {
            let Ok(nonce) = authorize::random_token() else {
                return (jar, String::new());
            };
            let cookie = Cookie::build((name, nonce.clone()))
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .secure(secure(state))
                .build();
            (jar.add(cookie), nonce)
        }
    }
}

/// Whether `field` is this browser's token (constant time).
pub fn ok(state: &AppState, jar: &CookieJar, field: &str) -> bool {
    let Some(nonce) = nonce_of(state, jar) else {
        return false;
    };
    let Ok(tag) = URL_SAFE_NO_PAD.decode(field) else {
        return false;
    };
    state
        .keys
        .current()
        .mac()
        .verify_tag(PURPOSE, &message(nonce, session(state, jar)), &tag)
}

fn session<'j>(state: &AppState, jar: &'j CookieJar) -> &'j str {
    session_value(state, jar).unwrap_or_default()
}

/// The nonce and the session cookie, length-prefixed so no two pairs share bytes.
fn message(nonce: &str, session: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(nonce.len() + session.len() + 16);
    for part in [nonce, session] {
        out.extend_from_slice(&(part.len() as u64).to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}
