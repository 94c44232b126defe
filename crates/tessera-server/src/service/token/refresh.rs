//! Refreshing: a refresh token exchanged exactly once for a new pair (the Django API's and a
//! client's), reuse revoking the family.

use super::{Authn, Grant, SignIn, TokenError, current_user, issue::mint, legacy::legacy_refresh};
use crate::domain::Scope;
use crate::state::AppState;
use crate::store::{Client, RefreshRecord, RefreshState, RotateOutcome, User};
use tessera_proto::{Secret, TokenPair};
use tessera_token::RefreshClaims;
use tessera_token::validate::verify_refresh;

/// Exchanges a refresh token of the Django API (one issued to no client) for a new pair,
/// consuming it exactly once. Presenting an already-rotated token revokes its family.
///
/// # Errors
/// [`TokenError::NotValid`] for every refusal.
pub async fn refresh(state: &AppState, token: &Secret) -> Result<TokenPair, TokenError> {
    let pair = exchange_refresh(state, token).await?;
    state.metrics.issued("refresh_token");
    Ok(pair)
}

/// [`refresh`], uncounted.
pub(super) async fn exchange_refresh(
    state: &AppState,
    token: &Secret,
) -> Result<TokenPair, TokenError> {
    let now = state.clock.unix();
    let claims = match refresh_claims(state, token, now) {
        Ok(claims) => claims,
        Err(e) => return legacy_refresh(state, token, now).await.ok_or(e)?,
    };
    if claims.client_id.is_some() {
        return Err(TokenError::NotValid(
            "refresh token bound to an OAuth client",
        ));
    }
    let authn = authn_of(&claims);
    let grant = Grant {
        authn: authn.as_ref(),
        ..Grant::DIRECT
    };
    rotate(state, &claims, grant, now).await
}

/// A client's refresh, signed but not yet applied: whatever else the answer needs (an ID
/// token) is made before [`Refreshed::commit`] consumes the old token, so a failure there
/// leaves the old token usable (a retry is not taken for a replay).
#[derive(Debug)]
pub struct Refreshed {
    /// The new pair.
    pub pair: TokenPair,
    /// The scope it carries.
    pub scope: String,
    /// The user, as read for the rotation.
    pub user: User,
    /// The session id of the sign-in the family began with, and how the user
    /// authenticated then.
    pub sign_in: Option<(String, Authn)>,
    claims: RefreshClaims,
    next: RefreshRecord,
    now: i64,
}

impl Refreshed {
    /// Consumes the old refresh token and stores the new one, exactly once.
    ///
    /// # Errors
    /// [`TokenError::NotValid`] when the token was used, revoked or expired meanwhile.
    pub async fn commit(&self, state: &AppState) -> Result<(), TokenError> {
        commit_rotation(state, &self.claims, &self.next, &self.user, self.now).await
    }
}

/// Prepares the exchange of a refresh token issued to `client` (RFC 6749 §6), narrowing
/// its scope to `scope` when given; [`Refreshed::commit`] applies it.
///
/// # Errors
/// [`TokenError::NotValid`] for every refusal (wrong client, wider scope, …).
pub async fn refresh_for_client(
    state: &AppState,
    token: &Secret,
    client: &Client,
    scope: Option<&str>,
) -> Result<Refreshed, TokenError> {
    let now = state.clock.unix();
    let claims = refresh_claims(state, token, now)?;
    if claims.client_id.as_deref() != Some(client.client_id.as_str()) {
        return Err(TokenError::NotValid(
            "refresh token issued to another client",
        ));
    }
    let granted = claims.scope.as_deref().unwrap_or("");
    let scope = match scope {
        Some(asked) if !Scope::of(asked).is_within(Scope::of(granted)) => {
            return Err(TokenError::NotValid("scope wider than granted"));
        }
        Some(asked) => asked.to_owned(),
        None => granted.to_owned(),
    };
    let sign_in = sign_in_of(&claims);
    let authn = authn_of(&claims);
    let grant = Grant {
        client: Some(client),
        scope: Some(scope.as_str()),
        sign_in,
        authn: authn.as_ref(),
    };
    let user = current_user(state, claims.user_id, claims.sep).await?;
    level_still_enough(state, &claims, &user, Some(client))?;
    let (pair, next) = mint(state, &user, claims.fam.clone(), grant).await?;
    let sign_in = sign_in.zip(authn).map(|(s, a)| (s.sid.to_owned(), a));
    Ok(Refreshed {
        pair,
        scope,
        user,
        sign_in,
        claims,
        next,
        now,
    })
}

