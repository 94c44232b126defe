//! Checking presented tokens: verification (simplejwt's), blacklisting, and the live access
//! token behind a Bearer header for a surface.

use super::{
    TokenError, current_user, legacy::legacy_access, legacy::legacy_token_is_theirs,
    refresh::live_refresh, refresh::refresh_claims,
};
use crate::domain::time::seconds;
use crate::service::audience::{self, Surface};
use crate::state::AppState;
use crate::store::{Client, User};
use tessera_proto::Secret;
use tessera_token::validate::verify_access_any_audience;
use tessera_token::{AccessClaims, VerifyError};

/// Checks an access token for `[tokens] audience` (signature, claims, not revoked, its
/// user still active and their sessions not ended since, or its client still registered);
/// with `verify_accepts_refresh`, a live refresh token passes too.
///
/// # Errors
/// [`TokenError::NotValid`].
pub async fn verify(state: &AppState, token: &Secret) -> Result<(), TokenError> {
    match accepted(state, token, Surface::Verify).await {
        Err(TokenError::NotValid(_)) if state.settings.tokens.verify_accepts_refresh => {
            let claims = refresh_claims(state, token, state.clock.unix())?;
            // Only the Django API's own refresh tokens: a client's are for that client.
            if claims.client_id.is_some() {
                return Err(TokenError::NotValid("a client's refresh token"));
            }
            live_refresh(state, &claims).await?;
            current_user(state, claims.user_id, claims.sep)
                .await
                .map(|_| ())
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
    crate::service::audit::event("token.family_revoked")
        .actor(claims.user_id)
        .subject(&claims.fam)
        .detail("logout")
        .record(state.store.as_ref(), now)
        .await;
    Ok(())
}

/// A live access token, whatever its audience.
#[derive(Debug)]
pub struct Live {
    /// Its claims.
    pub claims: AccessClaims,
    /// Its user (active), if it names one.
    pub user: Option<User>,
    /// The client it was issued to (still registered), if any.
    pub client: Option<Client>,
}

/// A live access token, for any audience: signature and claims valid, not revoked, its
/// user (if any) active and their sessions not ended since it was issued, its client (if
/// any) still the registration it was issued under. Callers that act on the token check
/// its audience ([`accepted`]); introspection describes any live token.
///
/// # Errors
/// [`TokenError::NotValid`]; store failures.
pub async fn live_access(state: &AppState, token: &Secret) -> Result<Live, TokenError> {
    let now = state.clock.unix();
    let ring = state.keys.current();
    let (claims, legacy) = match verify_access_any_audience(
        token.expose(),
        ring.published(),
        &state.validation,
        now,
    ) {
        Ok(claims) => (claims, false),
        Err(VerifyError::UnknownKey) => (legacy_access(state, ring.published(), token, now)?, true),
        Err(e) => return Err(e.into()),
    };
    if state.store.is_access_revoked(&claims.jti).await? {
        return Err(TokenError::NotValid("access token revoked"));
    }
    let user = match claims.user_id {
        Some(id) => Some(current_user(state, id, claims.sep).await?),
        None => None,
    };
    if legacy
        && user
            .as_ref()
            .is_some_and(|u| !legacy_token_is_theirs(u, claims.iat))
    {
        return Err(TokenError::NotValid(
            "a legacy token older than its user's account",
        ));
    }
    let client = match &claims.client_id {
        Some(id) => Some(registered_client(state, id, claims.iat).await?),
        None => None,
    };
    // A token living longer than Tessera issues them (its client's access lifetime, or
    // `[tokens] access_lifetime`) was not issued by it, whatever its signature says.
    let longest = client
        .as_ref()
        .and_then(|c| c.access_lifetime)
        .unwrap_or_else(|| seconds(state.settings.tokens.access_lifetime));
    if !legacy
        && claims.exp.saturating_sub(claims.iat) > longest.saturating_add(state.validation.leeway)
    {
        return Err(TokenError::NotValid(
            "a lifetime longer than Tessera issues",
        ));
    }
    Ok(Live {
        claims,
        user,
        client,
    })
}

/// The client `id` names, if it is still the registration a token issued at `iat` was
/// issued under: a client deleted and registered again under the same id (created after
/// the token) does not revive the old registration's tokens.
pub(super) async fn registered_client(
    state: &AppState,
    id: &str,
    iat: i64,
) -> Result<Client, TokenError> {
    match state.store.client(id).await? {
        Some(c) if c.created_at <= iat => Ok(c),
        Some(_) => Err(TokenError::NotValid(
            "issued under an earlier registration of the client",
        )),
        None => Err(TokenError::NotValid("the client was deleted")),
    }
}

/// A live access token that `surface` accepts (its audience, client and scope).
///
/// # Errors
/// [`TokenError::NotValid`] also for a live token issued for something else.
pub async fn accepted(
    state: &AppState,
    token: &Secret,
    surface: Surface,
) -> Result<Live, TokenError> {
    let live = live_access(state, token).await?;
    if audience::accepts(state, surface, &live.claims, live.client.as_ref()) {
        Ok(live)
    } else {
        Err(TokenError::NotValid(
            "the token was not issued for this API",
        ))
    }
}

/// Authenticates a bearer access token of a user for `surface` and returns its claims
/// and (active) user.
///
/// # Errors
/// [`TokenError::NotValid`], also for a service (client credentials) token and for a
/// token issued for something other than `surface`.
pub async fn authenticate_bearer(
    state: &AppState,
    token: &Secret,
    surface: Surface,
) -> Result<(AccessClaims, User), TokenError> {
    let live = accepted(state, token, surface).await?;
    let user = live.user.ok_or(TokenError::NotValid("not a user token"))?;
    Ok((live.claims, user))
}
