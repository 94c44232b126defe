//! `GET /openapi.json`: the admin API's OpenAPI 3.1 document, generated from the handlers and
//! wire types by `utoipa`.

use super::{audit, clients, factors, keys, users};
use axum::response::IntoResponse;
use std::sync::LazyLock;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Tessera admin API", description = "User, client, key and audit administration for staff users and superusers. Errors are `{\"detail\", \"code\"}` with the HTTP status."),
    paths(users::list_users, users::create_user, users::get_user, users::update_user,
        users::delete_user, users::set_password, users::logout, factors::list, factors::reset,
        clients::list_clients,
        clients::create_client, clients::get_client, clients::delete_client, keys::list_keys,
        audit::audit),
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

pub(super) async fn openapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI.as_str(),
    )
}
