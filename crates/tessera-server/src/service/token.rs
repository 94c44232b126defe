//! Issuing, rotating, verifying and revoking tokens.

use super::audience::{self, Surface};
use crate::config::UserClaim;
use crate::domain::time::seconds;
use crate::state::AppState;
use crate::store::{Client, RefreshRecord, RefreshState, RotateOutcome, StoreError, User};
use tessera_proto::{Secret, TokenPair};
use tessera_token::claims::new_jti;
use tessera_token::sign::sign_refresh;
use tessera_token::validate::{verify_access_any_audience, verify_refresh};
use tessera_token::{AccessClaims, RandomError, RefreshClaims, SignError, TokenType, VerifyError};

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
    /// No active key of the algorithm a client asked for.
    #[error("no active {0} key: run `tessera keys rotate --alg {0}`")]
    NoKeyFor(tessera_token::Algorithm),
    /// The signer (Vault's transit engine) failed.
    #[error(transparent)]
    Signer(#[from] crate::keys::SignerError),
    /// The random generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// The user may not get tokens for this service (an admin restricted their services).
    #[error("the user may not use this service")]
    ServiceNotAllowed,
    /// A client registered before client ids had to contain a non-digit: its service
    /// token's `sub` would read as a user id.
    #[error("client ids of digits only get no service token; register the client again")]
    NumericClientId,
}

impl From<VerifyError> for TokenError {
    fn from(e: VerifyError) -> Self {
        tracing::debug!(reason = %e, "token refused");
        Self::NotValid("verification failed")
    }
}

/// Through which OAuth client, and with which scopes, tokens are issued. The Django API
/// issues with no client and no scope ([`Grant::DIRECT`]).
#[derive(Debug, Clone, Copy)]
pub struct Grant<'a> {
    /// The client, whose lifetimes override the defaults.
    pub client: Option<&'a Client>,
    /// Space-separated scopes.
    pub scope: Option<&'a str>,
    /// The browser sign-in the grant began with (authorization code flow): its refresh
    /// tokens carry it, so an ID token issued on refresh repeats it.
    pub sign_in: Option<SignIn<'a>>,
}

/// A browser sign-in: its session id and when the user authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignIn<'a> {
    /// The session's public id (`sid`).
    pub sid: &'a str,
    /// When the user authenticated, Unix seconds.
    pub auth_time: i64,
}

impl Grant<'_> {
    /// The Django-compatible API: no client, no scope.
    pub const DIRECT: Grant<'static> = Grant {
        client: None,
        scope: None,
        sign_in: None,
    };

    fn client_id(&self) -> Option<String> {
        self.client.map(|c| c.client_id.clone())
    }

    /// The service the tokens are for: the OAuth client, or the Django API's audience.
    fn service<'s>(&'s self, state: &'s AppState) -> &'s str {
        self.client
            .map_or(state.settings.tokens.audience.as_str(), |c| {
                c.client_id.as_str()
            })
    }

    fn access_lifetime(&self, state: &AppState) -> i64 {
        self.client
            .and_then(|c| c.access_lifetime)
            .unwrap_or_else(|| seconds(state.settings.tokens.access_lifetime))
    }

    fn refresh_lifetime(&self, state: &AppState) -> i64 {
        self.client
            .and_then(|c| c.refresh_lifetime)
            .unwrap_or_else(|| seconds(state.settings.tokens.refresh_lifetime))
    }
}

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
    };
    Ok((
        state.keys.current().signer().sign_access(&claims).await?,
        lifetime,
    ))
}

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
async fn exchange_refresh(state: &AppState, token: &Secret) -> Result<TokenPair, TokenError> {
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
    rotate(state, &claims, Grant::DIRECT, now).await
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
    /// The session id and authentication time of the sign-in the family began with.
    pub sign_in: Option<(String, i64)>,
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
        Some(asked) if !is_subset(asked, granted) => {
            return Err(TokenError::NotValid("scope wider than granted"));
        }
        Some(asked) => asked.to_owned(),
        None => granted.to_owned(),
    };
    let sign_in = sign_in_of(&claims);
    let grant = Grant {
        client: Some(client),
        scope: Some(scope.as_str()),
        sign_in,
    };
    let user = current_user(state, claims.user_id, claims.sep).await?;
    let (pair, next) = mint(state, &user, claims.fam.clone(), grant).await?;
    let sign_in = sign_in.map(|s| (s.sid.to_owned(), s.auth_time));
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
fn sign_in_of(claims: &RefreshClaims) -> Option<SignIn<'_>> {
    Some(SignIn {
        sid: claims.sid.as_deref()?,
        auth_time: claims.auth_time?,
    })
}

/// Whether every space-separated scope of `asked` is in `granted`.
pub fn is_subset(asked: &str, granted: &str) -> bool {
    asked
        .split_whitespace()
        .all(|s| granted.split_whitespace().any(|g| g == s))
}

async fn rotate(
    state: &AppState,
    claims: &RefreshClaims,
    grant: Grant<'_>,
    now: i64,
) -> Result<TokenPair, TokenError> {
    let user = current_user(state, claims.user_id, claims.sep).await?;
    let (pair, next) = mint(state, &user, claims.fam.clone(), grant).await?;
    commit_rotation(state, claims, &next, &user, now).await?;
    Ok(pair)
}

