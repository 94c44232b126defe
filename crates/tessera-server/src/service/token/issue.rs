//! Issuing: access tokens with the first refresh token of a family, ID tokens, client tokens;
//! `mint`, the one place every user token is signed.

use super::{Grant, TokenError};
use crate::config::UserClaim;
use crate::service::audience::{self};
use crate::state::AppState;
use crate::store::{Client, RefreshRecord, User};
use tessera_proto::TokenPair;
use tessera_token::claims::new_jti;
use tessera_token::sign::sign_refresh;
use tessera_token::{AccessClaims, RefreshClaims, TokenType};

/// Issues an access token and the first refresh token of a new family (Django API).
///
/// # Errors
/// [`TokenError`] if signing or storing fails.
pub async fn issue_pair(state: &AppState, user: &User) -> Result<TokenPair, TokenError> {
    issue_pair_for(state, user, Grant::DIRECT).await
}

/// Issues a pair for `user` through `grant`.
///
/// # Errors
/// [`TokenError`] if signing or storing fails.
pub async fn issue_pair_for(
    state: &AppState,
    user: &User,
    grant: Grant<'_>,
) -> Result<TokenPair, TokenError> {
    let (pair, record) = mint(state, user, new_jti()?, grant).await?;
    state.store.insert_refresh(&record).await?;
    Ok(pair)
}

/// Tokens issued for an authorization code.
#[derive(Debug)]
pub struct Issued {
    /// The access token.
    pub access: String,
    /// Its id.
    pub access_jti: String,
    /// Its expiry.
    pub access_expires_at: i64,
    /// A refresh token, when the client may refresh.
    pub refresh: Option<String>,
    /// The refresh token's family.
    pub family: Option<String>,
}

/// Issues an access token (and, with `with_refresh`, the first refresh token of a new
/// family) for `user` through `grant`.
///
/// # Errors
/// [`TokenError`] if signing or storing fails.
pub async fn issue_for(
    state: &AppState,
    user: &User,
    grant: Grant<'_>,
    with_refresh: bool,
) -> Result<Issued, TokenError> {
    let (pair, record) = mint(state, user, new_jti()?, grant).await?;
    if with_refresh {
        state.store.insert_refresh(&record).await?;
    }
    Ok(Issued {
        access: pair.access,
        access_jti: record.access_jti,
        access_expires_at: record.access_expires_at,
        refresh: with_refresh.then_some(pair.refresh),
        family: with_refresh.then_some(record.family),
    })
}

/// Signs an OpenID Connect ID token with the access-token key (`typ` `JWT`).
///
/// # Errors
/// [`TokenError`] if signing fails.
pub async fn sign_id_token(
    state: &AppState,
    claims: &tessera_token::oidc::IdClaims,
    alg: tessera_token::Algorithm,
) -> Result<String, TokenError> {
    let ring = state.keys.current();
    let signer = ring.signer_for(alg).ok_or(TokenError::NoKeyFor(alg))?;
    Ok(signer.sign(tessera_token::sign::JWT_TYP, claims).await?)
}

/// The algorithm of `client`'s ID tokens: its own choice, else the server's.
pub fn id_token_alg(state: &AppState, client: &Client) -> tessera_token::Algorithm {
    client
        .id_token_alg
        .as_deref()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| signing_alg(state))
}

/// The algorithm ID tokens are signed with now.
pub fn signing_alg(state: &AppState) -> tessera_token::Algorithm {
    state.keys.current().signer().alg()
}

/// Seconds an access token issued through `grant` lives.
pub fn access_lifetime(state: &AppState, grant: Grant<'_>) -> i64 {
    grant.access_lifetime(state)
}

