//! The OAuth 2.0 endpoints' rules: the token endpoint's grants (RFC 6749), introspection
//! (RFC 7662), revocation (RFC 7009) and pushed authorization requests (RFC 9126). Every
//! function authenticates the client first.

use crate::domain::GrantType;
use crate::service::client::{self, ClientAuthError, ClientCredentials, ClientExt as _};
use crate::service::login::{self, LoginError, LoginId};
use crate::service::password::HashError;
use crate::service::sso::authorize::{self, AuthorizeError};
use crate::service::token::{self, Grant, TokenError};
use crate::state::AppState;
use crate::store::{Client, Redemption, RefreshState, StoreError};
use tessera_proto::oauth::{IntrospectedAudience, TokenHintRequest, TokenRequest};
use tessera_proto::{Introspection, OAuthErrorCode, Secret, TokenResponse};
use tessera_token::validate::{verify_access_any_audience, verify_refresh};

/// An OAuth request failed; each case is one RFC 6749 error code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// Malformed or missing parameter.
    #[error("{0}")]
    InvalidRequest(String),
    /// Client authentication failed (401 with `WWW-Authenticate`).
    #[error("client authentication failed")]
    InvalidClient,
    /// The credentials, code or refresh token are invalid, expired, revoked or another
    /// client's.
    #[error("{0}")]
    InvalidGrant(&'static str),
    /// The client may not use this grant, or revoke this token.
    #[error("{0}")]
    UnauthorizedClient(&'static str),
    /// Unknown or unsupported grant type.
    #[error("unsupported grant type {0:?}")]
    UnsupportedGrantType(String),
    /// A scope the client may not ask for.
    #[error("scope {0:?} is not allowed for this client")]
    InvalidScope(String),
    /// A pushed request object that does not verify (RFC 9126 §2.3).
    #[error("{0}")]
    InvalidRequestObject(String),
    /// The request body is over the limit (413).
    #[error("the request body is over {0} bytes")]
    TooLarge(usize),
    /// Too many failed logins (429 with `Retry-After`).
    #[error("too many failed logins; retry in {0} seconds")]
    Throttled(i64),
    /// Overloaded, or the database is unavailable (503).
    #[error("temporarily unavailable, retry later")]
    Unavailable(String),
    /// A failure of ours (500); the text is logged, never sent.
    #[error("internal server error")]
    Internal(String),
}

impl OAuthError {
    /// The RFC code.
    pub fn code(&self) -> OAuthErrorCode {
        match self {
            Self::InvalidRequest(_) | Self::TooLarge(_) => OAuthErrorCode::InvalidRequest,
            Self::InvalidClient => OAuthErrorCode::InvalidClient,
            Self::InvalidGrant(_) => OAuthErrorCode::InvalidGrant,
            Self::UnauthorizedClient(_) => OAuthErrorCode::UnauthorizedClient,
            Self::UnsupportedGrantType(_) => OAuthErrorCode::UnsupportedGrantType,
            Self::InvalidScope(_) => OAuthErrorCode::InvalidScope,
            Self::InvalidRequestObject(_) => OAuthErrorCode::InvalidRequestObject,
            Self::Unavailable(_) | Self::Throttled(_) => OAuthErrorCode::TemporarilyUnavailable,
            Self::Internal(_) => OAuthErrorCode::ServerError,
        }
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Self::Unavailable(e.to_string()),
            StoreError::Conflict(_)
            | StoreError::Database(_)
            | StoreError::Migrate(_)
            | StoreError::Corrupt(_)
            | StoreError::NotEmpty => Self::Internal(e.to_string()),
        }
    }
}

impl From<ClientAuthError> for OAuthError {
    fn from(e: ClientAuthError) -> Self {
        match e {
            ClientAuthError::Failed => Self::InvalidClient,
            ClientAuthError::Store(s) => s.into(),
        }
    }
}

impl From<TokenError> for OAuthError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::NotValid(why) => Self::InvalidGrant(why),
            TokenError::ServiceNotAllowed => Self::InvalidGrant("the user may not use this client"),
            TokenError::NumericClientId => Self::UnauthorizedClient(
                "client ids of digits only get no service token; register the client again",
            ),
            TokenError::Store(s) => s.into(),
            TokenError::Signer(s) if s.is_unavailable() => Self::Unavailable(s.to_string()),
            TokenError::Sign(_)
            | TokenError::Random(_)
            | TokenError::Signer(_)
            | TokenError::NoKeyFor(_) => Self::Internal(e.to_string()),
        }
    }
}