/// The sign-in a refresh token's family began with, when it began with one.
pub(super) fn sign_in_of(claims: &RefreshClaims) -> Option<SignIn<'_>> {
    Some(SignIn {
        sid: claims.sid.as_deref()?,
        auth_time: claims.auth_time?,
    })
}

/// A family that began below the level the user or the client now requires (an admin
/// required a second factor since, `[mfa] required_for` changed) refreshes no more: the
/// user signs in again, with the second factor. (Enrolling one ends every family.)
fn level_still_enough(
    state: &AppState,
    claims: &RefreshClaims,
    user: &User,
    client: Option<&Client>,
) -> Result<(), TokenError> {
    use crate::domain::authn::Level;
    use crate::service::authn::{Requirement, policy};
    let required = policy::requirement(&state.settings.mfa, user, false, client, None);
    let level = claims
        .acr
        .as_deref()
        .and_then(Level::of_acr)
        .unwrap_or(Level::OneFactor);
    if required != Requirement::PasswordOnly && level < Level::TwoFactors {
        return Err(TokenError::NotValid(
            "a second factor is now required: sign in again",
        ));
    }
    Ok(())
}

/// How the user authenticated at the sign-in a refresh token's family began with. A token
/// issued before levels were recorded began with a password: the only way in there was.
pub(super) fn authn_of(claims: &RefreshClaims) -> Option<Authn> {
    Some(Authn {
        auth_time: claims.auth_time?,
        acr: claims
            .acr
            .clone()
            .unwrap_or_else(|| crate::domain::authn::Level::OneFactor.acr().to_owned()),
        amr: if claims.amr.is_empty() {
            vec!["pwd".to_owned()]
        } else {
            claims.amr.clone()
        },
    })
}

pub(super) async fn rotate(
    state: &AppState,
    claims: &RefreshClaims,
    grant: Grant<'_>,
    now: i64,
) -> Result<TokenPair, TokenError> {
    let user = current_user(state, claims.user_id, claims.sep).await?;
    level_still_enough(state, claims, &user, grant.client)?;
    let (pair, next) = mint(state, &user, claims.fam.clone(), grant).await?;
    commit_rotation(state, claims, &next, &user, now).await?;
    Ok(pair)
}

/// Consumes `claims`' token for `next`, exactly once; a reuse revokes the family.
pub(super) async fn commit_rotation(
    state: &AppState,
    claims: &RefreshClaims,
    next: &RefreshRecord,
    user: &User,
    now: i64,
) -> Result<(), TokenError> {
    match state.store.rotate_refresh(&claims.jti, next, now).await? {
        RotateOutcome::Rotated => Ok(()),
        RotateOutcome::Reused => {
            state.metrics.refresh_reuse.inc();
            crate::service::audit::event("token.reuse_detected")
                .actor(user.id)
                .subject(&claims.fam)
                .detail("family revoked")
                .record(state.store.as_ref(), now)
                .await;
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
pub(super) fn refresh_claims(
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

pub(super) async fn live_refresh(
    state: &AppState,
    claims: &RefreshClaims,
) -> Result<(), TokenError> {
    match state
        .store
        .refresh_state(&claims.jti, state.clock.unix())
        .await?
    {
        Some(RefreshState::Active) => Ok(()),
        _ => Err(TokenError::NotValid("refresh token not live")),
    }
}
