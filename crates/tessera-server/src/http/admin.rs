//! The admin REST API under `/admin/api/` and its OpenAPI document, `GET /openapi.json`
//! (generated from these handlers and types by `utoipa`).
//!
//! Callers present a user access token (`Authorization: Bearer`) of a staff user or a
//! superuser, issued for administration (`service::audience::Surface::Admin`: Tessera's
//! own sign-in, or a first-party client's token with the `tessera:admin` scope). Staff
//! manage ordinary users and read everything; only a superuser may touch a staff or
//! superuser account, grant those flags, set roles, groups or services, or create and
//! delete OAuth clients.

use crate::error::ApiError;
use crate::http::bearer::Bearer;
use crate::http::body::Body;
use crate::service::audit::Actor;
use crate::service::client::{self as clients, NewClient};
use crate::service::user::{Access, NewUserInput, PasswordInput, UserPatch, Users};
use crate::state::AppState;
use crate::store::{Client, User};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Deserializer, Serialize};
use std::sync::LazyLock;
use tessera_proto::Secret;
use utoipa::{OpenApi, ToSchema};

/// The admin routes and `/openapi.json`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/api/users", get(list_users).post(create_user))
        .route(
            "/admin/api/users/{id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route("/admin/api/users/{id}/password", post(set_password))
        .route("/admin/api/users/{id}/logout", post(logout))
        .route("/admin/api/clients", get(list_clients).post(create_client))
        .route(
            "/admin/api/clients/{id}",
            get(get_client).delete(delete_client),
        )
        .route("/admin/api/keys", get(list_keys))
        .route("/admin/api/audit", get(audit))
        .route("/openapi.json", get(openapi))
}

/// The authenticated staff user or superuser making the call.
#[derive(Debug)]
pub struct Admin(pub User);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Bearer(token) = Bearer::from_request_parts(parts, state).await?;
        let (_, user) = crate::service::token::authenticate_bearer(
            state,
            &token,
            crate::service::audience::Surface::Admin,
        )
        .await?;
        if user.is_staff || user.is_superuser {
            Ok(Self(user))
        } else {
            Err(ApiError::PermissionDenied)
        }
    }
}

impl Admin {
    /// The user `raw_id` names, if this admin may manage them: staff may manage ordinary
    /// users; privileged accounts need a superuser, and so does an account holding what only
    /// a superuser grants (roles, groups, a services list): staff setting its password
    /// would otherwise sign in with those grants.
    async fn target(&self, users: &Users<'_>, raw_id: &str) -> Result<User, ApiError> {
        let target = users.get(user_id(raw_id)?).await?;
        self.require_superuser_if(
            target.is_staff
                || target.is_superuser
                || !target.roles.is_empty()
                || !target.groups.is_empty()
                || target.services.is_some(),
        )?;
        Ok(target)
    }

    fn require_superuser_if(&self, needed: bool) -> Result<(), ApiError> {
        if needed && !self.0.is_superuser {
            Err(ApiError::PermissionDenied)
        } else {
            Ok(())
        }
    }
}

fn user_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

// ----- wire types -------------------------------------------------------------------

/// A user as the admin API shows it (never the password hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUser {
    id: i64,
    username: String,
    email: String,
    first_name: String,
    last_name: String,
    is_active: bool,
    is_staff: bool,
    is_superuser: bool,
    /// RFC 3339.
    date_joined: String,
    /// RFC 3339, or null before the first login.
    last_login: Option<String>,
    roles: Vec<String>,
    groups: Vec<String>,
    /// Client ids (or the Django API's audience) the user may get tokens for; null: all.
    services: Option<Vec<String>>,
    /// False for a user created without a password (or Django's unusable password).
    has_usable_password: bool,
}

impl From<&User> for AdminUser {
    fn from(u: &User) -> Self {
        let view = crate::service::user::view(u);
        Self {
            id: u.id,
            username: u.username.clone(),
            email: u.email.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            is_active: u.is_active,
            is_staff: u.is_staff,
            is_superuser: u.is_superuser,
            date_joined: view.date_joined,
            last_login: view.last_login,
            roles: u.roles.clone(),
            groups: u.groups.clone(),
            services: u.services.clone(),
            has_usable_password: !crate::service::password::django_hash::is_unusable(
                &u.password_hash,
            ),
        }
    }
}