/// Consumes `claims`' token for `next`, exactly once; a reuse revokes the family.
async fn commit_rotation(
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
            super::audit::event("token.reuse_detected")
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
    super::audit::event("token.family_revoked")
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
async fn registered_client(state: &AppState, id: &str, iat: i64) -> Result<Client, TokenError> {
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

/// An access token of the Django deployment Tessera replaced (signed by the key imported as
/// `[tokens] legacy_kid` or one of `legacy_public_keys`), accepted until `legacy_until`.
fn legacy_access(
    state: &AppState,
    published: &tessera_token::KeySet,
    token: &Secret,
    now: i64,
) -> Result<AccessClaims, TokenError> {
    let t = &state.settings.tokens;
    if t.legacy_until.is_none_or(|u| now >= u.unix_timestamp()) {
        return Err(VerifyError::UnknownKey.into());
    }
    // simplejwt's tokens carry no kid: try the imported key and the configured public keys.
    let imported = t.legacy_kid.as_deref().and_then(|kid| published.get(kid));
    let mut outcome = Err(VerifyError::UnknownKey);
    for key in imported.into_iter().chain(&state.legacy_keys) {
        outcome = tessera_token::validate::verify_legacy_access(
            token.expose(),
            key,
            &state.validation,
            now,
        );
        if outcome.is_ok() {
            break;
        }
    }
    let claims = outcome?;
    tracing::debug!(
        user_id = claims.user_id,
        "accepted a legacy simplejwt access token"
    );
    Ok(claims)
}

/// Whether a legacy (simplejwt) token issued at `iat` can be `user`'s: the old system
/// issued it for the user who had that id then, so the account must hold the id the import
/// kept (`imported_id`: not one made here, nor imported with `--new-ids`) and be at least
/// as old (imports keep Django's `date_joined`). An account made later under an id the
/// import skipped or refused is someone else: the token names who held the id.
fn legacy_token_is_theirs(user: &User, iat: i64) -> bool {
    user.imported_id && user.date_joined.unix_timestamp() <= iat
}

/// A refresh token of the simplejwt deployment Tessera replaced (`[tokens]
/// legacy_hs256_secret`, until `legacy_until`), exchanged once for a new Tessera pair (a
/// new family). `None` when the window is closed or the token is not such a token, so the
/// caller reports its own error; `Some(Err)` for a legacy token refused (used already, user
/// gone or disabled).
async fn legacy_refresh(
    state: &AppState,
    token: &Secret,
    now: i64,
) -> Option<Result<TokenPair, TokenError>> {
    let t = &state.settings.tokens;
    let (Some(secret), Some(until)) = (&t.legacy_hs256_secret, t.legacy_until) else {
        return None;
    };
    if now >= until.unix_timestamp() {
        return None;
    }
    let legacy = tessera_token::validate::verify_legacy_refresh(
        token.expose(),
        secret.expose().as_bytes(),
        &state.validation,
        now,
    )
    .ok()?;
    Some(exchange_legacy(state, &legacy).await)
}

async fn exchange_legacy(
    state: &AppState,
    legacy: &tessera_token::validate::LegacyRefresh,
) -> Result<TokenPair, TokenError> {
    // simplejwt's tokens carry no epoch: they die at the user's first "end every session".
    let user = current_user(state, legacy.user_id, 0).await?;
    if !legacy_token_is_theirs(&user, legacy.iat) {
        return Err(TokenError::NotValid(
            "a legacy token older than its user's account",
        ));
    }
    // The marker must outlive every moment the token verifies: until `exp` plus the
    // leeway (pruned at `exp`, a replay in the leeway got a second family).
    let verifies_until = legacy.exp.saturating_add(state.validation.leeway);
    if !state
        .store
        .use_legacy_refresh(&legacy.jti, verifies_until)
        .await?
    {
        super::audit::event("token.reuse_detected")
            .subject(legacy.user_id)
            .detail("a legacy simplejwt refresh token presented again")
            .record(state.store.as_ref(), state.clock.unix())
            .await;
        return Err(TokenError::NotValid("legacy refresh token used already"));
    }
    tracing::info!(
        user_id = user.id,
        "exchanged a legacy simplejwt refresh token"
    );
    issue_pair(state, &user).await
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

/// The active user `id` of a token issued in session epoch `sep`: refused when every
/// session of the user was ended since (log out everywhere, a password set, a disable).
async fn current_user(state: &AppState, id: i64, sep: i64) -> Result<User, TokenError> {
    match state.store.user_by_id(id).await? {
        Some(u) if u.is_active && u.session_epoch == sep => Ok(u),
        Some(u) if u.is_active => Err(TokenError::NotValid("the user's sessions were ended since")),
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

/// Whether `user` may get tokens for `service` (an admin may have restricted them to a
/// list, before or after their first login).
pub fn may_use(user: &User, service: &str) -> bool {
    user.services
        .as_ref()
        .is_none_or(|allowed| allowed.iter().any(|s| s == service))
}

/// Signs a new pair in `family` and returns it with the refresh token's row.
async fn mint(
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
        auth_time: grant.sign_in.map(|s| s.auth_time),
        sid: grant.sign_in.map(|s| s.sid.to_owned()),
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
