//! Authentication methods beyond the password, and the rules for when one is needed.
//!
//! - [`totp`]: TOTP secrets (RFC 6238): enrolment, confirmation, codes accepted once;
//! - [`passkey`]: passkeys (WebAuthn): registration, usernameless sign-in, second factor;
//! - [`recovery`]: single-use recovery codes, replaced as a set;
//! - [`ticket`]: a sign-in between its first and second factor (the Django API's
//!   `mfa_token`, the browser's second-factor step);
//! - [`policy`]: who must use a second factor (one pure function);
//! - [`notice`]: the mail telling the user their factors changed;
//! - [`second_factor`]: completing a sign-in with a code, the one use case every surface
//!   calls.

pub mod notice;
pub mod passkey;
pub mod policy;
pub mod recovery;
pub mod second_factor;
pub mod ticket;
pub mod totp;

pub use policy::Requirement;
pub use second_factor::{SecondFactorError, complete};

use crate::domain::authn::Level;
use crate::state::AppState;
use crate::store::{Client, RecoveryCodes, StoreError, User};

/// Enrolling or using a factor failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthnError {
    /// The user already has a confirmed TOTP secret: remove it first.
    #[error("a TOTP authenticator is already enrolled")]
    AlreadyEnrolled,
    /// No TOTP enrolment is waiting for confirmation.
    #[error("no TOTP enrolment is waiting for confirmation: start again")]
    NothingToConfirm,
    /// The code is wrong, expired or was used before.
    #[error("the code is not valid")]
    WrongCode,
    /// The user has no such factor.
    #[error("no such factor")]
    NotEnrolled,
    /// Changing the factors of a user who has one needs a token of a sign-in that used it
    /// (acr aal2).
    #[error("this needs a sign-in with your second factor (acr aal2): log in again with it")]
    StepUpRequired,
    /// The sealed secret could not be opened (another master key).
    #[error("the TOTP secret cannot be opened with this master key")]
    Sealed,
    /// Passkeys are off: the issuer is an IP address (browsers refuse one as the relying
    /// party id) and no `[mfa] passkey_rp_id` names a domain.
    #[error("passkeys are not available on this server (its address is an IP address)")]
    PasskeysOff,
    /// The WebAuthn ceremony is unknown, expired, used, or another user's.
    #[error("this passkey request expired: start again")]
    Ceremony,
    /// The browser's WebAuthn answer does not verify (another site or origin, no user
    /// verification, an unknown passkey, a bad signature).
    #[error("the passkey was not accepted")]
    Rejected,
    /// The passkey's signature counter went backwards: a cloned authenticator.
    #[error("the passkey was not accepted (it may have been copied)")]
    Cloned,
    /// The random generator failed.
    #[error(transparent)]
    Random(#[from] tessera_token::RandomError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A user's second factors, as the account page, the admin API and the policy see them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Factors {
    /// The confirmed TOTP secret: when it was confirmed and last used.
    pub totp: Option<FactorUse>,
    /// The recovery codes left.
    pub recovery: Option<RecoveryCodes>,
    /// The passkeys, oldest first.
    pub passkeys: Vec<crate::store::PasskeyRow>,
}

/// When a factor was enrolled and last used (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactorUse {
    /// Enrolled (confirmed).
    pub enrolled_at: i64,
    /// Last used.
    pub last_used_at: Option<i64>,
}

impl Factors {
    /// Whether the user has a second factor to sign in with.
    pub fn enrolled(&self) -> bool {
        self.totp.is_some() || !self.passkeys.is_empty()
    }

    /// The second factors an `mfa_token` may be completed with (the Django API's
    /// `methods`).
    pub fn methods(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.totp.is_some() {
            out.push("totp");
        }
        if self.recovery.is_some_and(|r| r.remaining > 0) {
            out.push("recovery_code");
        }
        out
    }
}

/// The second factors of `user_id`.
///
/// # Errors
/// Store failures.
pub async fn factors_of(state: &AppState, user_id: i64) -> Result<Factors, StoreError> {
    factors_in(state.store.as_ref(), user_id).await
}

/// What a sign-in of `user` asks beyond the password, for `client` (if any) and a request
/// asking for `requested`: [`policy::requirement`] with the user's factors.
///
/// # Errors
/// Store failures.
pub async fn requirement(
    state: &AppState,
    user: &User,
    client: Option<&Client>,
    requested: Option<Level>,
) -> Result<Requirement, StoreError> {
    let factors = factors_of(state, user.id).await?;
    Ok(policy::requirement(
        &state.settings.mfa,
        user,
        factors.enrolled(),
        client,
        requested,
    ))
}

/// Removes every second factor of `user` and ends all their sessions (an admin's or the
/// CLI's reset: the user signs in with the password alone next, and enrols again if they
/// must). Audited as `mfa.reset`.
///
/// # Errors
/// Store failures; `Ok(false)` when the user is gone.
pub async fn reset(
    store: &dyn crate::store::Store,
    now: i64,
    user: &User,
    actor: crate::service::audit::Actor,
) -> Result<bool, StoreError> {
    if !store.reset_factors(user.id, now).await? {
        return Ok(false);
    }
    crate::service::audit::event("mfa.reset")
        .actor(actor)
        .subject(&user.username)
        .detail("second factors removed; sessions ended")
        .record(store, now)
        .await;
    Ok(true)
}

/// [`factors_of`] for callers holding only a store (the CLI).
///
/// # Errors
/// Store failures.
pub async fn factors_in(
    store: &dyn crate::store::Store,
    user_id: i64,
) -> Result<Factors, StoreError> {
    let (totp, recovery, passkeys) = tokio::try_join!(
        store.totp_secret(user_id),
        store.recovery_codes(user_id),
        store.passkeys_of(user_id)
    )?;
    Ok(Factors {
        totp: totp.and_then(|t| {
            Some(FactorUse {
                enrolled_at: t.confirmed_at?,
                last_used_at: t.last_used_at,
            })
        }),
        recovery,
        passkeys,
    })
}