/// One page of users.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    /// Users matching the search, in all pages.
    count: i64,
    page: i64,
    page_size: i64,
    results: Vec<AdminUser>,
}

/// `GET /admin/api/users` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Part of a username, e-mail or name (case-insensitive).
    #[serde(default)]
    search: String,
    /// From 1.
    #[serde(default = "first_page")]
    page: i64,
    /// 1 to 200.
    #[serde(default = "default_page_size")]
    page_size: i64,
}

fn first_page() -> i64 {
    1
}

fn default_page_size() -> i64 {
    50
}

/// A user to create. Without a password the user cannot log in until one is set
/// (pre-provisioning: roles and services are ready before the first login).
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewUserBody {
    username: String,
    email: String,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Password)]
    password: Option<Secret>,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default = "yes")]
    is_active: bool,
    #[serde(default)]
    is_staff: bool,
    #[serde(default)]
    is_superuser: bool,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    /// Null or absent: every service.
    #[serde(default)]
    services: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

/// Changes to a user: only the fields present change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchBody {
    username: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    /// False disables the user and revokes their tokens.
    is_active: Option<bool>,
    is_staff: Option<bool>,
    is_superuser: Option<bool>,
    roles: Option<Vec<String>>,
    groups: Option<Vec<String>>,
    /// A list restricts the user to those services; null lifts the restriction.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>, nullable)]
    services: Option<Option<Vec<String>>>,
}

/// A field that is present, even as `null` (absent stays `None` through `default`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A new password.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordBody {
    #[schema(value_type = String, format = Password)]
    password: Secret,
}

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
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        Self {
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            public: c.secret_hash.is_none(),
            redirect_uris: c.redirect_uris.clone(),
            grants: c.grants.clone(),
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
}

/// A registered client and, for a confidential one, its secret: shown this once only.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedClient {
    client: ClientView,
    client_secret: Option<String>,
}

/// A published signing key.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    kid: String,
    alg: String,
    /// Signs new tokens now.
    signing: bool,
    /// next | active | retired (stored keys), or `published` (Vault backends).
    state: String,
    /// Unix seconds, when known.
    created_at: Option<i64>,
}

/// `GET /admin/api/audit` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events after this id.
    #[serde(default)]
    after: i64,
    /// 1 to 1000.
    #[serde(default = "default_page_size")]
    limit: i64,
}

/// An audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    id: i64,
    /// Unix seconds.
    at: i64,
    kind: String,
    actor: Option<String>,
    subject: Option<String>,
    ip: Option<String>,
    detail: Option<String>,
}

/// The error body of every failure: `{"detail", "code"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorSchema {
    detail: String,
    code: String,
}

// ----- handlers -----------------------------------------------------------------------

fn query<T>(q: Result<Query<T>, axum::extract::rejection::QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t)
        .map_err(|e| ApiError::Invalid(e.body_text()))
}

/// Lists users, with search and paging.
#[utoipa::path(get, path = "/admin/api/users", tag = "users", params(ListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = UserPage), (status = 401, body = ErrorSchema),
        (status = 403, body = ErrorSchema)))]
async fn list_users(
    State(state): State<AppState>,
    _admin: Admin,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<UserPage>, ApiError> {
    let q = query(q)?;
    if q.page < 1 || !(1..=200).contains(&q.page_size) {
        return Err(ApiError::Invalid(
            "page: from 1; page_size: 1 to 200".into(),
        ));
    }
    let offset = (q.page - 1).saturating_mul(q.page_size);
    let (found, count) = Users::of(&state)
        .search(q.search.trim(), offset, q.page_size)
        .await?;
    Ok(Json(UserPage {
        count,
        page: q.page,
        page_size: q.page_size,
        results: found.iter().map(AdminUser::from).collect(),
    }))
}

/// Creates a user (pre-provisioning: services and roles before the first login).
#[utoipa::path(post, path = "/admin/api/users", tag = "users", request_body = NewUserBody,
    security(("bearer" = [])),
    responses((status = 201, body = AdminUser), (status = 400, body = ErrorSchema),
        (status = 403, body = ErrorSchema), (status = 409, body = ErrorSchema)))]
