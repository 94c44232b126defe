//! `/admin/api/clients`: list, register, read, delete OAuth clients.

use super::{Admin, ErrorSchema};
use crate::error::ApiError;
use crate::http::body::Body;
use crate::service::audit::Actor;
use crate::service::client::{self as clients, NewClient};
use crate::state::AppState;
use crate::store::Client;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An OAuth client (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    client_id: String,
    name: String,
    /// No secret; PKCE required.
    public: bool,
    redirect_uris: Vec<String>,
    grants: Vec<String>,
    scopes: Vec<String>,
    first_party: bool,
    access_lifetime: Option<i64>,
    refresh_lifetime: Option<i64>,
    /// Unix seconds.
    created_at: i64,
    id_token_alg: Option<String>,
    /// The same, under its OpenID Connect Registration name.
    id_token_signed_response_alg: Option<String>,
    /// Audiences its tokens carry beside its own client id.
    audiences: Vec<String>,
    /// Where an RP-initiated logout may return to.
    post_logout_redirect_uris: Vec<String>,
    /// Where logout tokens are POSTed (Back-Channel Logout 1.0).
    backchannel_logout_uri: Option<String>,
    backchannel_logout_session_required: bool,
    /// The page the logged-out page loads in an iframe (Front-Channel Logout 1.0).
    frontchannel_logout_uri: Option<String>,
    frontchannel_logout_session_required: bool,
    /// Its authorization requests must be pushed first (RFC 9126).
    require_pushed_authorization_requests: bool,
    /// The public keys its request objects are signed with (a JWKS).
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    /// Where those keys are published instead.
    jwks_uri: Option<String>,
    /// The only algorithm its request objects may use (`none`: unsigned ones).
    request_object_signing_alg: Option<String>,
    /// Every authorization request must be a signed request object (RFC 9101).
    require_signed_request_object: bool,
    /// Every user signing in to it must use a second factor.
    require_mfa: bool,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        Self {
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            public: c.secret_hash.is_none(),
            redirect_uris: c.redirect_uris.clone(),
            grants: c.grants.iter().map(|g| g.as_str().to_owned()).collect(),
            scopes: c.scopes.clone(),
            first_party: c.first_party,
            access_lifetime: c.access_lifetime,
            refresh_lifetime: c.refresh_lifetime,
            created_at: c.created_at,
            id_token_alg: c.id_token_alg.clone(),
            id_token_signed_response_alg: c.id_token_alg.clone(),
            audiences: c.audiences.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: c.backchannel_logout_session_required,
            frontchannel_logout_uri: c.frontchannel_logout_uri.clone(),
            frontchannel_logout_session_required: c.frontchannel_logout_session_required,
            require_pushed_authorization_requests: c.require_pushed_authorization_requests,
            jwks: c.jwks.as_deref().and_then(|j| serde_json::from_str(j).ok()),
            jwks_uri: c.jwks_uri.clone(),
            request_object_signing_alg: c.request_object_signing_alg.clone(),
            require_signed_request_object: c.require_signed_request_object,
            require_mfa: c.require_mfa,
        }
    }
}

/// A client to register (the same rules as `tessera client create`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewClientBody {
    client_id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    public: bool,
    #[serde(default)]
    redirect_uris: Vec<String>,
    /// Default: authorization_code and refresh_token.
    #[serde(default)]
    grants: Vec<String>,
    /// Default: openid profile email.
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    first_party: bool,
    #[serde(default)]
    access_lifetime: Option<i64>,
    #[serde(default)]
    refresh_lifetime: Option<i64>,
    /// RS256, PS256, ES256 or EdDSA (also taken as `id_token_signed_response_alg`).
    #[serde(default, alias = "id_token_signed_response_alg")]
    id_token_alg: Option<String>,
    /// Audiences its user tokens carry beside its own id: `[tokens] audience` makes them
    /// good for the Django user API and the services verifying that audience.
    #[serde(default)]
    audiences: Vec<String>,
    /// Where an RP-initiated logout may return to (exact match).
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    /// Where logout tokens are POSTed: https, or http on localhost.
    #[serde(default)]
    backchannel_logout_uri: Option<String>,
    #[serde(default)]
    backchannel_logout_session_required: bool,
    /// Loaded in an iframe by the logged-out page: https, or http on localhost.
    #[serde(default)]
    frontchannel_logout_uri: Option<String>,
    #[serde(default)]
    frontchannel_logout_session_required: bool,
    /// Its authorization requests must be pushed first (RFC 9126 PAR).
    #[serde(default)]
    require_pushed_authorization_requests: bool,
    /// The public keys its request objects (RFC 9101) are signed with, a JWKS.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    /// Where those keys are published instead: https, or http on localhost.
    #[serde(default)]
    jwks_uri: Option<String>,
    /// RS256, PS256, ES256, EdDSA, or none: the only algorithm its request objects may use.
    #[serde(default)]
    request_object_signing_alg: Option<String>,
    /// Every authorization request must be a signed request object.
    #[serde(default)]
    require_signed_request_object: bool,
    /// Every user signing in to it must use a second factor.
    #[serde(default)]
    require_mfa: bool,
}

