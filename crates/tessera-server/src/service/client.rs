//! OAuth clients: registration (the secret is shown once and stored as its SHA-256, as it
//! is 256 random bits), secret rotation, deletion, and client authentication.

use crate::domain::client::{
    ClientError, GrantType, RequestObjectSettings, check_audience, check_client_id,
    check_logout_uri, check_redirect_uri, check_request_objects, check_scope,
};
use crate::domain::digest::sha256_hex;
use crate::store::{Client, Store, StoreError};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq as _;
use tessera_proto::Secret;
use tessera_token::RandomError;

/// Scopes a client gets when none are named.
pub const DEFAULT_SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// How many audiences a client may be granted (each goes into every token it gets).
pub const MAX_AUDIENCES: usize = 10;

/// The longest token lifetime a client may be given (ten years, in seconds).
pub const MAX_LIFETIME: i64 = 10 * 366 * 86_400;

/// The scope that makes a user's token good for the admin API (`/admin/api/`): only a
/// first-party client may be registered with it, and the admin API checks again that the
/// token's client is first-party when it is used.
pub const ADMIN_SCOPE: &str = "tessera:admin";

/// A client operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientServiceError {
    /// A registration value was refused.
    #[error(transparent)]
    Invalid(#[from] ClientError),
    /// The id is taken.
    #[error("client {0} already exists")]
    Exists(String),
    /// No such client (or it has no secret to rotate).
    #[error("no confidential client {0}")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
    /// The random generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// What `tessera client create` asks for.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    /// Client id.
    pub id: String,
    /// Display name (defaults to the id).
    pub name: Option<String>,
    /// A public client (no secret; PKCE required).
    pub public: bool,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Grant types (defaults: authorization_code and refresh_token).
    pub grants: Vec<String>,
    /// Scopes (defaults: openid profile email).
    pub scopes: Vec<String>,
    /// Skips consent.
    pub first_party: bool,
    /// Access token lifetime override, seconds.
    pub access_lifetime: Option<i64>,
    /// Refresh token lifetime override, seconds.
    pub refresh_lifetime: Option<i64>,
    /// ID token algorithm (`id_token_signed_response_alg`) [default: tokens.algorithm].
    pub id_token_alg: Option<tessera_token::Algorithm>,
    /// Audiences its tokens carry beside its own id (e.g. `[tokens] audience`, for the
    /// Django API and the services that verify that audience).
    pub audiences: Vec<String>,
    /// Where an RP-initiated logout may return to (`post_logout_redirect_uris`).
    pub post_logout_redirect_uris: Vec<String>,
    /// Where logout tokens are POSTed (`backchannel_logout_uri`).
    pub backchannel_logout_uri: Option<String>,
    /// `backchannel_logout_session_required`.
    pub backchannel_logout_session_required: bool,
    /// The page loaded in an iframe at logout (`frontchannel_logout_uri`).
    pub frontchannel_logout_uri: Option<String>,
    /// `frontchannel_logout_session_required`.
    pub frontchannel_logout_session_required: bool,
    /// `require_pushed_authorization_requests` (RFC 9126).
    pub require_pushed_authorization_requests: bool,
    /// The keys its request objects are signed with, a JWKS document (`jwks`).
    pub jwks: Option<String>,
    /// Where those keys are published instead (`jwks_uri`).
    pub jwks_uri: Option<String>,
    /// `request_object_signing_alg`: an algorithm, or `none`.
    pub request_object_signing_alg: Option<String>,
    /// `require_signed_request_object` (RFC 9101 §10.5).
    pub require_signed_request_object: bool,
    /// Every user signing in to this client must use a second factor.
    pub require_mfa: bool,
}

/// A created client and, for a confidential one, its secret (shown once, never stored).
#[derive(Debug)]
pub struct Created {
    /// The stored client.
    pub client: Client,
    /// The secret.
    pub secret: Option<Secret>,
}

