//! `/admin/api/users`: list, search, create, read, change, delete; set a password; end every
//! session.

use super::{Admin, ErrorSchema, default_page_size, query, user_id};
use crate::error::ApiError;
use crate::http::body::Body;
use crate::service::audit::Actor;
use crate::service::user::{Access, NewUserInput, PasswordInput, UserPatch, Users};
use crate::state::AppState;
use crate::store::User;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Deserializer, Serialize};
use tessera_proto::Secret;
use utoipa::ToSchema;

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
    /// An admin requires a second factor of this user.
    mfa_required: bool,
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
            mfa_required: u.mfa_required,
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
    /// Requires a second factor of the user (who is sent to enrol one at the next
    /// sign-in if they have none).
    mfa_required: Option<bool>,
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

/// Lists users, with search and paging.
#[utoipa::path(get, path = "/admin/api/users", tag = "users", params(ListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = UserPage), (status = 401, body = ErrorSchema),
        (status = 403, body = ErrorSchema)))]
pub(super) async fn list_users(
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
pub(super) async fn create_user(
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
pub(super) async fn get_user(
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
pub(super) async fn update_user(
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
        mfa_required: body.mfa_required,
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
pub(super) async fn delete_user(
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
pub(super) async fn set_password(
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
pub(super) async fn logout(
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
