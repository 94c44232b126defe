//! Issuing, rotating, verifying and revoking tokens.

use crate::state::AppState;
use crate::store::{RefreshRecord, RefreshState, RotateOutcome, StoreError, User};
use tessera_proto::{Secret, TokenPair};
use tessera_token::claims::new_jti;
use tessera_token::sign::{sign_access, sign_refresh};
use tessera_token::validate::{verify_access, verify_refresh};
use tessera_token::{
    AccessClaims, Audience, RandomError, RefreshClaims, SignError, TokenType, VerifyError,
};

/// A token operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is invalid, expired, revoked, reused, or its user is gone or disabled.
    #[error("token not valid: {0}")]
    NotValid(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// The random generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
}

impl From<VerifyError> for TokenError {
    fn from(e: VerifyError) -> Self {
        tracing::debug!(reason = %e, "token refused");
        Self::NotValid("verification failed")
    }
}

/// Issues an access token and the first refresh token of a new family.
///
/// # Errors
/// [`TokenError`] if signing or storing fails.
pub async fn issue_pair(state: &AppState, user: &User) -> Result<TokenPair, TokenError> {
    let (pair, record) = mint(state, user, new_jti()?)?;
    state.store.insert_refresh(&record).await?;
    Ok(pair)
}

/// Exchanges a refresh token for a new pair, consuming it exactly once. Presenting an
/// already-rotated token revokes its family.
///
/// # Errors
/// [`TokenError::NotValid`] for every refusal.
pub async fn refresh(state: &AppState, token: &Secret) -> Result<TokenPair, TokenError> {
    let now = state.clock.unix();
    let claims = refresh_claims(state, token, now)?;
    let user = active_user(state, claims.user_id).await?;
    let (pair, next) = mint(state, &user, claims.fam.clone())?;
    match state.store.rotate_refresh(&claims.jti, &next, now).await? {
        RotateOutcome::Rotated => Ok(pair),
        RotateOutcome::Reused => {
            tracing::warn!(family = %claims.fam, user_id = user.id, "refresh token reuse detected; family revoked");
            Err(TokenError::NotValid("refresh token reused"))
        }
        RotateOutcome::Revoked => Err(TokenError::NotValid("refresh token revoked")),
        RotateOutcome::Expired => Err(TokenError::NotValid("refresh token expired")),
        RotateOutcome::NotFound => Err(TokenError::NotValid("unknown refresh token")),
    }
}

/// The claims of a refresh token whose MAC, issuer, audience and times check out (its
/// state in the store is checked separately).
fn refresh_claims(
    state: &AppState,
    token: &Secret,
    now: i64,
) -> Result<tessera_token::RefreshClaims, TokenError> {
    Ok(verify_refresh(
        token.expose(),
        state.keys.current().mac(),
        &state.validation,
        now,
    )?)
}

/// Checks an access token (signature, claims, not revoked, user still active); with
/// `verify_accepts_refresh`, a live refresh token passes too.
///
/// # Errors
/// [`TokenError::NotValid`].
pub async fn verify(state: &AppState, token: &Secret) -> Result<(), TokenError> {
    match authenticate_bearer(state, token).await {
        Err(TokenError::NotValid(_)) if state.settings.tokens.verify_accepts_refresh => {
            let claims = refresh_claims(state, token, state.clock.unix())?;
            live_refresh(state, &claims).await?;
            active_user(state, claims.user_id).await.map(|_| ())
        }
        other => other.map(|_| ()),
    }
}

/// Ends the family of a refresh token (logout).
///
/// # Errors
/// [`TokenError::NotValid`] for a token that is not a live refresh token of ours.
pub async fn blacklist(state: &AppState, token: &Secret) -> Result<(), TokenError> {
    let now = state.clock.unix();
    let claims = refresh_claims(state, token, now)?;
    live_refresh(state, &claims).await?;
    state.store.revoke_family_of(&claims.jti, now).await?;
    Ok(())
}

/// Authenticates a bearer access token and returns its claims and (active) user.
///
/// # Errors
/// [`TokenError::NotValid`].
pub async fn authenticate_bearer(
    state: &AppState,
    token: &Secret,
) -> Result<(AccessClaims, User), TokenError> {
    let claims = verify_access(
        token.expose(),
        state.keys.current().published(),
        &state.validation,
        state.clock.unix(),
    )?;
    if state.store.is_access_revoked(&claims.jti).await? {
        return Err(TokenError::NotValid("access token revoked"));
    }
    let user_id = claims
        .user_id
        .ok_or(TokenError::NotValid("not a user token"))?;
    let user = active_user(state, user_id).await?;
    Ok((claims, user))
}

async fn active_user(state: &AppState, id: i64) -> Result<User, TokenError> {
    match state.store.user_by_id(id).await? {
        Some(u) if u.is_active => Ok(u),
        _ => Err(TokenError::NotValid("user missing or disabled")),
    }
}

async fn live_refresh(state: &AppState, claims: &RefreshClaims) -> Result<(), TokenError> {
    match state
        .store
        .refresh_state(&claims.jti, state.clock.unix())
        .await?
    {
        Some(RefreshState::Active) => Ok(()),
        _ => Err(TokenError::NotValid("refresh token not live")),
    }
}

/// Signs a new pair in `family` and returns it with the refresh token's row.
fn mint(
    state: &AppState,
    user: &User,
    family: String,
) -> Result<(TokenPair, RefreshRecord), TokenError> {
    let now = state.clock.unix();
    let tokens = &state.settings.tokens;
    let access_exp = now + secs(tokens.access_lifetime);
    let access = AccessClaims {
        iss: state.issuer.clone(),
        sub: user.id.to_string(),
        aud: Audience::One(tokens.audience.clone()),
        exp: access_exp,
        iat: now,
        nbf: now,
        jti: new_jti()?,
        token_type: TokenType::Access,
        user_id: Some(user.id),
        client_id: None,
        scope: None,
    };
    let refresh = RefreshClaims {
        iss: state.issuer.clone(),
        sub: user.id.to_string(),
        exp: now + secs(tokens.refresh_lifetime),
        iat: now,
        jti: new_jti()?,
        fam: family,
        token_type: TokenType::Refresh,
        user_id: user.id,
        client_id: None,
    };
    let pair = TokenPair {
        access: sign_access(state.keys.current().signing_key(), &access)?,
        refresh: sign_refresh(state.keys.current().mac(), &refresh)?,
    };
    let record = RefreshRecord {
        jti: refresh.jti,
        family: refresh.fam,
        user_id: user.id,
        client_id: None,
        issued_at: now,
        expires_at: refresh.exp,
        access_jti: access.jti,
        access_expires_at: access_exp,
    };
    Ok((pair, record))
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