/// Validates and stores a client. `audience` is the server's `[tokens] audience`: no
/// client may take it as its id (its tokens would carry that audience ungranted).
///
/// # Errors
/// [`ClientServiceError`].
pub async fn create(
    store: &dyn Store,
    input: NewClient,
    now: i64,
    audience: &str,
    actor: super::audit::Actor,
) -> Result<Created, ClientServiceError> {
    check_client_id(&input.id)?;
    if input.id == audience {
        return Err(ClientError::Invalid(
            "a client id may not be the Django API's audience ([tokens] audience)",
        )
        .into());
    }
    let grants = if input.grants.is_empty() {
        vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
    } else {
        input
            .grants
            .iter()
            .map(|g| GrantType::parse(g))
            .collect::<Result<Vec<_>, _>>()?
    };
    if input.public && grants.contains(&GrantType::ClientCredentials) {
        return Err(ClientError::Invalid("a public client cannot use client_credentials").into());
    }
    if input.public && grants.contains(&GrantType::Password) {
        return Err(ClientError::Invalid("a public client cannot use the password grant").into());
    }
    if grants.contains(&GrantType::AuthorizationCode) && input.redirect_uris.is_empty() {
        return Err(
            ClientError::Invalid("authorization_code needs at least one redirect URI").into(),
        );
    }
    for uri in input
        .redirect_uris
        .iter()
        .chain(&input.post_logout_redirect_uris)
    {
        check_redirect_uri(uri)?;
    }
    for uri in [
        &input.backchannel_logout_uri,
        &input.frontchannel_logout_uri,
    ]
    .into_iter()
    .flatten()
    {
        check_logout_uri(uri)?;
    }
    if input.backchannel_logout_session_required && input.backchannel_logout_uri.is_none() {
        return Err(ClientError::Invalid(
            "backchannel_logout_session_required needs a backchannel_logout_uri",
        )
        .into());
    }
    if input.frontchannel_logout_session_required && input.frontchannel_logout_uri.is_none() {
        return Err(ClientError::Invalid(
            "frontchannel_logout_session_required needs a frontchannel_logout_uri",
        )
        .into());
    }
    check_request_objects(RequestObjectSettings {
        jwks: input.jwks.as_deref(),
        jwks_uri: input.jwks_uri.as_deref(),
        alg: input.request_object_signing_alg.as_deref(),
        require_signed: input.require_signed_request_object,
    })?;
    let scopes = if input.scopes.is_empty() {
        DEFAULT_SCOPES.map(str::to_owned).to_vec()
    } else {
        input.scopes.clone()
    };
    for scope in &scopes {
        check_scope(scope)?;
    }
    if !input.first_party && scopes.iter().any(|s| s == ADMIN_SCOPE) {
        return Err(ClientError::Invalid(
            "only a first-party client may have the tessera:admin scope",
        )
        .into());
    }
    if input.audiences.len() > MAX_AUDIENCES {
        return Err(ClientError::Invalid("a client may be granted at most 10 audiences").into());
    }
    for aud in &input.audiences {
        check_audience(aud)?;
    }
    for lifetime in [input.access_lifetime, input.refresh_lifetime]
        .into_iter()
        .flatten()
    {
        if !(1..=MAX_LIFETIME).contains(&lifetime) {
            return Err(
                ClientError::Invalid("lifetimes must be from one second to ten years").into(),
            );
        }
    }
    let secret = if input.public {
        None
    } else {
        Some(new_secret()?)
    };
    // A token's client must have been registered no later than the token was issued; an id
    // deleted this very second is registered from the next one, so that the old
    // registration's last tokens (issued up to the deletion) are never taken for its own.
    let created_at = match store.client_deleted_at(&input.id).await {
        Ok(deleted) => deleted.map_or(now, |d| now.max(d.saturating_add(1))),
        Err(e) => return Err(ClientServiceError::Store(e)),
    };
    let client = Client {
        name: input.name.unwrap_or_else(|| input.id.clone()),
        client_id: input.id,
        secret_hash: secret.as_ref().map(|s| sha256_hex(s.expose())),
        redirect_uris: input.redirect_uris,
        grants: dedup(grants.into_iter()),
        scopes: dedup(scopes.into_iter()),
        first_party: input.first_party,
        access_lifetime: input.access_lifetime,
        refresh_lifetime: input.refresh_lifetime,
        created_at,
        id_token_alg: input.id_token_alg.map(|a| a.as_str().to_owned()),
        audiences: dedup(input.audiences.into_iter()),
        post_logout_redirect_uris: dedup(input.post_logout_redirect_uris.into_iter()),
        backchannel_logout_uri: input.backchannel_logout_uri,
        backchannel_logout_session_required: input.backchannel_logout_session_required,
        frontchannel_logout_uri: input.frontchannel_logout_uri,
        frontchannel_logout_session_required: input.frontchannel_logout_session_required,
        require_pushed_authorization_requests: input.require_pushed_authorization_requests,
        jwks: input.jwks,
        jwks_uri: input.jwks_uri,
        request_object_signing_alg: input.request_object_signing_alg,
        require_signed_request_object: input.require_signed_request_object,
        require_mfa: input.require_mfa,
    };
    match store.create_client(&client).await {
        Ok(()) => {
            super::audit::event("client.created")
                .actor(actor)
                .subject(&client.client_id)
                .detail(
                    client
                        .grants
                        .iter()
                        .map(|g| g.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                )
                .record(store, now)
                .await;
            Ok(Created { client, secret })
        }
        Err(StoreError::Conflict(_)) => Err(ClientServiceError::Exists(client.client_id)),
        Err(e) => Err(ClientServiceError::Store(e)),
    }
}

/// Checks a client read from an export file as registration checks it: its id, URIs,
/// scopes and audiences (the file is data from outside).
///
/// # Errors
/// [`ClientError`].
pub fn check_restored(c: &Client) -> Result<(), ClientError> {
    check_client_id(&c.client_id)?;
    for uri in c.redirect_uris.iter().chain(&c.post_logout_redirect_uris) {
        check_redirect_uri(uri)?;
    }
    for uri in [&c.backchannel_logout_uri, &c.frontchannel_logout_uri]
        .into_iter()
        .flatten()
    {
        check_logout_uri(uri)?;
    }
    check_request_objects(RequestObjectSettings {
        jwks: c.jwks.as_deref(),
        jwks_uri: c.jwks_uri.as_deref(),
        alg: c.request_object_signing_alg.as_deref(),
        require_signed: c.require_signed_request_object,
    })?;
    for scope in &c.scopes {
        check_scope(scope)?;
    }
    if c.audiences.len() > MAX_AUDIENCES {
        return Err(ClientError::Invalid(
            "a client may be granted at most 10 audiences",
        ));
    }
    for aud in &c.audiences {
        check_audience(aud)?;
    }
    Ok(())
}

/// Every registered client, by id.
///
/// # Errors
/// [`ClientServiceError::Store`].
pub async fn list(store: &dyn Store) -> Result<Vec<Client>, ClientServiceError> {
    store
        .list_clients()
        .await
        .map_err(ClientServiceError::Store)
}

/// The client `id`.
///
/// # Errors
/// [`ClientServiceError::NotFound`], [`ClientServiceError::Store`].
pub async fn get(store: &dyn Store, id: &str) -> Result<Client, ClientServiceError> {
    store
        .client(id)
        .await
        .map_err(ClientServiceError::Store)?
        .ok_or_else(|| ClientServiceError::NotFound(id.to_owned()))
}

/// Deletes a client, revoking the refresh tokens issued to it, and records who did it.
///
/// # Errors
/// [`ClientServiceError::NotFound`], [`ClientServiceError::Store`].
pub async fn delete(
    store: &dyn Store,
    id: &str,
    actor: super::audit::Actor,
    now: i64,
) -> Result<(), ClientServiceError> {
    if !store
        .delete_client(id, now)
        .await
        .map_err(ClientServiceError::Store)?
    {
        return Err(ClientServiceError::NotFound(id.to_owned()));
    }
    super::audit::event("client.deleted")
        .actor(actor)
        .subject(id)
        .record(store, now)
        .await;
    Ok(())
}

/// Gives a confidential client a new secret; the old one stops working at once.
///
/// # Errors
/// [`ClientServiceError::NotFound`] for an unknown or public client.
pub async fn rotate_secret(
    store: &dyn Store,
    id: &str,
    actor: super::audit::Actor,
    now: i64,
) -> Result<Secret, ClientServiceError> {
    let secret = new_secret()?;
    let found = store
        .set_client_secret(id, &sha256_hex(secret.expose()))
        .await
        .map_err(ClientServiceError::Store)?;
    if found {
        super::audit::event("client.secret_rotated")
            .actor(actor)
            .subject(id)
            .record(store, now)
            .await;
        Ok(secret)
    } else {
        Err(ClientServiceError::NotFound(id.to_owned()))
    }
}

/// Credentials a client presented (HTTP Basic or the request body).
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// `client_id`.
    pub id: String,
    /// `client_secret`, absent for a public client.
    pub secret: Option<Secret>,
}