/// Signs an access token for a client itself (`client_credentials`: `sub` is the client
/// id, no user, no refresh token). Returns the token and its lifetime in seconds.
///
/// # Errors
/// [`TokenError`] if signing fails.
pub async fn issue_client_token(
    state: &AppState,
    client: &Client,
    scope: &str,
) -> Result<(String, i64), TokenError> {
    if crate::domain::client::could_be_user_id(&client.client_id) {
        return Err(TokenError::NumericClientId);
    }
    let now = state.clock.unix();
    let grant = Grant {
        client: Some(client),
        scope: Some(scope),
        sign_in: None,
        authn: None,
    };
    let lifetime = grant.access_lifetime(state);
    let claims = AccessClaims {
        iss: state.issuer.clone(),
        sub: client.client_id.clone(),
        aud: audience::of_service_token(state, client),
        exp: now.saturating_add(lifetime),
        iat: now,
        nbf: now,
        jti: new_jti()?,
        token_type: TokenType::Access,
        user_id: None,
        client_id: Some(client.client_id.clone()),
        scope: (!scope.is_empty()).then(|| scope.to_owned()),
        uv: None,
        roles: Vec::new(),
        groups: Vec::new(),
        is_staff: None,
        is_superuser: None,
        sep: 0,
        auth_time: None,
        acr: None,
        amr: Vec::new(),
    };
    Ok((
        state.keys.current().signer().sign_access(&claims).await?,
        lifetime,
    ))
}

/// Whether `user` may get tokens for `service` (an admin may have restricted them to a
/// list, before or after their first login).
pub fn may_use(user: &User, service: &str) -> bool {
    user.services
        .as_ref()
        .is_none_or(|allowed| allowed.iter().any(|s| s == service))
}

/// Signs a new pair in `family` and returns it with the refresh token's row.
pub(super) async fn mint(
    state: &AppState,
    user: &User,
    family: String,
    grant: Grant<'_>,
) -> Result<(TokenPair, RefreshRecord), TokenError> {
    if !may_use(user, grant.service(state)) {
        return Err(TokenError::ServiceNotAllowed);
    }
    let now = state.clock.unix();
    let tokens = &state.settings.tokens;
    let wants = |claim| tokens.user_claims.contains(&claim);
    let access_exp = now.saturating_add(grant.access_lifetime(state));
    let access = AccessClaims {
        iss: state.issuer.clone(),
        sub: user.id.to_string(),
        aud: audience::of_user_token(state, grant.client),
        exp: access_exp,
        iat: now,
        nbf: now,
        jti: new_jti()?,
        token_type: TokenType::Access,
        user_id: Some(user.id),
        client_id: grant.client_id(),
        scope: grant.scope.map(str::to_owned),
        uv: Some(user.profile_version()),
        roles: if wants(UserClaim::Roles) {
            user.roles.clone()
        } else {
            Vec::new()
        },
        groups: if wants(UserClaim::Groups) {
            user.groups.clone()
        } else {
            Vec::new()
        },
        is_staff: wants(UserClaim::IsStaff).then_some(user.is_staff),
        is_superuser: wants(UserClaim::IsSuperuser).then_some(user.is_superuser),
        sep: user.session_epoch,
        auth_time: grant.authn.map(|a| a.auth_time),
        acr: grant.authn.map(|a| a.acr.clone()),
        amr: grant.authn.map(|a| a.amr.clone()).unwrap_or_default(),
    };
    let refresh = RefreshClaims {
        iss: state.issuer.clone(),
        sub: user.id.to_string(),
        exp: now.saturating_add(grant.refresh_lifetime(state)),
        iat: now,
        jti: new_jti()?,
        fam: family,
        token_type: TokenType::Refresh,
        user_id: user.id,
        client_id: grant.client_id(),
        scope: grant.scope.map(str::to_owned),
        sep: user.session_epoch,
        auth_time: grant
            .sign_in
            .map(|s| s.auth_time)
            .or(grant.authn.map(|a| a.auth_time)),
        sid: grant.sign_in.map(|s| s.sid.to_owned()),
        acr: grant.authn.map(|a| a.acr.clone()),
        amr: grant.authn.map(|a| a.amr.clone()).unwrap_or_default(),
    };
    let pair = TokenPair {
        access: state.keys.current().signer().sign_access(&access).await?,
        refresh: sign_refresh(state.keys.current().mac(), &refresh)?,
    };
    let record = RefreshRecord {
        jti: refresh.jti,
        family: refresh.fam,
        user_id: user.id,
        client_id: refresh.client_id,
        issued_at: now,
        expires_at: refresh.exp,
        access_jti: access.jti,
        access_expires_at: access_exp,
        scope: refresh.scope,
    };
    Ok((pair, record))
}
