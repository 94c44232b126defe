//! Single-use links sent by e-mail: a random token in the URL, only its SHA-256 stored,
//! expiring, used up atomically (see `Store::redeem_user_link`).

use crate::state::AppState;
use crate::store::{PendingSignup, StoreError, User, UserLink};
use base64::Engine as _;

pub use crate::store::LinkPurpose as Purpose;

/// Making or using a link failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The random generator failed.
    #[error("random generator failed")]
    Random,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Stores a new link for `user_id` and returns the token to put in the URL.
///
/// # Errors
/// [`LinkError`].
pub async fn issue(
    state: &AppState,
    user_id: i64,
    purpose: Purpose,
    new_email: Option<&str>,
) -> Result<String, LinkError> {
    store_link(state, user_id, purpose, new_email, PendingSignup::default()).await
}

/// Stores a verification link carrying one sign-up's choices (following it activates
/// them) and returns the token to put in the URL.
///
/// # Errors
/// [`LinkError`].
pub async fn issue_signup(
    state: &AppState,
    user_id: i64,
    signup: PendingSignup,
) -> Result<String, LinkError> {
    store_link(state, user_id, Purpose::Verify, None, signup).await
}

async fn store_link(
    state: &AppState,
    user_id: i64,
    purpose: Purpose,
    new_email: Option<&str>,
    signup: PendingSignup,
) -> Result<String, LinkError> {
    let mut raw = [0u8; 32];
    aws_lc_rs::rand::fill(&mut raw).map_err(|_| LinkError::Random)?;
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let lifetime = match purpose {
        Purpose::Reset => state.settings.mail.reset_lifetime,
        Purpose::Verify | Purpose::Email | Purpose::Unknown => state.settings.mail.verify_lifetime,
    };
    let link = UserLink {
        token_hash: crate::domain::digest::sha256_hex(&token),
        user_id,
        purpose,
        new_email: new_email.map(str::to_owned),
        expires_at: state
            .clock
            .unix()
            .saturating_add(crate::domain::time::seconds(lifetime)),
        signup,
    };
    state.store.insert_user_link(&link).await?;
    Ok(token)
}

/// The live link behind `token`, without using it up.
///
/// # Errors
/// [`StoreError`].
pub async fn peek(
    state: &AppState,
    token: &str,
    purpose: Purpose,
) -> Result<Option<UserLink>, StoreError> {
    let found = state
        .store
        .user_link(&crate::domain::digest::sha256_hex(token))
        .await?;
    Ok(found.filter(|l| l.purpose == purpose && l.expires_at > state.clock.unix()))
}

/// [`peek`], with the account the link is for (a link whose account is gone is none).
///
/// # Errors
/// [`StoreError`].
pub async fn peek_user(
    state: &AppState,
    token: &str,
    purpose: Purpose,
) -> Result<Option<(UserLink, User)>, StoreError> {
    let Some(link) = peek(state, token, purpose).await? else {
        return Ok(None);
    };
    Ok(state
        .store
        .user_by_id(link.user_id)
        .await?
        .map(|user| (link, user)))
}

/// Uses up the link behind `token` (applying a verification or e-mail change in the same
/// transaction); `None` when it is unknown, used, expired or of another purpose.
///
/// # Errors
/// [`StoreError`].
pub async fn redeem(
    state: &AppState,
    token: &str,
    purpose: Purpose,
) -> Result<Option<UserLink>, StoreError> {
    state
        .store
        .redeem_user_link(
            &crate::domain::digest::sha256_hex(token),
            purpose,
            state.clock.unix(),
        )
        .await
}

/// The page a link opens: `{issuer}/account/{page}?token=…`.
pub fn url(state: &AppState, page: &str, token: &str) -> String {
    format!("{}/account/{page}?token={token}", state.issuer)
}