/// Client authentication failed (RFC 6749 `invalid_client`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientAuthError {
    /// Unknown client, wrong or missing secret, or a secret sent by a public client.
    #[error("client authentication failed")]
    Failed,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Authenticates a client: a confidential client must present its secret, a public one
/// must not present any. The comparison is of SHA-256 digests, in constant time; an
/// unknown client costs the same hash.
///
/// # Errors
/// [`ClientAuthError::Failed`].
pub async fn authenticate(
    store: &dyn Store,
    creds: &ClientCredentials,
) -> Result<Client, ClientAuthError> {
    let client = store.client(&creds.id).await?;
    let presented = creds.secret.as_ref().map(|s| sha256_hex(s.expose()));
    let Some(client) = client else {
        let _ = sha256_hex("timing: as much work as a known client");
        return Err(ClientAuthError::Failed);
    };
    match (&client.secret_hash, presented) {
        (Some(stored), Some(given)) if bool::from(stored.as_bytes().ct_eq(given.as_bytes())) => {
            Ok(client)
        }
        (None, None) => Ok(client),
        _ => Err(ClientAuthError::Failed),
    }
}

/// 256 random bits, base64url.
fn new_secret() -> Result<Secret, RandomError> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| RandomError)?;
    Ok(Secret::new(URL_SAFE_NO_PAD.encode(bytes)))
}

fn dedup<T: PartialEq>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// What a client may do, read from its stored registration.
pub trait ClientExt {
    /// Whether the client may use `grant`.
    fn allows(&self, grant: GrantType) -> bool;
    /// Whether the client has no secret.
    fn is_public(&self) -> bool;
    /// The client's scopes, space-separated.
    fn scope_string(&self) -> String;
}

impl ClientExt for Client {
    fn allows(&self, grant: GrantType) -> bool {
        self.grants.contains(&grant)
    }

    fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    fn scope_string(&self) -> String {
        self.scopes.join(" ")
    }
}