async fn create_user(
    State(state): State<AppState>,
    admin: Admin,
    Body(body): Body<NewUserBody>,
) -> Result<impl IntoResponse, ApiError> {
    // Roles, groups and services are what services trust (`has_role()`): a superuser's to
    // grant, like the staff and superuser flags.
    admin.require_superuser_if(
        body.is_staff
            || body.is_superuser
            || !body.roles.is_empty()
            || !body.groups.is_empty()
            || body.services.is_some(),
    )?;
    let input = NewUserInput {
        username: body.username,
        email: body.email,
        password: match body.password {
            Some(p) => PasswordInput::Clear(p),
            // Django's unusable-password mark: nothing matches it.
            None => PasswordInput::Hashed("!".into()),
        },
        first_name: body.first_name,
        last_name: body.last_name,
        is_staff: body.is_staff,
        is_superuser: body.is_superuser,
        is_active: body.is_active,
        date_joined: None,
        last_login: None,
        access: Access {
            roles: body.roles,
            groups: body.groups,
            services: body.services,
        },
        email_verified: true,
        id: None,
    };
    let created = Users::of(&state)
        .create(input, Actor::User(admin.0.id))
        .await?;
    Ok((StatusCode::CREATED, Json(AdminUser::from(&created))))
}

/// One user.
#[utoipa::path(get, path = "/admin/api/users/{id}", tag = "users",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = AdminUser), (status = 404, body = ErrorSchema)))]
async fn get_user(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<AdminUser>, ApiError> {
    let user = Users::of(&state).get(user_id(&id)?).await?;
    Ok(Json(AdminUser::from(&user)))
}

/// Changes a user; `is_active: false` revokes their tokens.
#[utoipa::path(patch, path = "/admin/api/users/{id}", tag = "users",
    params(("id" = i64, Path)), request_body = UserPatchBody, security(("bearer" = [])),
    responses((status = 200, body = AdminUser), (status = 400, body = ErrorSchema),
        (status = 403, body = ErrorSchema), (status = 404, body = ErrorSchema),
        (status = 409, body = ErrorSchema)))]
async fn update_user(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Body(body): Body<UserPatchBody>,
) -> Result<Json<AdminUser>, ApiError> {
    let users = Users::of(&state);
    let target = admin.target(&users, &id).await?;
    admin.require_superuser_if(
        body.is_staff.is_some()
            || body.is_superuser.is_some()
            || body.roles.is_some()
            || body.groups.is_some()
            || body.services.is_some(),
    )?;
    let patch = UserPatch {
        username: body.username,
        email: body.email,
        first_name: body.first_name,
        last_name: body.last_name,
        is_active: body.is_active,
        is_staff: body.is_staff,
        is_superuser: body.is_superuser,
        roles: body.roles,
        groups: body.groups,
        services: body.services,
    };
    let updated = users
        .update(target.id, patch, Actor::User(admin.0.id))
        .await?;
    Ok(Json(AdminUser::from(&updated)))
}

