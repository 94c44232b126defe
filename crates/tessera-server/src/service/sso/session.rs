//! Browser SSO sessions: a random cookie whose SHA-256 is the only thing stored.

use crate::domain::authn::{Level, Method, Methods};
use crate::domain::digest::sha256_hex;
use crate::service::authn::ticket::Purpose;
use crate::service::authn::{self, AuthnError, Requirement, SecondFactorError};
use crate::service::login::{self, LoginError, LoginId};
use crate::service::sso::authorize::random_token;
use crate::state::AppState;
use crate::store::{LiveFamily, Session, StoreError, User};
use tessera_proto::Secret;
use tessera_token::RandomError;
use tessera_token::claims::random_hex;

/// A session could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The random generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// Starts a session for `user`, authenticated now with `methods`. Returns the cookie value
/// (to set once, never stored) and the session.
///
/// # Errors
/// [`SessionError`].
pub async fn start(
    state: &AppState,
    user: &User,
    methods: &Methods,
) -> Result<(String, Session), SessionError> {
    start_at(state, user, methods, state.clock.unix()).await
}

/// [`start`] for a sign-in that authenticated at `auth_time` (a browser whose session
/// ended with a change it made goes on, authenticated when it was).
///
/// # Errors
/// [`SessionError`].
pub async fn start_at(
    state: &AppState,
    user: &User,
    methods: &Methods,
    auth_time: i64,
) -> Result<(String, Session), SessionError> {
    let cookie = random_token()?;
    let now = state.clock.unix();
    let lifetime = crate::domain::time::seconds(state.settings.sso.session_lifetime);
    let session = Session {
        token_hash: sha256_hex(&cookie),
        sid: random_hex::<16>()?,
        user_id: user.id,
        auth_time,
        expires_at: now.saturating_add(lifetime),
        session_epoch: user.session_epoch,
        methods: methods.stored(),
    };
    state.store.create_session(&session).await?;
    Ok((cookie, session))
}

