//! A sign-in between its first and second factor: a random token (the Django API's
//! `mfa_token`, the browser's second-factor cookie) whose SHA-256 is stored with the user,
//! the methods used so far and the user's session epoch. It lives 5 minutes, is spent by
//! success, and dies after 5 codes.

use crate::domain::authn::Methods;
use crate::domain::digest::sha256_hex;
use crate::state::AppState;
use crate::store::{MfaTicket, StoreError, User};

/// Where a ticket was issued, and so where it may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A login of the Django API (`mfa_token`).
    Api,
    /// A browser sign-in or step-up (the `tessera_mfa` cookie).
    Browser,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Browser => "browser",
        }
    }
}

/// How long a ticket lives, seconds.
pub const LIFETIME: i64 = 300;

/// Codes a ticket takes (the last may be right).
pub const MAX_ATTEMPTS: i64 = 5;

/// The longest token looked up (ours are 43 characters).
const MAX_TOKEN_CHARS: usize = 128;

/// Issues a ticket for `user`, who has used `methods`, in place of their earlier one of
/// this purpose.
///
/// # Errors
/// Random or store failures.
pub async fn issue(
    state: &AppState,
    user: &User,
    methods: &Methods,
    purpose: Purpose,
) -> Result<String, super::AuthnError> {
    let token = tessera_token::claims::random_hex::<32>()?;
    state
        .store
        .insert_mfa_ticket(&MfaTicket {
            token_hash: sha256_hex(&token),
            user_id: user.id,
            session_epoch: user.session_epoch,
            methods: methods.stored(),
            purpose: purpose.as_str().to_owned(),
            failures: 0,
            expires_at: state.clock.unix().saturating_add(LIFETIME),
        })
        .await?;
    Ok(token)
}

/// Counts an attempt at the ticket `token` names: the ticket while it is live and has
/// attempts left.
///
/// # Errors
/// Store failures.
pub async fn attempt(
    state: &AppState,
    token: &str,
    purpose: Purpose,
) -> Result<Option<MfaTicket>, StoreError> {
    if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
        return Ok(None);
    }
    // A made-up or dead ticket costs a read, not a write (on SQLite, the one writer).
    let hash = sha256_hex(token);
    let now = state.clock.unix();
    if state
        .store
        .mfa_ticket(&hash, purpose.as_str(), MAX_ATTEMPTS, now)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    state
        .store
        .attempt_mfa_ticket(
            &sha256_hex(token),
            purpose.as_str(),
            MAX_ATTEMPTS,
            state.clock.unix(),
        )
        .await
}

/// Spends the ticket: true for the one caller that did.
///
/// # Errors
/// Store failures.
pub async fn spend(state: &AppState, token: &str) -> Result<bool, StoreError> {
    state.store.take_mfa_ticket(&sha256_hex(token)).await
}

/// The user of a live ticket (without counting an attempt): for showing an enrolment.
///
/// # Errors
/// Store failures.
pub async fn user_of(
    state: &AppState,
    token: &str,
    purpose: Purpose,
) -> Result<Option<User>, StoreError> {
    if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
        return Ok(None);
    }
    let Some(found) = state
        .store
        .mfa_ticket(
            &sha256_hex(token),
            purpose.as_str(),
            MAX_ATTEMPTS,
            state.clock.unix(),
        )
        .await?
    else {
        return Ok(None);
    };
    Ok(state
        .store
        .user_by_id(found.user_id)
        .await?
        .filter(|u| u.is_active && u.session_epoch == found.session_epoch))
}