impl From<HashError> for OAuthError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => Self::Unavailable(e.to_string()),
            HashError::TooLong(_) => Self::InvalidGrant("invalid resource owner credentials"),
            HashError::Internal(_) => Self::Internal(e.to_string()),
        }
    }
}

impl From<LoginError> for OAuthError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::NoActiveAccount => Self::InvalidGrant("invalid resource owner credentials"),
            LoginError::Throttled(wait) => Self::Throttled(wait.seconds),
            LoginError::Hash(h) => h.into(),
            LoginError::Store(s) => s.into(),
        }
    }
}

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
async fn grant(
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
                Some((sid, auth_time)) if has_scope(&done.scope, "openid") => {
                    let signed = IdTokenFor {
                        client: &client,
                        user: &done.user,
                        scope: &done.scope,
                        sid,
                        auth_time: *auth_time,
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
        GrantType::AuthorizationCode => code(state, &client, req).await,
    }
}

/// The authorization code grant: the code is consumed once, must be this client's, for
/// this redirect URI, with the PKCE verifier of its challenge. A replayed code revokes
/// the tokens its first redemption gave.
async fn code(
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
    let grant = Grant {
        client: Some(client),
        scope: Some(found.scope.as_str()),
        sign_in: Some(token::SignIn {
            sid: &found.sid,
            auth_time: found.auth_time,
        }),
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
    let id_token = if has_scope(&found.scope, "openid") {
        let signed = IdTokenFor {
            client,
            user: &user,
            scope: &found.scope,
            sid: &found.sid,
            auth_time: found.auth_time,
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

fn has_scope(scope: &str, wanted: &str) -> bool {
    scope.split_whitespace().any(|s| s == wanted)
}

/// What an ID token says: about whom, to which client, from which sign-in, alongside
/// which access token.
struct IdTokenFor<'a> {
    client: &'a Client,
    user: &'a crate::store::User,
    scope: &'a str,
    sid: &'a str,
    auth_time: i64,
    nonce: Option<&'a str>,
    access: &'a str,
}

impl IdTokenFor<'_> {
    /// Signs it with the client's ID-token algorithm; it lives as long as the access
    /// token beside it.
    async fn sign(&self, state: &AppState) -> Result<String, OAuthError> {
        let now = state.clock.unix();
        let alg = token::id_token_alg(state, self.client);
        let grant = Grant {
            client: Some(self.client),
            scope: Some(self.scope),
            sign_in: None,
        };
        let mut claims = identity(self.user, self.scope);
        claims.iss = state.issuer.clone();
        claims.aud = self.client.client_id.clone();
        claims.azp = Some(self.client.client_id.clone());
        claims.iat = now;
        claims.exp = now.saturating_add(token::access_lifetime(state, grant));
        claims.auth_time = self.auth_time;
        claims.nonce = self.nonce.map(str::to_owned);
        claims.at_hash = Some(tessera_token::oidc::half_hash(alg, self.access));
        claims.sid = Some(self.sid.to_owned());
        Ok(token::sign_id_token(state, &claims, alg).await?)
    }
}

/// The standard claims `scope` releases about `user` (OpenID Connect Core §5.4).
pub fn identity(user: &crate::store::User, scope: &str) -> tessera_token::oidc::IdClaims {
    let has = |s: &str| has_scope(scope, s);
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

fn required<T>(value: Option<T>, field: &str) -> Result<T, OAuthError> {
    value.ok_or_else(|| OAuthError::InvalidRequest(format!("{field}: this field is required")))
}

/// The scopes granted: those asked for, which must all be the client's, or all of the
/// client's when none are asked for.
fn allowed_scope(client: &Client, asked: Option<&str>) -> Result<String, OAuthError> {
    match asked {
        None => Ok(client.scope_string()),
        Some(asked) => {
            let granted = client.scope_string();
            match asked
                .split_whitespace()
                .find(|s| !token::is_subset(s, &granted))
            {
                Some(bad) => Err(OAuthError::InvalidScope(bad.to_owned())),
                None => Ok(asked.split_whitespace().collect::<Vec<_>>().join(" ")),
            }
        }
    }
}

async fn client_credentials(
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

async fn password(
    state: &AppState,
    client: &Client,
    req: TokenRequest,
    ip: std::net::IpAddr,
) -> Result<TokenResponse, OAuthError> {
    let username = required(req.username, "username")?;
    let password = required(req.password, "password")?;
    let scope = allowed_scope(client, req.scope.as_deref())?;
    let user = login::authenticate(state, &LoginId::Username(username), &password, ip).await?;
    let grant = Grant {
        client: Some(client),
        scope: Some(scope.as_str()),
        sign_in: None,
    };
    let pair = token::issue_pair_for(state, &user, grant).await?;
    Ok(pair_response(state, client, pair, scope_of(&scope)))
}

fn scope_of(scope: &str) -> Option<String> {
    (!scope.is_empty()).then(|| scope.to_owned())
}

fn pair_response(
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

/// The longest pushed request stored (its values as JSON).
pub const MAX_PUSHED_BYTES: usize = 16 * 1024;

/// Pushed requests one client may have pending at once (at most 16 MiB for a client).
pub const MAX_PUSHED_PER_CLIENT: i64 = 1000;

/// What `/oauth/par` answers (RFC 9126 §2.2).
#[derive(Debug, serde::Serialize)]
pub struct Pushed {
    /// `urn:ietf:params:oauth:request_uri:…`, good once.
    pub request_uri: String,
    /// Seconds it stays good.
    pub expires_in: i64,
}

/// `POST /oauth/par` (RFC 9126): authenticates the client, replaces a request object by
/// its values (RFC 9126 §3), checks the authorization request as the authorization
/// endpoint would (its errors as JSON here, not redirects), and stores it, sealed as
/// pushed (and signed), under a fresh `request_uri` for [`PUSHED_LIFETIME`] seconds.
///
/// # Errors
/// [`OAuthError`]: `invalid_client`; `invalid_request_object` for a request object that
/// does not verify; `invalid_request` for a `request_uri` in the body, another client's
/// `client_id`, or a request the authorization endpoint would refuse.
pub async fn push(
    state: &AppState,
    creds: &ClientCredentials,
    mut params: authorize::AuthorizeParams,
) -> Result<Pushed, OAuthError> {
    let client = client::authenticate(state.store.as_ref(), creds).await?;
    if params.request_uri.is_some() {
        return Err(OAuthError::InvalidRequest(
            "request_uri may not be pushed (RFC 9126 §2.1)".into(),
        ));
    }
    let mut signed = false;
    if let Some(request) = params.request.take() {
        // RFC 9126 §3: the object's values only; unsigned taken from a client that
        // authenticated.
        let resolved =
            super::sso::request_object::resolve(state, &client, &request, !client.is_public())
                .await
                .map_err(|e| OAuthError::InvalidRequestObject(e.0))?;
        params = resolved.params;
        signed = resolved.signed;
    }
    params.client_id = Some(client.client_id.clone());
    params.sealed = None;
    match authorize::validate(state, &params).await {
        Ok(_) => {}
        Err(AuthorizeError::Page(why)) => return Err(OAuthError::InvalidRequest(why)),
        Err(AuthorizeError::Redirect {
            error, description, ..
        }) => {
            return Err(match error {
                "invalid_scope" => OAuthError::InvalidScope(description),
                "unauthorized_client" => OAuthError::UnauthorizedClient(
                    "this client is not registered for the authorization code grant",
                ),
                _ => OAuthError::InvalidRequest(format!("{error}: {description}")),
            });
        }
        Err(AuthorizeError::Store(e)) => return Err(e.into()),
        Err(AuthorizeError::Random(_)) => {
            return Err(OAuthError::Internal("random generator failed".into()));
        }
    }
    let request_uri = format!(
        "{}{}",
        authorize::PUSHED_URI_PREFIX,
        authorize::random_token()
            .map_err(|_| OAuthError::Internal("random generator failed".into()))?
    );
    params.sealed = authorize::seal(
        state,
        &params,
        authorize::Provenance {
            pushed: true,
            signed,
        },
    );
    let stored = serde_json::to_string(&params)
        .map_err(|e| OAuthError::Internal(format!("pushed request: {e}")))?;
    // Anyone may push for a public client: what one client's pushes can hold is bounded.
    if stored.len() > MAX_PUSHED_BYTES {
        return Err(OAuthError::InvalidRequest(format!(
            "the request's values are longer than {MAX_PUSHED_BYTES} bytes"
        )));
    }
    let now = state.clock.unix();
    if state
        .store
        .count_pushed_requests(&client.client_id, now)
        .await?
        >= MAX_PUSHED_PER_CLIENT
    {
        return Err(OAuthError::Unavailable(
            "too many pushed requests of this client are pending; retry in a minute".into(),
        ));
    }
    let expires_in = authorize::PUSHED_LIFETIME;
    state
        .store
        .insert_pushed_request(
            &crate::domain::digest::sha256_hex(&request_uri),
            &client.client_id,
            &stored,
            state.clock.unix().saturating_add(expires_in),
        )
        .await?;
    Ok(Pushed {
        request_uri,
        expires_in,
    })
}
