//! Introspection (RFC 7662) and revocation (RFC 7009): what a presented token is, for the
//! client it was issued to.

use super::{OAuthError, required};
use crate::service::client::{self, ClientCredentials, ClientExt as _};
use crate::service::token::{self, TokenError};
use crate::state::AppState;
use crate::store::RefreshState;
use tessera_proto::oauth::{IntrospectedAudience, TokenHintRequest};
use tessera_proto::{Introspection, Secret};
use tessera_token::validate::{verify_access_any_audience, verify_refresh};

/// `POST /oauth/introspect` (RFC 7662): `{"active": false}` for anything not valid now,
/// whatever the reason. Only a confidential client (a resource server with a secret) may
/// ask: RFC 7662 §2.1 requires the endpoint to be protected, and a public client proves
/// nothing by its id.
///
/// # Errors
/// [`OAuthError::InvalidClient`] (a public client too), or the store being unavailable.
pub async fn introspect(
    state: &AppState,
    creds: &ClientCredentials,
    req: TokenHintRequest,
) -> Result<Introspection, OAuthError> {
    let caller = client::authenticate(state.store.as_ref(), creds).await?;
    if caller.is_public() {
        return Err(OAuthError::InvalidClient);
    }
    let token = required(req.token, "token")?;
    let refresh_first = req.token_type_hint.as_deref() == Some("refresh_token");
    let (first, second) = if refresh_first {
        (Kind::Refresh, Kind::Access)
    } else {
        (Kind::Access, Kind::Refresh)
    };
    if let Some(found) = describe(state, &token, first).await? {
        return Ok(found);
    }
    Ok(describe(state, &token, second).await?.unwrap_or_default())
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Access,
    Refresh,
}

/// The introspection of `token` read as `kind`, if it is a live token of that kind.
async fn describe(
    state: &AppState,
    token: &Secret,
    kind: Kind,
) -> Result<Option<Introspection>, OAuthError> {
    let now = state.clock.unix();
    let ring = state.keys.current();
    match kind {
        Kind::Access => {
            let live = match token::live_access(state, token).await {
                Ok(found) => found,
                Err(TokenError::NotValid(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let (c, username) = (live.claims, live.user.map(|u| u.username));
            Ok(Some(Introspection {
                active: true,
                scope: c.scope,
                client_id: c.client_id,
                username,
                token_type: Some("access_token".into()),
                exp: Some(c.exp),
                iat: Some(c.iat),
                nbf: Some(c.nbf),
                sub: Some(c.sub),
                aud: Some(match c.aud {
                    tessera_token::Audience::One(a) => IntrospectedAudience::One(a),
                    tessera_token::Audience::Many(a) => IntrospectedAudience::Many(a),
                }),
                iss: Some(c.iss),
                jti: Some(c.jti),
            }))
        }
        Kind::Refresh => {
            let Ok(c) = verify_refresh(token.expose(), ring.mac(), &state.validation, now) else {
                return Ok(None);
            };
            if state.store.refresh_state(&c.jti, now).await? != Some(RefreshState::Active) {
                return Ok(None);
            }
            let user = match state.store.user_by_id(c.user_id).await? {
                Some(u) if u.is_active => u,
                _ => return Ok(None),
            };
            Ok(Some(Introspection {
                active: true,
                scope: c.scope,
                client_id: c.client_id,
                username: Some(user.username),
                token_type: Some("refresh_token".into()),
                exp: Some(c.exp),
                iat: Some(c.iat),
                nbf: None,
                sub: Some(c.sub),
                aud: None,
                iss: Some(c.iss),
                jti: Some(c.jti),
            }))
        }
    }
}

/// `POST /oauth/revoke` (RFC 7009): revokes an access token until its expiry, or a
/// refresh token's whole family. Unknown or invalid tokens are not an error.
///
/// # Errors
/// [`OAuthError::InvalidClient`]; [`OAuthError::UnauthorizedClient`] for a valid token
/// issued to another client.
pub async fn revoke(
    state: &AppState,
    creds: &ClientCredentials,
    req: TokenHintRequest,
) -> Result<(), OAuthError> {
    let client = client::authenticate(state.store.as_ref(), creds).await?;
    let token = required(req.token, "token")?;
    let now = state.clock.unix();
    let ring = state.keys.current();
    let mine = |owner: &Option<String>| owner.as_deref() == Some(client.client_id.as_str());
    if let Ok(c) = verify_refresh(token.expose(), ring.mac(), &state.validation, now) {
        if !mine(&c.client_id) {
            return Err(OAuthError::UnauthorizedClient(
                "the token was issued to another client",
            ));
        }
        state.store.revoke_family_of(&c.jti, now).await?;
        return Ok(());
    }
    // Any audience: a client revokes the tokens issued to it, which are for its own id.
    if let Ok(c) =
        verify_access_any_audience(token.expose(), ring.published(), &state.validation, now)
    {
        if !mine(&c.client_id) {
            return Err(OAuthError::UnauthorizedClient(
                "the token was issued to another client",
            ));
        }
        state.store.revoke_access(&c.jti, c.exp).await?;
    }
    Ok(())
}
