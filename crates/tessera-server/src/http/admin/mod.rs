//! The admin REST API under `/admin/api/` and its OpenAPI document, `GET /openapi.json`
//! (generated from these handlers and types by `utoipa`).
//!
//! Callers present a user access token (`Authorization: Bearer`) of a staff user or a
//! superuser, issued for administration (`service::audience::Surface::Admin`: Tessera's
//! own sign-in, or a first-party client's token with the `tessera:admin` scope). Staff
//! manage ordinary users and read everything; only a superuser may touch a staff or
//! superuser account, grant those flags, set roles, groups or services, or create and
//! delete OAuth clients.

mod audit;
mod clients;
mod factors;
mod keys;
mod openapi;
mod users;

use crate::error::ApiError;
use crate::http::bearer::Bearer;
use crate::service::user::Users;
use crate::state::AppState;
use crate::store::User;
use axum::Router;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::routing::{get, post};
use serde::Serialize;
use utoipa::ToSchema;

/// The admin routes and `/openapi.json`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/api/users",
            get(users::list_users).post(users::create_user),
        )
        .route(
            "/admin/api/users/{id}",
            get(users::get_user)
                .patch(users::update_user)
                .delete(users::delete_user),
        )
        .route("/admin/api/users/{id}/password", post(users::set_password))
        .route("/admin/api/users/{id}/logout", post(users::logout))
        .route("/admin/api/users/{id}/factors", get(factors::list))
        .route("/admin/api/users/{id}/factors/reset", post(factors::reset))
        .route(
            "/admin/api/clients",
            get(clients::list_clients).post(clients::create_client),
        )
        .route(
            "/admin/api/clients/{id}",
            get(clients::get_client).delete(clients::delete_client),
        )
        .route("/admin/api/keys", get(keys::list_keys))
        .route("/admin/api/audit", get(audit::audit))
        .route("/openapi.json", get(openapi::openapi))
}

/// The authenticated staff user or superuser making the call.
#[derive(Debug)]
pub struct Admin(pub User);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Bearer(token) = Bearer::from_request_parts(parts, state).await?;
        let (claims, user) = crate::service::token::authenticate_bearer(
            state,
            &token,
            crate::service::audience::Surface::Admin,
        )
        .await?;
        if !(user.is_staff || user.is_superuser) {
            return Err(ApiError::PermissionDenied);
        }
        // An admin the policy asks a second factor of ([mfa] required_for staff, an
        // admin's mfa_required) administers only from a sign-in that used it: a token
        // from before the policy, or a legacy one, is not enough.
        let required = crate::service::authn::policy::requirement(
            &state.settings.mfa,
            &user,
            false,
            None,
            None,
        );
        let level = claims
            .acr
            .as_deref()
            .and_then(crate::domain::authn::Level::of_acr)
            .unwrap_or(crate::domain::authn::Level::OneFactor);
        if required != crate::service::authn::Requirement::PasswordOnly
            && level < crate::domain::authn::Level::TwoFactors
        {
            return Err(ApiError::PermissionDenied);
        }
        Ok(Self(user))
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

/// A user id from the path; anything else is no such user.
fn user_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

/// The error body of every failure: `{"detail", "code"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorSchema {
    detail: String,
    code: String,
}

/// The default page size of the lists.
fn default_page_size() -> i64 {
    50
}

/// The query string as `T`, or 400 naming what is wrong.
fn query<T>(q: Result<Query<T>, axum::extract::rejection::QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t)
        .map_err(|e| ApiError::Invalid(e.body_text()))
}
