//! The authorization-code grant (RFC 6749 §4.1 with PKCE, RFC 7636) and the OpenID Connect ID
//! tokens it and a refresh of its family give.

use super::{OAuthError, required, scope_of};
use crate::domain::GrantType;
use crate::domain::Scope;
use crate::service::client::ClientExt as _;
use crate::service::sso::authorize::{self};
use crate::service::token::{self, Grant};
use crate::state::AppState;
use crate::store::{Client, Redemption};
use tessera_proto::TokenResponse;
use tessera_proto::oauth::TokenRequest;

/// The authorization code grant: the code is consumed once, must be this client's, for
/// this redirect URI, with the PKCE verifier of its challenge. A replayed code revokes
/// the tokens its first redemption gave.
pub(super) async fn authorization_code(
    state: &AppState,
    client: &Client,
    req: TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let code = required(req.code, "code")?;
    let now = state.clock.unix();
    let code_hash = crate::domain::digest::sha256_hex(code.expose());
    let found = match state.store.redeem_code(&code_hash, now).await? {
        Redemption::Valid(found) => found,
        Redemption::Reused => {
            tracing::warn!(client_id = %client.client_id, "authorization code replayed; its tokens are revoked");
            return Err(OAuthError::InvalidGrant("authorization code already used"));
        }
        Redemption::Expired => return Err(OAuthError::InvalidGrant("authorization code expired")),
        Redemption::Unknown => return Err(OAuthError::InvalidGrant("unknown authorization code")),
    };
    if found.client_id != client.client_id {
        return Err(OAuthError::InvalidGrant(
            "authorization code issued to another client",
        ));
    }
    let redirect_ok = match req.redirect_uri.as_deref() {
        Some(uri) => uri == found.redirect_uri,
        None => client.redirect_uris.len() == 1,
    };
    if !redirect_ok {
        return Err(OAuthError::InvalidGrant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&found.code_challenge, &req.code_verifier) {
        (Some(challenge), Some(verifier))
            if authorize::pkce_matches(verifier.expose(), challenge) => {}
        (Some(_), _) => return Err(OAuthError::InvalidGrant("PKCE verification failed")),
        (None, Some(_)) => {
            return Err(OAuthError::InvalidGrant(
                "code_verifier sent for a code issued without PKCE",
            ));
        }
        (None, None) => {}
    }
    // The tokens carry the epoch of this user row: if the user's sessions end after this
    // read, they die with the rest.
    let user = match state.store.user_by_id(found.user_id).await? {
        Some(u) if u.is_active && u.session_epoch == found.session_epoch => u,
        Some(u) if u.is_active => {
            return Err(OAuthError::InvalidGrant(
                "the user's sessions were ended since the code was issued",
            ));
        }
        _ => return Err(OAuthError::InvalidGrant("the user is disabled")),
    };
    let authn = token::Authn::of(
        &crate::domain::authn::Methods::parse(&found.methods),
        found.auth_time,
    );
    let grant = Grant {
        client: Some(client),
        scope: Some(found.scope.as_str()),
        sign_in: Some(token::SignIn {
            sid: &found.sid,
            auth_time: found.auth_time,
        }),
        authn: Some(&authn),
    };
    let issued =
        token::issue_for(state, &user, grant, client.allows(GrantType::RefreshToken)).await?;
    state
        .store
        .record_code_tokens(
            &code_hash,
            issued.family.as_deref(),
            &issued.access_jti,
            issued.access_expires_at,
        )
        .await?;
    let id_token = if Scope::of(&found.scope).contains("openid") {
        let signed = IdTokenFor {
            client,
            user: &user,
            scope: &found.scope,
            sid: &found.sid,
            authn: &authn,
            nonce: found.nonce.as_deref(),
            access: &issued.access,
        };
        Some(signed.sign(state).await?)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token: issued.access,
        token_type: "Bearer".into(),
        expires_in: token::access_lifetime(state, grant),
        refresh_token: issued.refresh,
        scope: scope_of(&found.scope),
        id_token,
    })
}

/// What an ID token says: about whom, to which client, from which sign-in, alongside
/// which access token.
pub(super) struct IdTokenFor<'a> {
    pub(super) client: &'a Client,
    pub(super) user: &'a crate::store::User,
    pub(super) scope: &'a str,
    pub(super) sid: &'a str,
    pub(super) authn: &'a token::Authn,
    pub(super) nonce: Option<&'a str>,
    pub(super) access: &'a str,
}

impl IdTokenFor<'_> {
    /// Signs it with the client's ID-token algorithm; it lives as long as the access
    /// token beside it.
    pub(super) async fn sign(&self, state: &AppState) -> Result<String, OAuthError> {
        let now = state.clock.unix();
        let alg = token::id_token_alg(state, self.client);
        let grant = Grant {
            client: Some(self.client),
            scope: Some(self.scope),
            sign_in: None,
            authn: None,
        };
        let mut claims = identity(self.user, self.scope);
        claims.iss = state.issuer.clone();
        claims.aud = self.client.client_id.clone();
        claims.azp = Some(self.client.client_id.clone());
        claims.iat = now;
        claims.exp = now.saturating_add(token::access_lifetime(state, grant));
        claims.auth_time = self.authn.auth_time;
        claims.acr = Some(self.authn.acr.clone());
        claims.amr.clone_from(&self.authn.amr);
        claims.nonce = self.nonce.map(str::to_owned);
        claims.at_hash = Some(tessera_token::oidc::half_hash(alg, self.access));
        claims.sid = Some(self.sid.to_owned());
        Ok(token::sign_id_token(state, &claims, alg).await?)
    }
}

/// The standard claims `scope` releases about `user` (OpenID Connect Core §5.4).
pub fn identity(user: &crate::store::User, scope: &str) -> tessera_token::oidc::IdClaims {
    let has = |s: &str| Scope::of(scope).contains(s);
    let mut c = tessera_token::oidc::IdClaims {
        sub: user.id.to_string(),
        ..Default::default()
    };
    if has("profile") {
        let full = format!("{} {}", user.first_name, user.last_name);
        c.name = Some(full.trim().to_owned()).filter(|n| !n.is_empty());
        c.given_name = Some(user.first_name.clone()).filter(|n| !n.is_empty());
        c.family_name = Some(user.last_name.clone()).filter(|n| !n.is_empty());
        c.preferred_username = Some(user.username.clone());
    }
    if has("email") {
        c.email = Some(user.email.clone());
        c.email_verified = Some(user.email_verified);
    }
    c
}
