//! The admin API under `/admin/api/`: who may call it, users (create, list with search and
//! paging, update, disable, delete, set password, log out everywhere), pre-provisioned
//! service restrictions enforced at the token endpoints, roles and groups in access tokens
//! (read back through tessera-client), clients, keys, audit, and `/openapi.json`.

use crate::api::assert_error;
use reqwest::Method;
use serde_json::{Value, json};
use tessera_server::service::client::NewClient;
use tessera_test_support::{PASSWORD, TestApp};

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .request(method, app.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

async fn admin_token(app: &TestApp) -> String {
    app.create_superuser("root").await;
    app.login("root").await.access
}

#[tokio::test]
async fn only_staff_and_superusers_may_call_it() {
    let app = TestApp::spawn().await;
    app.create_user("plain", false).await;
    app.create_user("staff", true).await;
    let plain = app.login("plain").await.access;
    let staff = app.login("staff").await.access;

    let none = reqwest::get(app.url("/admin/api/users")).await.unwrap();
    assert_error(none, 401, "not_authenticated").await;
    let forged = call(&app, Method::GET, "/admin/api/users", "not.a.token", None).await;
    assert_error(forged, 401, "token_not_valid").await;
    let refused = call(&app, Method::GET, "/admin/api/users", &plain, None).await;
    assert_error(refused, 403, "permission_denied").await;
    let allowed = call(&app, Method::GET, "/admin/api/users", &staff, None).await;
    assert_eq!(allowed.status(), 200);

    // A service token (client_credentials) is no user at all.
    let secret = app
        .create_client(NewClient {
            id: "svc".into(),
            grants: vec!["client_credentials".into()],
            scopes: vec!["read".into()],
            ..NewClient::default()
        })
        .await
        .unwrap();
    let service = app.service_token("svc", &secret).await;
    let refused = call(&app, Method::GET, "/admin/api/users", &service, None).await;
    assert_error(refused, 401, "token_not_valid").await;
}

#[tokio::test]
async fn users_are_created_searched_paged_updated_and_deleted() {
    let app = TestApp::spawn().await;
    let root = admin_token(&app).await;
    for name in ["ann", "anna", "bob", "joanne"] {
        let res = call(
            &app,
            Method::POST,
            "/admin/api/users",
            &root,
            Some(
                json!({"username": name, "email": format!("{name}@example.com"),
                        "password": "a long password 1", "first_name": "F"}),
            ),
        )
        .await;
        assert_eq!(res.status(), 201, "{name}");
        let user: Value = res.json().await.unwrap();
        assert_eq!(user["username"], name);
        assert_eq!(user["has_usable_password"], true);
        assert!(user.get("password_hash").is_none() && user.get("password").is_none());
    }
    let taken = call(
        &app,
        Method::POST,
        "/admin/api/users",
        &root,
        Some(json!({"username": "ANNx", "email": "Ann@Example.com"})),
    )
    .await;
    assert_error(taken, 409, "conflict").await;
    let bad = call(
        &app,
        Method::POST,
        "/admin/api/users",
        &root,
        Some(json!({"username": "x y", "email": "x@example.com"})),
    )
    .await;
    assert_error(bad, 400, "invalid").await;
    let short = call(
        &app,
        Method::POST,
        "/admin/api/users",
        &root,
        Some(json!({"username": "short", "email": "s@example.com", "password": "abc"})),
    )
    .await;
    assert_error(short, 400, "invalid").await;

    // "ann" matches ann, anna and joanne (case-insensitive), two per page.
    let page: Value = call(
        &app,
        Method::GET,
        "/admin/api/users?search=ANN&page=1&page_size=2",
        &root,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(page["count"], 3);
    let names: Vec<&str> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ann", "anna"]);
    let second: Value = call(
        &app,
        Method::GET,
        "/admin/api/users?search=ann&page=2&page_size=2",
        &root,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(second["results"][0]["username"], "joanne");
    // `%` and `_` are literal, not wildcards.
    let literal: Value = call(
        &app,
        Method::GET,
        "/admin/api/users?search=%25",
        &root,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(literal["count"], 0);
    let bad_page = call(&app, Method::GET, "/admin/api/users?page=0", &root, None).await;
    assert_error(bad_page, 400, "invalid").await;
    let not_number = call(&app, Method::GET, "/admin/api/users?page=x", &root, None).await;
    assert_error(not_number, 400, "invalid").await;

    let bob_id = page_user_id(&app, &root, "bob").await;
    let patched: Value = call(
        &app,
        Method::PATCH,
        &format!("/admin/api/users/{bob_id}"),
        &root,
        Some(json!({"first_name": "Robert", "email": "robert@example.com"})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(patched["first_name"], "Robert");
    assert_eq!(patched["email"], "robert@example.com");
    assert_eq!(patched["last_name"], "", "absent fields stay as they were");
    let unknown_field = call(
        &app,
        Method::PATCH,
        &format!("/admin/api/users/{bob_id}"),
        &root,
        Some(json!({"password_hash": "x"})),
    )
    .await;
    assert_error(unknown_field, 400, "invalid").await;
    let clash = call(
        &app,
        Method::PATCH,
        &format!("/admin/api/users/{bob_id}"),
        &root,
        Some(json!({"username": "ann"})),
    )
    .await;
    assert_error(clash, 409, "conflict").await;

    // Disabling through PATCH revokes the user's tokens.
    let bob_access = login_with(&app, "bob", "a long password 1").await["access"]
        .as_str()
        .unwrap()
        .to_owned();
    let off = call(
        &app,
        Method::PATCH,
        &format!("/admin/api/users/{bob_id}"),
        &root,
        Some(json!({"is_active": false})),
    )
    .await;
    assert_eq!(off.status(), 200);
    let me = app.get_bearer("/auth/users/me/", &bob_access).await;
    assert_error(me, 401, "token_not_valid").await;

    let gone = call(
        &app,
        Method::DELETE,
        &format!("/admin/api/users/{bob_id}"),
        &root,
        None,
    )
    .await;
    assert_eq!(gone.status(), 204);
    let missing = call(
        &app,
        Method::GET,
        &format!("/admin/api/users/{bob_id}"),
        &root,
        None,
    )
    .await;
    assert_error(missing, 404, "not_found").await;
    let again = call(
        &app,
        Method::DELETE,
        &format!("/admin/api/users/{bob_id}"),
        &root,
        None,
    )
    .await;
    assert_error(again, 404, "not_found").await;
}

async fn page_user_id(app: &TestApp, token: &str, username: &str) -> i64 {
    let page: Value = call(
        app,
        Method::GET,
        &format!("/admin/api/users?search={username}&page_size=200"),
        token,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

async fn login_with(app: &TestApp, username: &str, password: &str) -> Value {
    let res = app
        .post_json(
            "/auth/token/",
            &json!({"username": username, "password": password}),
        )
        .await;
    assert_eq!(res.status(), 200, "login of {username}");
    res.json().await.unwrap()
}

#[tokio::test]
async fn staff_cannot_grant_or_touch_privileged_accounts() {
    let app = TestApp::spawn().await;
    let root = admin_token(&app).await;
    let other_staff = app.create_user("other_staff", true).await;
    let staff_user = app.create_user("staff", true).await;
    let plain = app.create_user("plain", false).await;
    let staff = app.login("staff").await.access;

    let escalate = call(
        &app,
        Method::PATCH,
        &format!("/admin/api/users/{}", staff_user.id),
        &staff,
        Some(json!({"is_superuser": true})),
    )
    .await;
    assert_error(escalate, 403, "permission_denied").await;
    let grant = call(
        &app,
        Method::PATCH,
        &format!("/admin/api/users/{}", plain.id),
        &staff,
        Some(json!({"is_staff": true})),
    )
    .await;
    assert_error(grant, 403, "permission_denied").await;
    let create_staff = call(
        &app,
        Method::POST,
        "/admin/api/users",
        &staff,
        Some(json!({"username": "s2", "email": "s2@example.com", "is_staff": true})),
    )
    .await;
    assert_error(create_staff, 403, "permission_denied").await;
    for (method, suffix) in [
        (Method::DELETE, ""),
        (Method::POST, "/logout"),
        (Method::PATCH, ""),
    ] {
        let res = call(
            &app,
            method.clone(),
            &format!("/admin/api/users/{}{suffix}", other_staff.id),
            &staff,
            Some(json!({"first_name": "x"})),
        )
        .await;
        assert_error(res, 403, "permission_denied").await;
    }
    // Ordinary users are theirs to manage; a superuser may do the rest.
    let renamed = call(
        &app,
        Method::PATCH,
        &format!("/admin/api/users/{}", plain.id),
        &staff,
        Some(json!({"last_name": "Renamed"})),
    )
    .await;
    assert_eq!(renamed.status(), 200);
    let promoted = call(
        &app,
        Method::PATCH,
        &format!("/admin/api/users/{}", plain.id),
        &root,
        Some(json!({"is_staff": true})),
    )
    .await;
    assert_eq!(promoted.status(), 200);
    assert_eq!(promoted.json::<Value>().await.unwrap()["is_staff"], true);
}

#[tokio::test]
async fn roles_and_groups_travel_in_access_tokens_and_tessera_client_reads_them() {
    let app = TestApp::spawn().await;
    let root = admin_token(&app).await;
    let alice = app.create_user("alice", false).await;
    let res = call(
        &app,
        Method::PATCH,
        &format!("/admin/api/users/{}", alice.id),
        &root,
        Some(json!({"roles": ["billing:admin", "reader", "reader"], "groups": ["finance"]})),
    )
    .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["roles"],
        json!(["billing:admin", "reader"]),
        "deduplicated"
    );
    let bad = call(
        &app,
        Method::PATCH,
        &format!("/admin/api/users/{}", alice.id),
        &root,
        Some(json!({"roles": ["has space"]})),
    )
    .await;
    assert_error(bad, 400, "invalid").await;

    let access = app.login("alice").await.access;
    let verifier = tessera_client::Verifier::builder(app.address.clone(), "tessera")
        .discover()
        .await
        .unwrap();
    let claims = verifier.verify(&access).await.unwrap();
    assert!(claims.has_role("billing:admin") && claims.has_role("reader"));
    assert!(!claims.has_role("admin"));
    assert!(claims.in_group("finance"));
    assert_eq!(claims.is_staff, None, "not configured by default");

    // A user without roles carries no empty arrays; is_staff when configured.
    let staffed = TestApp::builder()
        .settings(|s| {
            s.tokens.user_claims = vec![
                tessera_server::config::UserClaim::IsStaff,
                tessera_server::config::UserClaim::Roles,
            ]
        })
        .spawn()
        .await;
    staffed.create_user("bob", true).await;
    let token = staffed.login("bob").await.access;
    let payload = payload_of(&token);
    assert_eq!(payload["is_staff"], true);
    assert!(payload.get("roles").is_none() && payload.get("groups").is_none());
}

fn payload_of(token: &str) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_pre_provisioned_user_gets_tokens_only_for_their_services() {
    let app = TestApp::spawn().await;
    let root = admin_token(&app).await;
    let billing = app
        .create_client(NewClient {
            id: "billing".into(),
            grants: vec!["password".into()],
            scopes: vec!["openid".into()],
            first_party: true,
            ..NewClient::default()
        })
        .await
        .unwrap();
    let other = app
        .create_client(NewClient {
            id: "other".into(),
            grants: vec!["password".into()],
            scopes: vec!["openid".into()],
            first_party: true,
            ..NewClient::default()
        })
        .await
        .unwrap();
    // Created before the first login, without a password, limited to billing.
    let created: Value = call(
        &app,
        Method::POST,
        "/admin/api/users",
        &root,
        Some(json!({"username": "carol", "email": "carol@example.com", "services": ["billing"]})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(created["has_usable_password"], false);
    assert_eq!(created["services"], json!(["billing"]));
    let id = created["id"].as_i64().unwrap();
    let nobody = app
        .post_json(
            "/auth/token/",
            &json!({"username": "carol", "password": ""}),
        )
        .await;
    assert!(nobody.status() == 400 || nobody.status() == 401);
    let set = call(
        &app,
        Method::POST,
        &format!("/admin/api/users/{id}/password"),
        &root,
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(set.status(), 204);

    let grant = |client: &'static str, secret: String| {
        let app = &app;
        async move {
            app.post_form(
                "/oauth/token",
                Some((client, &secret)),
                &[
                    ("grant_type", "password"),
                    ("username", "carol"),
                    ("password", PASSWORD),
                ],
            )
            .await
        }
    };
    assert_eq!(grant("billing", billing.clone()).await.status(), 200);
    let refused = grant("other", other.clone()).await;
    assert_eq!(refused.status(), 400);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    // The Django API issues for the configured audience, which is not in the list.
    let django = app
        .post_json(
            "/auth/token/",
            &json!({"username": "carol", "password": PASSWORD}),
        )
        .await;
    assert_error(django, 403, "permission_denied").await;

    // Lifting the restriction (null) lets every service issue again.
    let lifted: Value = call(
        &app,
        Method::PATCH,
        &format!("/admin/api/users/{id}"),
        &root,
        Some(json!({"services": null})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(lifted["services"], Value::Null);
    assert_eq!(grant("other", other).await.status(), 200);
    let pair = app.login("carol").await;

    // Restricting again also stops refreshes of tokens issued before.
    call(
        &app,
        Method::PATCH,
        &format!("/admin/api/users/{id}"),
        &root,
        Some(json!({"services": ["billing"]})),
    )
    .await;
    let refresh = app
        .post_json("/auth/token/refresh/", &json!({"refresh": pair.refresh}))
        .await;
    assert_error(refresh, 403, "permission_denied").await;
}

#[tokio::test]
async fn password_reset_and_logout_everywhere_end_every_session() {
    let app = TestApp::spawn().await;
    let root = admin_token(&app).await;
    let dave = app.create_user("dave", false).await;
    let pair = app.login("dave").await;
    let res = call(
        &app,
        Method::POST,
        &format!("/admin/api/users/{}/logout", dave.id),
        &root,
        None,
    )
    .await;
    assert_eq!(res.status(), 204);
    let me = app.get_bearer("/auth/users/me/", &pair.access).await;
    assert_error(me, 401, "token_not_valid").await;
    let refresh = app
        .post_json("/auth/token/refresh/", &json!({"refresh": pair.refresh}))
        .await;
    assert_error(refresh, 401, "token_not_valid").await;

    let pair = app.login("dave").await;
    let set = call(
        &app,
        Method::POST,
        &format!("/admin/api/users/{}/password", dave.id),
        &root,
        Some(json!({"password": "a brand new password"})),
    )
    .await;
    assert_eq!(set.status(), 204);
    let old = app
        .post_json(
            "/auth/token/",
            &json!({"username": "dave", "password": PASSWORD}),
        )
        .await;
    assert_error(old, 401, "no_active_account").await;
    login_with(&app, "dave", "a brand new password").await;
    let refresh = app
        .post_json("/auth/token/refresh/", &json!({"refresh": pair.refresh}))
        .await;
    assert_error(refresh, 401, "token_not_valid").await;
}

#[tokio::test]
async fn clients_keys_audit_and_the_openapi_document() {
    let app = TestApp::spawn().await;
    let root = admin_token(&app).await;
    app.create_user("staff", true).await;
    let staff = app.login("staff").await.access;

    let new_client = json!({"client_id": "shop", "grants": ["client_credentials"],
                            "scopes": ["orders:read"]});
    let refused = call(
        &app,
        Method::POST,
        "/admin/api/clients",
        &staff,
        Some(new_client.clone()),
    )
    .await;
    assert_error(refused, 403, "permission_denied").await;
    let created: Value = call(
        &app,
        Method::POST,
        "/admin/api/clients",
        &root,
        Some(new_client.clone()),
    )
    .await
    .json()
    .await
    .unwrap();
    let secret = created["client_secret"].as_str().unwrap();
    assert_eq!(created["client"]["public"], false);
    // The secret works, once shown.
    app.service_token("shop", secret).await;
    let twice = call(
        &app,
        Method::POST,
        "/admin/api/clients",
        &root,
        Some(new_client),
    )
    .await;
    assert_error(twice, 409, "conflict").await;
    let invalid = call(
        &app,
        Method::POST,
        "/admin/api/clients",
        &root,
        Some(json!({"client_id": "web", "grants": ["authorization_code"]})),
    )
    .await;
    assert_error(invalid, 400, "invalid").await;
    let listed: Value = call(&app, Method::GET, "/admin/api/clients", &staff, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["client_id"], "shop");
    assert!(listed[0].get("secret_hash").is_none());
    let one = call(&app, Method::GET, "/admin/api/clients/shop", &staff, None).await;
    assert_eq!(one.status(), 200);
    let deleted = call(&app, Method::DELETE, "/admin/api/clients/shop", &root, None).await;
    assert_eq!(deleted.status(), 204);
    let gone = call(&app, Method::GET, "/admin/api/clients/shop", &root, None).await;
    assert_error(gone, 404, "not_found").await;

    let keys: Value = call(&app, Method::GET, "/admin/api/keys", &staff, None)
        .await
        .json()
        .await
        .unwrap();
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.iter().filter(|k| k["signing"] == true).count(), 1);
    assert_eq!(keys[0]["state"], "active");
    assert!(keys[0].get("sealed_private").is_none() && keys[0].get("d").is_none());

    let events: Value = call(
        &app,
        Method::GET,
        "/admin/api/audit?limit=100",
        &staff,
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"client.created") && kinds.contains(&"client.deleted"));
    let deletion = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "client.deleted")
        .unwrap();
    assert_eq!(deletion["actor"], "1", "the superuser's id");

    let doc: Value = reqwest::get(app.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/admin/api/users",
        "/admin/api/users/{id}",
        "/admin/api/users/{id}/password",
        "/admin/api/users/{id}/logout",
        "/admin/api/clients",
        "/admin/api/clients/{id}",
        "/admin/api/keys",
        "/admin/api/audit",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} undocumented");
    }
    assert!(doc["paths"]["/admin/api/users/{id}"].get("patch").is_some());
    for path in ["/admin/api/users", "/admin/api/audit"] {
        for param in doc["paths"][path]["get"]["parameters"].as_array().unwrap() {
            assert_eq!(param["in"], "query", "{path}: {param}");
        }
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"].get("AdminUser").is_some());
}
