//! The token endpoint (RFC 6749 §4-6): the grant named by `grant_type`, for an authenticated
//! client registered for it; client credentials, password and refresh token here.

use super::{OAuthError, code::IdTokenFor, code::authorization_code, required, scope_of};
use crate::domain::GrantType;
use crate::domain::Scope;
use crate::domain::authn::{Method, Methods};
use crate::service::authn::{self, Requirement};
use crate::service::client::{self, ClientCredentials, ClientExt as _};
use crate::service::login::{self, LoginId};
use crate::service::token::{self, Grant};
use crate::state::AppState;
use crate::store::Client;
use tessera_proto::TokenResponse;
use tessera_proto::oauth::TokenRequest;

/// `POST /oauth/token`: authenticates the client, checks it may use the grant, runs it.
///
/// # Errors
/// [`OAuthError`].
pub async fn token(
    state: &AppState,
    creds: &ClientCredentials,
    req: TokenRequest,
    ip: std::net::IpAddr,
) -> Result<TokenResponse, OAuthError> {
    let name = req.grant_type.clone().unwrap_or_default();
    let answer = grant(state, creds, req, ip).await?;
    state.metrics.issued(&name);
    Ok(answer)
}

/// [`token`], uncounted.
pub(super) async fn grant(
    state: &AppState,
    creds: &ClientCredentials,
    req: TokenRequest,
    ip: std::net::IpAddr,
) -> Result<TokenResponse, OAuthError> {
    let client = client::authenticate(state.store.as_ref(), creds).await?;
    let name = req
        .grant_type
        .as_deref()
        .ok_or_else(|| OAuthError::InvalidRequest("grant_type: this field is required".into()))?;
    let grant =
        GrantType::parse(name).map_err(|_| OAuthError::UnsupportedGrantType(name.to_owned()))?;
    if !client.allows(grant) {
        return Err(OAuthError::UnauthorizedClient(
            "this client is not registered for this grant type",
        ));
    }
    match grant {
        GrantType::ClientCredentials => {
            client_credentials(state, &client, req.scope.as_deref()).await
        }
        GrantType::Password => password(state, &client, req, ip).await,
        GrantType::RefreshToken => {
            let token = required(req.refresh_token, "refresh_token")?;
            let scope = req.scope.as_deref();
            if let Some(asked) = scope {
                allowed_scope(&client, Some(asked))?;
            }
            let done = token::refresh_for_client(state, &token, &client, scope).await?;
            // OpenID Connect Core §12.2: a family that began with a sign-in asking for
            // `openid` gets a new ID token with the same iss, sub, aud, azp, auth_time and
            // sid (no nonce: it answered the original request only).
            let id_token = match &done.sign_in {
                Some((sid, authn)) if Scope::of(&done.scope).contains("openid") => {
                    let signed = IdTokenFor {
                        client: &client,
                        user: &done.user,
                        scope: &done.scope,
                        sid,
                        authn,
                        nonce: None,
                        access: &done.pair.access,
                    };
                    Some(signed.sign(state).await?)
                }
                _ => None,
            };
            // Only now, with everything signed, is the old refresh token consumed.
            done.commit(state).await?;
            let mut response = pair_response(state, &client, done.pair, scope_of(&done.scope));
            response.id_token = id_token;
            Ok(response)
        }
        GrantType::AuthorizationCode => authorization_code(state, &client, req).await,
    }
}

/// The scopes granted: those asked for, which must all be the client's, or all of the
/// client's when none are asked for.
pub(super) fn allowed_scope(client: &Client, asked: Option<&str>) -> Result<String, OAuthError> {
    match asked {
        None => Ok(client.scope_string()),
        Some(asked) => {
            let granted = client.scope_string();
            let asked = Scope::of(asked);
            match asked.first_outside(Scope::of(&granted)) {
                Some(bad) => Err(OAuthError::InvalidScope(bad.to_owned())),
                None => Ok(asked.normalized()),
            }
        }
    }
}

pub(super) async fn client_credentials(
    state: &AppState,
    client: &Client,
    asked: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let scope = allowed_scope(client, asked)?;
    let (access_token, expires_in) = token::issue_client_token(state, client, &scope).await?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in,
        refresh_token: None,
        scope: scope_of(&scope),
        id_token: None,
    })
}

pub(super) async fn password(
    state: &AppState,
    client: &Client,
    req: TokenRequest,
    ip: std::net::IpAddr,
) -> Result<TokenResponse, OAuthError> {
    let username = required(req.username, "username")?;
    let password = required(req.password, "password")?;
    let scope = allowed_scope(client, req.scope.as_deref())?;
    let user = login::authenticate(state, &LoginId::Username(username), &password, ip).await?;
    // The password grant cannot carry a second factor: an account that signs in with one
    // (or must) is refused, so that this grant is no way around it.
    let now = state.clock.unix();
    if authn::requirement(state, &user, Some(client), None).await? != Requirement::PasswordOnly {
        return Err(OAuthError::InvalidGrant(
            "this account signs in with a second factor: use a browser sign-in (authorization code flow)",
        ));
    }
    let authn = token::Authn::of(&Methods::one(Method::Password, now), now);
    let grant = Grant {
        client: Some(client),
        scope: Some(scope.as_str()),
        sign_in: None,
        authn: Some(&authn),
    };
    let pair = token::issue_pair_for(state, &user, grant).await?;
    Ok(pair_response(state, client, pair, scope_of(&scope)))
}

pub(super) fn pair_response(
    state: &AppState,
    client: &Client,
    pair: tessera_proto::TokenPair,
    scope: Option<String>,
) -> TokenResponse {
    TokenResponse {
        access_token: pair.access,
        token_type: "Bearer".into(),
        expires_in: client
            .access_lifetime
            .unwrap_or_else(|| crate::domain::time::seconds(state.settings.tokens.access_lifetime)),
        refresh_token: Some(pair.refresh),
        scope,
        id_token: None,
    }
}
