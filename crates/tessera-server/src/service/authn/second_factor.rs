//! Completing a sign-in with its second factor: the use case behind `POST
//! /auth/token/mfa/` and the browser's second-factor form.

use super::ticket::Purpose;
use super::{AuthnError, recovery, ticket, totp};
use crate::domain::authn::{Method, Methods};
use crate::service::{audit, throttle};
use crate::state::AppState;
use crate::store::{StoreError, User};

/// The second factor was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecondFactorError {
    /// The code is wrong, or was used before (counted against the ticket and in the
    /// login throttle).
    #[error("the code is not valid")]
    Invalid,
    /// The ticket is unknown, expired, spent, out of attempts, or its user's sessions were
    /// ended since: sign in again.
    #[error("the sign-in expired; sign in again")]
    Expired,
    /// Too many failed attempts at this account: wait.
    #[error("too many failed attempts")]
    Throttled(throttle::Wait),
    /// A factor could not be checked.
    #[error(transparent)]
    Authn(#[from] AuthnError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Completes the sign-in `token` stands for with `code` (a TOTP code, or a recovery
/// code): the user and every method now used. Each attempt is counted before the code is
/// checked; a wrong code also counts in the login throttle.
///
/// # Errors
/// [`SecondFactorError`].
pub async fn complete(
    state: &AppState,
    token: &str,
    purpose: Purpose,
    code: &str,
    ip: std::net::IpAddr,
) -> Result<(User, Methods), SecondFactorError> {
    let (found, user, attempt) = begin_attempt(state, token, purpose, ip).await?;
    let method = if recovery::looks_like(code) {
        Method::RecoveryCode
    } else {
        Method::Totp
    };
    let checked = match method {
        Method::RecoveryCode => recovery::redeem(state, &user, code).await,
        _ => totp::verify(state, &user, code).await,
    };
    if matches!(checked, Err(AuthnError::WrongCode)) && method == Method::Totp {
        state.store.record_totp_failure(user.id).await?;
    }
    settle(state, token, &user, &attempt, ip, checked).await?;
    let now = state.clock.unix();
    audit::event("mfa.success")
        .actor(user.id)
        .subject(&user.username)
        .ip(ip)
        .detail(match method {
            Method::RecoveryCode => "recovery code",
            _ => "totp",
        })
        .record(state.store.as_ref(), now)
        .await;
    let methods = Methods::parse(&found.methods).with(method, now);
    Ok((user, methods))
}

/// Completes the browser sign-in `token` stands for with a passkey (the WebAuthn answer
/// to the ceremony [`super::passkey::begin_second_factor`] started). Attempts are counted
/// as for [`complete`]; a cloned authenticator is refused and audited.
///
/// # Errors
/// [`SecondFactorError`].
pub async fn complete_with_passkey(
    state: &AppState,
    token: &str,
    ceremony: &str,
    credential: &serde_json::Value,
    ip: std::net::IpAddr,
) -> Result<(User, Methods), SecondFactorError> {
    let (found, user, attempt) = begin_attempt(state, token, Purpose::Browser, ip).await?;
    let checked = super::passkey::check_second_factor(state, &user, ceremony, credential).await;
    if matches!(checked, Err(AuthnError::Cloned)) {
        super::passkey::audit_cloned(state, credential).await;
    }
    let checked = checked.map_err(|e| match e {
        AuthnError::Rejected | AuthnError::Cloned | AuthnError::Ceremony => AuthnError::WrongCode,
        e => e,
    });
    settle(state, token, &user, &attempt, ip, checked).await?;
    let now = state.clock.unix();
    audit::event("mfa.success")
        .actor(user.id)
        .subject(&user.username)
        .ip(ip)
        .detail("passkey")
        .record(state.store.as_ref(), now)
        .await;
    Ok((
        user,
        Methods::parse(&found.methods).with(Method::Passkey, now),
    ))
}

/// Completes the sign-in `token` stands for by confirming the TOTP enrolment it showed
/// with the authenticator's first code: the user, the methods now used, and the recovery
/// codes made with this first factor (to show once). Attempts are counted as for
/// [`complete`].
///
/// # Errors
/// [`SecondFactorError`].
pub async fn complete_enrolment(
    state: &AppState,
    token: &str,
    code: &str,
    ip: std::net::IpAddr,
) -> Result<(User, Methods, Vec<String>), SecondFactorError> {
    let (found, user, attempt) = begin_attempt(state, token, Purpose::Browser, ip).await?;
    let confirmed = totp::confirm(state, &user, code).await;
    let codes = match confirmed {
        Ok(codes) => {
            settle(state, token, &user, &attempt, ip, Ok(())).await?;
            codes
        }
        // The form posted twice: the first completed the sign-in; this one starts again.
        Err(AuthnError::AlreadyEnrolled) => return Err(SecondFactorError::Expired),
        Err(e) => {
            settle(state, token, &user, &attempt, ip, Err(e)).await?;
            return Err(SecondFactorError::Invalid);
        }
    };
    // Enrolment ended every session of the user (and moved the session epoch on): the
    // sign-in goes on with the user as they are now.
    let user = state
        .store
        .user_by_id(user.id)
        .await?
        .ok_or(SecondFactorError::Expired)?;
    let methods = Methods::parse(&found.methods).with(Method::Totp, state.clock.unix());
    Ok((user, methods, codes))
}

/// Counts an attempt at the ticket and looks at the throttle: the ticket, its user and
/// the throttle's attempt.
async fn begin_attempt(
    state: &AppState,
    token: &str,
    purpose: Purpose,
    ip: std::net::IpAddr,
) -> Result<(crate::store::MfaTicket, User, throttle::Attempt), SecondFactorError> {
    let Some(found) = ticket::attempt(state, token, purpose).await? else {
        return Err(SecondFactorError::Expired);
    };
    let user = match state.store.user_by_id(found.user_id).await? {
        Some(u) if u.is_active && u.session_epoch == found.session_epoch => u,
        _ => {
            ticket::spend(state, token).await?;
            return Err(SecondFactorError::Expired);
        }
    };
    let mut attempt = throttle::Attempt::second_factor(user.id, ip);
    if let Some(wait) = throttle::check(state, &mut attempt).await? {
        return Err(SecondFactorError::Throttled(wait));
    }
    Ok((found, user, attempt))
}

/// What a checked code leads to: a wrong one is counted in the throttle and audited; a
/// right one spends the ticket (two right codes at once: one sign-in completes).
async fn settle(
    state: &AppState,
    token: &str,
    user: &User,
    attempt: &throttle::Attempt,
    ip: std::net::IpAddr,
    checked: Result<(), AuthnError>,
) -> Result<(), SecondFactorError> {
    match checked {
        Ok(()) => {}
        Err(AuthnError::WrongCode | AuthnError::NotEnrolled | AuthnError::NothingToConfirm) => {
            throttle::failed(state, attempt).await?;
            audit::event("mfa.failure")
                .actor(user.id)
                .subject(&user.username)
                .ip(ip)
                .record(state.store.as_ref(), state.clock.unix())
                .await;
            return Err(SecondFactorError::Invalid);
        }
        Err(e) => return Err(e.into()),
    }
    if !ticket::spend(state, token).await? {
        return Err(SecondFactorError::Expired);
    }
    throttle::succeeded(state, attempt).await?;
    Ok(())
}