/// A registered client and, for a confidential one, its secret: shown this once only.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedClient {
    client: ClientView,
    client_secret: Option<String>,
}

/// Lists OAuth clients.
#[utoipa::path(get, path = "/admin/api/clients", tag = "clients", security(("bearer" = [])),
    responses((status = 200, body = Vec<ClientView>)))]
pub(super) async fn list_clients(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<Vec<ClientView>>, ApiError> {
    let all = clients::list(state.store.as_ref()).await?;
    Ok(Json(all.iter().map(ClientView::from).collect()))
}

/// Registers an OAuth client (superusers); a confidential client's secret is in this
/// answer only.
#[utoipa::path(post, path = "/admin/api/clients", tag = "clients", request_body = NewClientBody,
    security(("bearer" = [])),
    responses((status = 201, body = CreatedClient), (status = 400, body = ErrorSchema),
        (status = 403, body = ErrorSchema), (status = 409, body = ErrorSchema)))]
pub(super) async fn create_client(
    State(state): State<AppState>,
    admin: Admin,
    Body(body): Body<NewClientBody>,
) -> Result<impl IntoResponse, ApiError> {
    admin.require_superuser_if(true)?;
    let id_token_alg = body
        .id_token_alg
        .map(|a| {
            a.parse::<tessera_token::Algorithm>()
                .map_err(|_| ApiError::Invalid("id_token_alg: RS256, PS256, ES256 or EdDSA".into()))
        })
        .transpose()?;
    let input = NewClient {
        id: body.client_id,
        name: body.name,
        public: body.public,
        redirect_uris: body.redirect_uris,
        grants: body.grants,
        scopes: body.scopes,
        first_party: body.first_party,
        access_lifetime: body.access_lifetime,
        refresh_lifetime: body.refresh_lifetime,
        id_token_alg,
        audiences: body.audiences,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        backchannel_logout_uri: body.backchannel_logout_uri,
        backchannel_logout_session_required: body.backchannel_logout_session_required,
        frontchannel_logout_uri: body.frontchannel_logout_uri,
        frontchannel_logout_session_required: body.frontchannel_logout_session_required,
        require_pushed_authorization_requests: body.require_pushed_authorization_requests,
        jwks: body.jwks.map(|j| j.to_string()),
        jwks_uri: body.jwks_uri,
        request_object_signing_alg: body.request_object_signing_alg,
        require_signed_request_object: body.require_signed_request_object,
        require_mfa: body.require_mfa,
    };
    let created = clients::create(
        state.store.as_ref(),
        input,
        state.clock.unix(),
        &state.settings.tokens.audience,
        Actor::User(admin.0.id),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedClient {
            client: ClientView::from(&created.client),
            client_secret: created.secret.map(|s| s.expose().to_owned()),
        }),
    ))
}

/// One OAuth client.
#[utoipa::path(get, path = "/admin/api/clients/{id}", tag = "clients",
    params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = ClientView), (status = 404, body = ErrorSchema)))]
pub(super) async fn get_client(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<ClientView>, ApiError> {
    let client = clients::get(state.store.as_ref(), &id).await?;
    Ok(Json(ClientView::from(&client)))
}

/// Deletes an OAuth client (superusers) and revokes the tokens issued to it.
#[utoipa::path(delete, path = "/admin/api/clients/{id}", tag = "clients",
    params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorSchema), (status = 404, body = ErrorSchema)))]
pub(super) async fn delete_client(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    admin.require_superuser_if(true)?;
    clients::delete(
        state.store.as_ref(),
        &id,
        Actor::User(admin.0.id),
        state.clock.unix(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
