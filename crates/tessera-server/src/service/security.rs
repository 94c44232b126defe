//! A signed-in user's own second factors through the API (`/auth/users/me/totp/`…):
//! enrolling and removing TOTP and regenerating recovery codes need the current password
//! (counted in the login throttle), confirming needs the first code.

use super::account::{AccountError, confirm_password};
use super::audience::Surface;
use super::audit::Actor;
use super::authn::{AuthnError, recovery, totp};
use crate::domain::authn::Level;
use crate::state::AppState;
use tessera_proto::Secret;

/// When the bearer's user has a second factor, only a token of a sign-in that used it
/// may change their factors: a password-only token (a family from before the enrolment,
/// a legacy token) with the password would otherwise remove the factor or read new
/// recovery codes.
async fn require_second_factor_token(
    state: &AppState,
    bearer: &Secret,
) -> Result<(), AccountError> {
    let (claims, user) = super::token::authenticate_bearer(state, bearer, Surface::UserApi).await?;
    let enrolled = super::authn::factors_of(state, user.id).await?.enrolled();
    let level = claims.acr.as_deref().and_then(Level::of_acr);
    if enrolled && level < Some(Level::TwoFactors) {
        return Err(AuthnError::StepUpRequired.into());
    }
    Ok(())
}

/// Begins a TOTP enrolment for the bearer's user: the secret and its `otpauth://` URI,
/// shown once.
///
/// # Errors
/// [`AccountError`] (a confirmed authenticator already enrolled: `Authn(AlreadyEnrolled)`).
pub async fn begin_totp(
    state: &AppState,
    bearer: &Secret,
    ip: std::net::IpAddr,
    current: &Secret,
) -> Result<totp::Enrolment, AccountError> {
    let user = confirm_password(state, bearer, ip, current).await?;
    Ok(totp::begin(state, &user).await?)
}

/// Confirms the bearer's pending TOTP enrolment with its first code; the recovery codes
/// when this is the first factor (shown once), else none.
///
/// # Errors
/// [`AccountError`] (a wrong code: `Authn(WrongCode)`).
pub async fn confirm_totp(
    state: &AppState,
    bearer: &Secret,
    code: &str,
) -> Result<Vec<String>, AccountError> {
    let (_, user) = super::token::authenticate_bearer(state, bearer, Surface::UserApi).await?;
    Ok(totp::confirm(state, &user, code).await?)
}

/// Removes the bearer's TOTP authenticator (and the recovery codes, no factor being left).
///
/// # Errors
/// [`AccountError`].
pub async fn remove_totp(
    state: &AppState,
    bearer: &Secret,
    ip: std::net::IpAddr,
    current: &Secret,
) -> Result<(), AccountError> {
    require_second_factor_token(state, bearer).await?;
    let user = confirm_password(state, bearer, ip, current).await?;
    Ok(totp::remove(state, &user, Actor::User(user.id)).await?)
}

/// Replaces the bearer's recovery codes; the new ones, shown once.
///
/// # Errors
/// [`AccountError`].
pub async fn regenerate_recovery_codes(
    state: &AppState,
    bearer: &Secret,
    ip: std::net::IpAddr,
    current: &Secret,
) -> Result<Vec<String>, AccountError> {
    require_second_factor_token(state, bearer).await?;
    let user = confirm_password(state, bearer, ip, current).await?;
    Ok(recovery::regenerate(state, &user).await?)
}