/// A browser sign-in did not start a session.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The credentials were refused, or could not be checked.
    #[error(transparent)]
    Login(#[from] LoginError),
    /// The session could not be started.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The second factor was refused.
    #[error(transparent)]
    SecondFactor(#[from] SecondFactorError),
    /// A factor could not be enrolled or checked.
    #[error(transparent)]
    Authn(#[from] AuthnError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a sign-in stands.
#[derive(Debug)]
pub enum SignedIn {
    /// Done: the cookie value (to set once) and the session.
    Session(String, Session),
    /// The password was right; a second factor is needed: the ticket to carry to the
    /// second-factor form (a cookie).
    SecondFactor(String),
    /// The password was right; the user must enrol a second factor first (the ticket is
    /// carried the same way).
    Enrol(String),
}

/// A sign-in form (the authorization endpoint's, the account page's): checks the password
/// of `username` through the login throttle, then either starts a session for the user,
/// or, when the policy asks for a second factor (for `client` and the `requested`
/// level), issues the ticket that carries the sign-in to the second-factor form.
///
/// # Errors
/// [`SignInError`].
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: &Secret,
    ip: std::net::IpAddr,
    client: Option<&crate::store::Client>,
    requested: Option<Level>,
) -> Result<SignedIn, SignInError> {
    let id = LoginId::Username(username.to_owned());
    let user = login::authenticate(state, &id, password, ip).await?;
    let methods = Methods::one(Method::Password, state.clock.unix());
    next_step(state, &user, &methods, client, requested).await
}

/// What follows once `user` has used `methods`: a session, or a ticket for the second
/// factor (or its enrolment).
async fn next_step(
    state: &AppState,
    user: &User,
    methods: &Methods,
    client: Option<&crate::store::Client>,
    requested: Option<Level>,
) -> Result<SignedIn, SignInError> {
    match authn::requirement(state, user, client, requested).await? {
        Requirement::SecondFactor if !methods.has_second_factor() => Ok(SignedIn::SecondFactor(
            authn::ticket::issue(state, user, methods, Purpose::Browser).await?,
        )),
        Requirement::Enrol if !methods.has_second_factor() => Ok(SignedIn::Enrol(
            authn::ticket::issue(state, user, methods, Purpose::Browser).await?,
        )),
        _ => {
            let (cookie, session) = start(state, user, methods).await?;
            Ok(SignedIn::Session(cookie, session))
        }
    }
}

/// A step-up of a live session: the ticket that carries it to the second-factor form,
/// with the session's methods so far.
///
/// # Errors
/// [`SignInError`].
pub async fn step_up(
    state: &AppState,
    session: &Session,
) -> Result<Option<(String, Requirement)>, SignInError> {
    let Some(user) = state.store.user_by_id(session.user_id).await? else {
        return Ok(None);
    };
    let factors = authn::factors_of(state, user.id).await?;
    let requirement = if factors.enrolled() {
        Requirement::SecondFactor
    } else {
        Requirement::Enrol
    };
    // Enrolling in a step-up needs the password again: no ticket for it here.
    if requirement == Requirement::Enrol {
        return Ok(Some((String::new(), requirement)));
    }
    let methods = Methods::parse(&session.methods);
    let ticket = authn::ticket::issue(state, &user, &methods, Purpose::Browser).await?;
    Ok(Some((ticket, requirement)))
}

/// The second-factor form: completes the sign-in `ticket` stands for with `code`. When
/// the browser already has a live session of that user (a step-up), that session now
/// records the new method; otherwise a new session starts.
///
/// # Errors
/// [`SignInError`].
pub async fn second_factor(
    state: &AppState,
    ticket: &str,
    code: &str,
    ip: std::net::IpAddr,
    current: Option<(String, Session)>,
) -> Result<SignedIn, SignInError> {
    let (user, methods) = authn::complete(state, ticket, Purpose::Browser, code, ip).await?;
    finish(state, &user, &methods, current).await
}

/// The second-factor step with a passkey (the WebAuthn answer to the ceremony the page
/// started): as [`second_factor`].
///
/// # Errors
/// [`SignInError`].
pub async fn second_factor_passkey(
    state: &AppState,
    ticket: &str,
    ceremony: &str,
    credential: &serde_json::Value,
    ip: std::net::IpAddr,
    current: Option<(String, Session)>,
) -> Result<SignedIn, SignInError> {
    let (user, methods) =
        authn::second_factor::complete_with_passkey(state, ticket, ceremony, credential, ip)
            .await?;
    finish(state, &user, &methods, current).await
}

/// A usernameless sign-in with a passkey (the WebAuthn answer to the ceremony
/// `authn::passkey::begin_sign_in` started): a new session. A cloned authenticator is
/// refused and audited.
///
/// # Errors
/// [`SignInError::Authn`] for a refused answer.
pub async fn passkey_sign_in(
    state: &AppState,
    ceremony: &str,
    credential: &serde_json::Value,
) -> Result<String, SignInError> {
    let (user, methods) = match authn::passkey::finish_sign_in(state, ceremony, credential).await {
        Ok(found) => found,
        Err(AuthnError::Cloned) => {
            authn::passkey::audit_cloned(state, credential).await;
            return Err(AuthnError::Cloned.into());
        }
        Err(e) => return Err(e.into()),
    };
    let (cookie, _) = start(state, &user, &methods).await?;
    crate::service::audit::event("login.success")
        .actor(user.id)
        .subject(&user.username)
        .detail("passkey")
        .record(state.store.as_ref(), state.clock.unix())
        .await;
    Ok(cookie)
}

/// A browser whose session ended with a change it made (a passkey added or removed) goes
/// on in a new one, as it was: the same methods, authenticated when it was. `None` when
/// the user is gone.
///
/// # Errors
/// Store failures, [`SessionError`].
pub async fn resume(
    state: &AppState,
    user_id: i64,
    was: &Session,
) -> Result<Option<String>, SignInError> {
    let Some(user) = state.store.user_by_id(user_id).await? else {
        return Ok(None);
    };
    let methods = Methods::parse(&was.methods);
    let (cookie, _) = start_at(state, &user, &methods, was.auth_time).await?;
    Ok(Some(cookie))
}

/// A sign-in whose methods are now enough: the browser's session of this user takes
/// them with a new cookie (a step-up keeps its `sid`; a copy of the old cookie stays at
/// the old level: it is dead), or a new one starts.
async fn finish(
    state: &AppState,
    user: &User,
    methods: &Methods,
    current: Option<(String, Session)>,
) -> Result<SignedIn, SignInError> {
    if let Some((_, session)) = current
        && session.user_id == user.id
        && session.session_epoch == user.session_epoch
    {
        let cookie = random_token().map_err(SessionError::from)?;
        let now = state.clock.unix();
        let old_hash = session.token_hash.clone();
        let upgraded = Session {
            token_hash: sha256_hex(&cookie),
            methods: methods.stored(),
            auth_time: now,
            ..session
        };
        if state
            .store
            .upgrade_session(&old_hash, &upgraded.token_hash, &upgraded.methods, now)
            .await?
        {
            return Ok(SignedIn::Session(cookie, upgraded));
        }
    }
    let (cookie, session) = start(state, user, methods).await?;
    Ok(SignedIn::Session(cookie, session))
}

/// Enrolment during a sign-in (a user who must use a second factor and has none): a new
/// TOTP secret for the ticket's user, to show once.
///
/// # Errors
/// [`SignInError`]: an expired ticket is [`SecondFactorError::Expired`].
pub async fn begin_enrolment(
    state: &AppState,
    ticket: &str,
) -> Result<authn::totp::Enrolment, SignInError> {
    let user = authn::ticket::user_of(state, ticket, Purpose::Browser)
        .await?
        .ok_or(SecondFactorError::Expired)?;
    Ok(authn::totp::begin(state, &user).await?)
}

/// Enrolment during a sign-in, confirmed with the new authenticator's first code, which
/// also completes the sign-in. Returns the sign-in and the recovery codes to show once.
///
/// # Errors
/// [`SignInError`].
pub async fn enrol_and_finish(
    state: &AppState,
    ticket: &str,
    code: &str,
    ip: std::net::IpAddr,
    current: Option<(String, Session)>,
) -> Result<(SignedIn, Vec<String>), SignInError> {
    let (user, methods, codes) =
        authn::second_factor::complete_enrolment(state, ticket, code, ip).await?;
    let signed = finish(state, &user, &methods, current).await?;
    Ok((signed, codes))
}

/// The live session the cookie names, if any: its user must still be active, and in the
/// session epoch the session started in (a session started while the user's sessions were
/// being ended does not survive them).
///
/// # Errors
/// Store failures.
pub async fn current(
    state: &AppState,
    cookie: Option<&str>,
) -> Result<Option<Session>, StoreError> {
    Ok(current_user(state, cookie)
        .await?
        .map(|(_, session)| session))
}

/// [`current`], with the session's user.
///
/// # Errors
/// Store failures.
pub async fn current_user(
    state: &AppState,
    cookie: Option<&str>,
) -> Result<Option<(User, Session)>, StoreError> {
    let Some(cookie) = cookie.filter(|c| !c.is_empty() && c.len() <= 128) else {
        return Ok(None);
    };
    let Some(session) = state
        .store
        .session(&sha256_hex(cookie), state.clock.unix())
        .await?
    else {
        return Ok(None);
    };
    match state.store.user_by_id(session.user_id).await? {
        Some(u) if u.is_active && u.session_epoch == session.session_epoch => {
            Ok(Some((u, session)))
        }
        _ => Ok(None),
    }
}

/// Where the user is signed in, for the account page: their live browser sessions and
/// refresh-token families, newest first.
///
/// # Errors
/// Store failures.
pub async fn of_user(
    state: &AppState,
    user_id: i64,
) -> Result<(Vec<Session>, Vec<LiveFamily>), StoreError> {
    let now = state.clock.unix();
    tokio::try_join!(
        state.store.user_sessions(user_id, now),
        state.store.user_families(user_id, now)
    )
}

/// Ends the session the cookie names, and tells the clients that got tokens through it
/// (back-channel logout). Returns whether one was live.
///
/// # Errors
/// Store failures.
pub async fn end(state: &AppState, cookie: Option<&str>) -> Result<bool, StoreError> {
    let Some(c) = cookie.filter(|c| !c.is_empty() && c.len() <= 128) else {
        return Ok(false);
    };
    let ended = state
        .store
        .end_session(&sha256_hex(c), state.clock.unix())
        .await?;
    // The clients that took part hear of it now rather than at the next poll.
    state.logout_wake.notify_one();
    Ok(ended)
}
