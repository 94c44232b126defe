//! Browser SSO sessions: a random cookie whose SHA-256 is the only thing stored.

use crate::domain::digest::sha256_hex;
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

/// Starts a session for `user`, authenticated now. Returns the cookie value (to set once,
/// never stored) and the session.
///
/// # Errors
/// [`SessionError`].
pub async fn start(state: &AppState, user: &User) -> Result<(String, Session), SessionError> {
    let cookie = random_token()?;
    let now = state.clock.unix();
    let lifetime = crate::domain::time::seconds(state.settings.sso.session_lifetime);
    let session = Session {
        token_hash: sha256_hex(&cookie),
        sid: random_hex::<16>()?,
        user_id: user.id,
        auth_time: now,
        expires_at: now.saturating_add(lifetime),
        session_epoch: user.session_epoch,
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
}

/// A sign-in form (the authorization endpoint's, the account page's): checks the password
/// of `username` through the login throttle and starts a session for the user. Returns
/// the cookie value and the session, as [`start`] does.
///
/// # Errors
/// [`SignInError`].
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: &Secret,
    ip: std::net::IpAddr,
) -> Result<(String, Session), SignInError> {
    let id = LoginId::Username(username.to_owned());
    let user = login::authenticate(state, &id, password, ip).await?;
    Ok(start(state, &user).await?)
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
