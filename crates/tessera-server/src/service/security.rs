//! A signed-in user's own second factors, through the API (`/auth/users/me/totp/`…, a
//! bearer token) or the account page (the SSO session): enrolling and removing TOTP and
//! regenerating recovery codes need the current password (counted in the login
//! throttle); confirming needs the first code (wrong ones counted like wrong second
//! factors). A user who has a second factor changes their factors only from a sign-in
//! that used it (`aal2`).

use super::account::{AccountError, check_password_of};
use super::audience::Surface;
use super::audit::Actor;
use super::authn::{AuthnError, recovery, totp};
use super::throttle;
use crate::domain::authn::{Level, Methods};
use crate::state::AppState;
use crate::store::{Session, User};
use tessera_proto::Secret;

/// Who asks.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// The bearer of a user-API access token.
    Bearer(&'a Secret),
    /// A browser's SSO session, and its user.
    Session(&'a User, &'a Session),
}

/// The caller's user and the level of the sign-in behind the request.
async fn caller(state: &AppState, who: Caller<'_>) -> Result<(User, Level), AccountError> {
    match who {
        Caller::Bearer(bearer) => {
            let (claims, user) =
                super::token::authenticate_bearer(state, bearer, Surface::UserApi).await?;
            let level = claims
                .acr
                .as_deref()
                .and_then(Level::of_acr)
                .unwrap_or(Level::OneFactor);
            Ok((user, level))
        }
        Caller::Session(user, session) => {
            Ok((user.clone(), Methods::parse(&session.methods).level()))
        }
    }
}

/// The caller's user, when the password is theirs and, if they have a second factor, the
/// sign-in used it: a password-only token (a legacy token, say) with the password must
/// not remove the factor or read new recovery codes.
async fn with_password(
    state: &AppState,
    who: Caller<'_>,
    ip: std::net::IpAddr,
    current: &Secret,
) -> Result<User, AccountError> {
    let (user, level) = caller(state, who).await?;
    let enrolled = super::authn::factors_of(state, user.id).await?.enrolled();
    if enrolled && level < Level::TwoFactors {
        return Err(AuthnError::StepUpRequired.into());
    }
    check_password_of(state, &user, ip, current).await
}

/// Begins a TOTP enrolment: the secret, its `otpauth://` URI and QR code, shown once.
///
/// # Errors
/// [`AccountError`] (a confirmed authenticator already enrolled: `Authn(AlreadyEnrolled)`).
pub async fn begin_totp(
    state: &AppState,
    who: Caller<'_>,
    ip: std::net::IpAddr,
    current: &Secret,
) -> Result<totp::Enrolment, AccountError> {
    let user = with_password(state, who, ip, current).await?;
    Ok(totp::begin(state, &user).await?)
}

/// Confirms the pending TOTP enrolment with its first code; the recovery codes when this
/// is the first factor (shown once), else none. Every session of the user ends with it
/// (the caller's too): tokens from before are at the old level. Returns the user as now
/// stored (in the new session epoch) with the codes.
///
/// # Errors
/// [`AccountError`] (a wrong code: `Authn(WrongCode)`).
pub async fn confirm_totp(
    state: &AppState,
    who: Caller<'_>,
    ip: std::net::IpAddr,
    code: &str,
) -> Result<(User, Vec<String>), AccountError> {
    let (user, _) = caller(state, who).await?;
    // Wrong first codes count as wrong second factors do (the pending secret is the
    // user's own, but a stolen token must not guess at it without bound).
    let mut attempt = throttle::Attempt::second_factor(user.id, ip);
    if let Some(wait) = throttle::check(state, &mut attempt).await? {
        return Err(AccountError::Throttled(wait));
    }
    match totp::confirm(state, &user, code).await {
        Ok(codes) => {
            let now = state
                .store
                .user_by_id(user.id)
                .await?
                .ok_or(AuthnError::NotEnrolled)?;
            Ok((now, codes))
        }
        Err(AuthnError::WrongCode) => {
            throttle::failed(state, &attempt).await?;
            Err(AuthnError::WrongCode.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Removes the caller's TOTP authenticator (and the recovery codes, no factor being left).
///
/// # Errors
/// [`AccountError`].
pub async fn remove_totp(
    state: &AppState,
    who: Caller<'_>,
    ip: std::net::IpAddr,
    current: &Secret,
) -> Result<(), AccountError> {
    let user = with_password(state, who, ip, current).await?;
    Ok(totp::remove(state, &user, Actor::User(user.id)).await?)
}

/// Begins registering a passkey: the password, an `aal2` sign-in when the user has a
/// factor, and a sign-in in the last 10 minutes.
///
/// # Errors
/// [`AccountError`].
pub async fn begin_passkey(
    state: &AppState,
    who: Caller<'_>,
    ip: std::net::IpAddr,
    current: &Secret,
    auth_time: i64,
) -> Result<super::authn::passkey::Challenge, AccountError> {
    let user = with_password(state, who, ip, current).await?;
    Ok(super::authn::passkey::begin_registration(state, &user, auth_time).await?)
}

/// Removes one of the caller's passkeys (the password, and an `aal2` sign-in when the user
/// has a factor, as for every change).
///
/// # Errors
/// [`AccountError`].
pub async fn remove_passkey(
    state: &AppState,
    who: Caller<'_>,
    ip: std::net::IpAddr,
    current: &Secret,
    credential_id: &str,
) -> Result<(), AccountError> {
    let user = with_password(state, who, ip, current).await?;
    Ok(super::authn::passkey::remove(state, &user, credential_id, Actor::User(user.id)).await?)
}

/// Replaces the caller's recovery codes; the new ones, shown once.
///
/// # Errors
/// [`AccountError`].
pub async fn regenerate_recovery_codes(
    state: &AppState,
    who: Caller<'_>,
    ip: std::net::IpAddr,
    current: &Secret,
) -> Result<Vec<String>, AccountError> {
    let user = with_password(state, who, ip, current).await?;
    Ok(recovery::regenerate(state, &user).await?)
}
