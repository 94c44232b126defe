//! Logging in with a username or e-mail and a password.
//!
//! Unknown user, wrong password and disabled account give the same error after the same
//! work (a hash is always verified), so neither the answer nor its timing tells them apart.

use super::authn::{self, AuthnError, Requirement, SecondFactorError};
use super::password::HashError;
use super::token::{self, Authn, Grant, Issued, TokenError};
use super::{audit, throttle};
use crate::domain::authn::{Method, Methods};
use crate::state::AppState;
use crate::store::{Store, StoreError, User};
use tessera_proto::{Secret, TokenPair};

/// Who is logging in.
#[derive(Debug, Clone)]
pub enum LoginId {
    /// A username, or an e-mail address: an id containing `@` is the account with that
    /// address first, then the one with that username (so a username cannot shadow
    /// someone's address).
    Username(String),
    /// An e-mail address.
    Email(String),
}

impl LoginId {
    /// The id as typed.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Username(s) | Self::Email(s) => s,
        }
    }
}

/// The longest login id looked up: an e-mail address's limit (RFC 5321).
pub const MAX_LOGIN_ID_CHARS: usize = 254;

/// Login failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// Unknown account, wrong password or disabled account (deliberately one case).
    #[error("no active account found with the given credentials")]
    NoActiveAccount,
    /// Too many failed attempts: wait (429).
    #[error("too many failed logins")]
    Throttled(super::throttle::Wait),
    /// The password could not be checked (too long, queue full, hasher failure).
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A password login through the API did not give tokens.
#[derive(Debug, thiserror::Error)]
pub enum ObtainError {
    /// The credentials were refused, or could not be checked.
    #[error(transparent)]
    Login(#[from] LoginError),
    /// The tokens could not be issued.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The password was right; the account signs in with a second factor too: the
    /// sign-in's ticket (`mfa_token`) and the methods it takes.
    #[error("a second factor is required")]
    MfaRequired {
        /// The ticket.
        token: String,
        /// `totp`, `recovery_code`.
        methods: Vec<&'static str>,
    },
    /// The password was right; the account must enrol a second factor first (in a
    /// browser).
    #[error("the account must enrol a second factor first")]
    MfaEnrollmentRequired,
    /// The second factor was refused.
    #[error(transparent)]
    SecondFactor(#[from] SecondFactorError),
    /// A ticket could not be issued.
    #[error(transparent)]
    Authn(#[from] AuthnError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `POST /auth/token/`: checks the credentials and issues an access token and the first
/// refresh token of a new family.
///
/// # Errors
/// [`ObtainError`].
pub async fn obtain_pair(
    state: &AppState,
    id: &LoginId,
    password: &Secret,
    ip: std::net::IpAddr,
) -> Result<TokenPair, ObtainError> {
    let user = authenticate(state, id, password, ip).await?;
    let authn = password_only(state, &user).await?;
    let grant = Grant {
        authn: Some(&authn),
        ..Grant::DIRECT
    };
    let pair = token::issue_pair_for(state, &user, grant).await?;
    state.metrics.issued("password");
    Ok(pair)
}

/// `POST /auth/token/mfa/`: completes a login that answered `mfa_required` with a code
/// (TOTP or recovery) and issues the pair.
///
/// # Errors
/// [`ObtainError::SecondFactor`] for a wrong code or a dead ticket.
pub async fn obtain_pair_mfa(
    state: &AppState,
    mfa_token: &str,
    code: &str,
    ip: std::net::IpAddr,
) -> Result<TokenPair, ObtainError> {
    let (user, methods) =
        authn::complete(state, mfa_token, authn::ticket::Purpose::Api, code, ip).await?;
    let authn = Authn::of(&methods, state.clock.unix());
    let grant = Grant {
        authn: Some(&authn),
        ..Grant::DIRECT
    };
    let pair = token::issue_pair_for(state, &user, grant).await?;
    state.metrics.issued("password");
    Ok(pair)
}

/// How a password login without a client goes on: the password alone is enough (its
/// `Authn`), or the login answers `mfa_required` (with a ticket) or
/// `mfa_enrollment_required`.
///
/// # Errors
/// [`ObtainError`].
async fn password_only(state: &AppState, user: &User) -> Result<Authn, ObtainError> {
    let now = state.clock.unix();
    let methods = Methods::one(Method::Password, now);
    match authn::requirement(state, user, None, None).await? {
        Requirement::PasswordOnly => Ok(Authn::of(&methods, now)),
        Requirement::SecondFactor => {
            let factors = authn::factors_of(state, user.id).await?;
            Err(ObtainError::MfaRequired {
                token: authn::ticket::issue(state, user, &methods, authn::ticket::Purpose::Api)
                    .await?,
                methods: factors.methods(),
            })
        }
        Requirement::Enrol => Err(ObtainError::MfaEnrollmentRequired),
    }
}

/// A login of the Flask-style API: checks the credentials and issues an access token only
/// (these clients log in again instead of refreshing).
///
/// # Errors
/// [`ObtainError`].
pub async fn obtain_access(
    state: &AppState,
    id: &LoginId,
    password: &Secret,
    ip: std::net::IpAddr,
) -> Result<Issued, ObtainError> {
    let user = authenticate(state, id, password, ip).await?;
    let authn = password_only(state, &user).await?;
    let grant = Grant {
        authn: Some(&authn),
        ..Grant::DIRECT
    };
    let issued = token::issue_for(state, &user, grant, false).await?;
    state.metrics.issued("password");
    Ok(issued)
}

/// Checks the credentials and returns the active user.
///
/// # Errors
/// [`LoginError`].
pub async fn authenticate(
    state: &AppState,
    id: &LoginId,
    password: &Secret,
    ip: std::net::IpAddr,
) -> Result<User, LoginError> {
    // No account has a longer id (usernames 150, addresses 254 characters): refused before
    // anything is counted or stored, so a flood of made-up long ids writes nothing.
    if id.as_str().chars().count() > MAX_LOGIN_ID_CHARS {
        return Err(LoginError::NoActiveAccount);
    }
    // The account is looked up before the throttle, so that its budget is one whatever it
    // is called by (username, address, another case); unknown ids count as typed.
    let user = find(state, id).await?;
    let mut attempt = throttle::Attempt::new(user.as_ref().map(|u| u.id), id.as_str(), ip);
    let subject = audit_subject(state, user.as_ref(), id);
    if let Some(wait) = throttle::check(state, &mut attempt).await? {
        state.metrics.login_throttled.inc();
        // Answered before any hashing, so cheap to send by the thousand: one event per
        // address a minute, whatever the login ids (the metric counts each).
        let now = state.clock.unix();
        if state.throttle_audit.first_in(&ip.to_string(), now, 60) {
            audit::event("login.throttled")
                .subject(&subject)
                .ip(ip)
                .detail(format!(
                    "wait {} s; repeats within a minute are only counted",
                    wait.seconds
                ))
                .record(state.store.as_ref(), now)
                .await;
        }
        return Err(LoginError::Throttled(wait));
    }
    // Once a hashing slot is ours, the throttle looks again (in memory: the failures this
    // process recorded since the check): attempts queued behind the failures of a burst
    // are refused now rather than hashed (the check above saw none of them: 300
    // concurrent guesses were 279 hashes). Correct logins record no failure, so
    // concurrent ones are not slowed.
    let slot = state.hasher.slot().await?;
    if let Some(wait) = throttle::recheck(state, &attempt) {
        drop(slot);
        state.metrics.login_throttled.inc();
        return Err(LoginError::Throttled(wait));
    }
    let (verdict, slot) = state
        .hasher
        .verify_in(
            slot,
            password,
            user.as_ref().map(|u| u.password_hash.as_str()),
        )
        .await?;
    let user = match user {
        Some(u) if verdict.matches && u.is_active && u.email_verified => u,
        _ => {
            state.metrics.login_failures.inc();
            // Counted before the slot is given up (this process's memory, before any
            // await), so the attempts queued for it see this failure at their recheck.
            // (Before, the hashing thread freed the slot and a waiting attempt could
            // recheck before the failure was counted: 8 guesses hashed where 7 are the
            // bound, on a loaded machine.)
            throttle::failed(state, &attempt).await?;
            drop(slot);
            audit::event("login.failure")
                .subject(&subject)
                .ip(ip)
                .record(state.store.as_ref(), state.clock.unix())
                .await;
            return Err(LoginError::NoActiveAccount);
        }
    };
    drop(slot);
    throttle::succeeded(state, &attempt).await?;
    audit::event("login.success")
        .actor(user.id)
        .subject(&subject)
        .ip(ip)
        .record(state.store.as_ref(), state.clock.unix())
        .await;
    if verdict.needs_rehash {
        upgrade_hash(state, &user, password).await;
    }
    let now = crate::store::stored_time(state.clock.now());
    state.store.record_login(user.id, now).await?;
    Ok(User {
        last_login: Some(now),
        ..user
    })
}

/// Who a login attempt is recorded as: the account's username when the id names one;
/// otherwise never the text typed (it may be a password typed in the wrong box), but
/// `unknown:` and a short keyed hash of it, so repeated attempts at one id correlate.
fn audit_subject(state: &AppState, user: Option<&User>, id: &LoginId) -> String {
    if let Some(user) = user {
        return user.username.clone();
    }
    let folded = crate::domain::user::username_key(id.as_str());
    let tag = state
        .keys
        .current()
        .mac()
        .tag("audit-login-id", folded.as_bytes());
    format!(
        "unknown:{}",
        crate::domain::digest::hex(tag.get(..6).unwrap_or_default())
    )
}

async fn find(state: &AppState, id: &LoginId) -> Result<Option<User>, StoreError> {
    match id {
        LoginId::Email(email) => state.store.user_by_email(email).await,
        LoginId::Username(name) => lookup(state.store.as_ref(), name).await,
    }
}

/// The account a username or address names: an id containing `@` is first the account
/// that proved that address, then the one with that username (then a pending one with the
/// address); any other id a username (without
/// regard to case or width).
///
/// # Errors
/// [`StoreError`].
pub async fn lookup(store: &dyn Store, id: &str) -> Result<Option<User>, StoreError> {
    if !id.contains('@') {
        return store.user_by_username(id).await;
    }
    // Only a proven owner of the address comes first: a pending sign-up for it must not
    // hide an account whose username it is. Both lookups run every time, whatever the
    // first finds: an unknown address must cost what a known one does (measured: one
    // lookup fewer for a known address told them apart, p = 0.009 over 300 pairs,
    // bench/login_timing.py).
    let (owner, named) = tokio::join!(store.user_by_email(id), store.user_by_username(id));
    let (owner, named) = (owner?, named?);
    if let Some(owner) = owner.as_ref().filter(|o| o.email_verified) {
        return Ok(Some(owner.clone()));
    }
    Ok(named.or(owner))
}

/// Stores a hash with the current parameters in place of the one just verified (never
/// over a password set meanwhile); a failure only delays the upgrade.
async fn upgrade_hash(state: &AppState, user: &User, password: &Secret) {
    let result = match state.hasher.hash(password).await {
        Ok(hash) => state
            .store
            .upgrade_password_hash(user.id, &user.password_hash, &hash)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(error) = result {
        tracing::warn!(user_id = user.id, %error, "could not upgrade the password hash");
    }
}