/// Deletes a user; their tokens stop working at once.
#[utoipa::path(delete, path = "/admin/api/users/{id}", tag = "users",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorSchema), (status = 404, body = ErrorSchema)))]
async fn delete_user(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let users = Users::of(&state);
    let target = admin.target(&users, &id).await?;
    if target.id == admin.0.id {
        return Err(ApiError::Invalid(
            "an admin cannot delete themselves".into(),
        ));
    }
    users.delete(target.id, Actor::User(admin.0.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a user's password and ends all their sessions.
#[utoipa::path(post, path = "/admin/api/users/{id}/password", tag = "users",
    params(("id" = i64, Path)), request_body = PasswordBody, security(("bearer" = [])),
    responses((status = 204), (status = 400, body = ErrorSchema), (status = 404, body = ErrorSchema)))]
async fn set_password(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Body(body): Body<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    let users = Users::of(&state);
    let target = admin.target(&users, &id).await?;
    users
        .set_password_of(&target, &body.password, Actor::User(admin.0.id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Logs a user out everywhere: refresh tokens, their access tokens, SSO sessions.
#[utoipa::path(post, path = "/admin/api/users/{id}/logout", tag = "users",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorSchema)))]
async fn logout(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let users = Users::of(&state);
    let target = admin.target(&users, &id).await?;
    users
        .end_sessions(target.id, Actor::User(admin.0.id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists OAuth clients.
#[utoipa::path(get, path = "/admin/api/clients", tag = "clients", security(("bearer" = [])),
    responses((status = 200, body = Vec<ClientView>)))]
async fn list_clients(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<Vec<ClientView>>, ApiError> {
    let all = state.store.list_clients().await?;
    Ok(Json(all.iter().map(ClientView::from).collect()))
}

/// Registers an OAuth client (superusers); a confidential client's secret is in this
/// answer only.
#[utoipa::path(post, path = "/admin/api/clients", tag = "clients", request_body = NewClientBody,
    security(("bearer" = [])),
    responses((status = 201, body = CreatedClient), (status = 400, body = ErrorSchema),
        (status = 403, body = ErrorSchema), (status = 409, body = ErrorSchema)))]
async fn create_client(
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
async fn get_client(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<ClientView>, ApiError> {
    let client = state.store.client(&id).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(ClientView::from(&client)))
}

/// Deletes an OAuth client (superusers) and revokes the tokens issued to it.
#[utoipa::path(delete, path = "/admin/api/clients/{id}", tag = "clients",
    params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorSchema), (status = 404, body = ErrorSchema)))]
async fn delete_client(
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

/// The published signing keys (no private material), and which one signs.
#[utoipa::path(get, path = "/admin/api/keys", tag = "keys", security(("bearer" = [])),
    responses((status = 200, body = Vec<KeyView>)))]
async fn list_keys(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    let ring = state.keys.current();
    let stored = state.store.signing_keys().await?;
    let signing = ring.signer().kid().to_owned();
    let keys = ring
        .published()
        .iter()
        .map(|k| {
            let row = stored.iter().find(|s| s.kid == k.kid());
            KeyView {
                kid: k.kid().to_owned(),
                alg: k.alg().as_str().to_owned(),
                signing: k.kid() == signing,
                state: row.map_or_else(
                    || "published".to_owned(),
                    |r| format!("{:?}", r.state).to_lowercase(),
                ),
                created_at: row.map(|r| r.created_at),
            }
        })
        .collect();
    Ok(Json(keys))
}

/// Audit events after `after`, oldest first.
#[utoipa::path(get, path = "/admin/api/audit", tag = "audit", params(AuditQuery),
    security(("bearer" = [])), responses((status = 200, body = Vec<AuditView>)))]
async fn audit(
    State(state): State<AppState>,
    _admin: Admin,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<AuditView>>, ApiError> {
    let q = query(q)?;
    let events = state
        .store
        .audit_events(q.after, q.limit.clamp(1, 1000))
        .await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| AuditView {
                id: e.id,
                at: e.at,
                kind: e.kind,
                actor: e.actor,
                subject: e.subject,
                ip: e.ip,
                detail: e.detail,
            })
            .collect(),
    ))
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Tessera admin API", description = "User, client, key and audit administration for staff users and superusers. Errors are `{\"detail\", \"code\"}` with the HTTP status."),
    paths(list_users, create_user, get_user, update_user, delete_user, set_password, logout,
        list_clients, create_client, get_client, delete_client, list_keys, audit),
    modifiers(&BearerScheme),
    tags((name = "users"), (name = "clients"), (name = "keys"), (name = "audit"))
)]
struct AdminDoc;

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The OpenAPI 3.1 document, built once.
static OPENAPI: LazyLock<String> = LazyLock::new(|| {
    AdminDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".into())
});

async fn openapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI.as_str(),
    )
}
