//! `POST /oauth/token` (client_credentials, password, refresh_token), `/oauth/introspect`
//! and `/oauth/revoke`, with the RFC 6749 error shapes.

use serde_json::Value;
use std::time::Duration;
use tessera_server::service::client::NewClient;
use tessera_test_support::{PASSWORD, TestApp};

const TOKEN: &str = "/oauth/token";
const INTROSPECT: &str = "/oauth/introspect";
const REVOKE: &str = "/oauth/revoke";

async fn service_client(app: &TestApp, id: &str, grants: &[&str], scopes: &[&str]) -> String {
    app.create_client(NewClient {
        id: id.into(),
        grants: grants.iter().map(|g| g.to_string()).collect(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        ..NewClient::default()
    })
    .await
    .unwrap()
}

/// Asserts an RFC 6749 error and returns its body.
async fn assert_oauth_error(res: reqwest::Response, status: u16, error: &str) -> Value {
    assert_eq!(res.status(), status);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.headers()["cache-control"], "no-store");
    if error == "invalid_client" {
        assert!(
            res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
    }
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string());
    body
}

fn claims_of(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn client_credentials_issue_a_service_token() {
    let app = TestApp::spawn().await;
    let secret = service_client(
        &app,
        "billing",
        &["client_credentials"],
        &["read:orders", "write:orders"],
    )
    .await;

    // client_secret_basic
    let res = app
        .post_form(
            TOKEN,
            Some(("billing", &secret)),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "read:orders"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["pragma"], "no-cache");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["scope"], "read:orders");
    assert!(
        body.get("refresh_token").is_none(),
        "no refresh token for a service"
    );
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "billing");
    assert_eq!(claims["client_id"], "billing");
    assert_eq!(claims["scope"], "read:orders");
    assert!(claims.get("user_id").is_none());

    // client_secret_post, and no scope asked: every scope of the client.
    let res = app
        .post_form(
            TOKEN,
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "billing"),
                ("client_secret", &secret),
            ],
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["scope"], "read:orders write:orders");
}

#[tokio::test]
async fn bad_clients_and_bad_requests_get_rfc_6749_errors() {
    let app = TestApp::spawn().await;
    let secret = service_client(&app, "svc", &["client_credentials"], &["read"]).await;
    let web = service_client(&app, "web", &["password", "refresh_token"], &["openid"]).await;
    let cc = [("grant_type", "client_credentials")];

    let wrong = app
        .post_form(TOKEN, Some(("svc", "not-the-secret")), &cc)
        .await;
    assert_oauth_error(wrong, 401, "invalid_client").await;
    let unknown = app.post_form(TOKEN, Some(("ghost", &secret)), &cc).await;
    assert_oauth_error(unknown, 401, "invalid_client").await;
    let anonymous = app.post_form(TOKEN, None, &cc).await;
    assert_oauth_error(anonymous, 401, "invalid_client").await;
    let no_secret = app
        .post_form(
            TOKEN,
            None,
            &[("grant_type", "client_credentials"), ("client_id", "svc")],
        )
        .await;
    assert_oauth_error(no_secret, 401, "invalid_client").await;
    let two_methods = app
        .post_form(
            TOKEN,
            Some(("svc", &secret)),
            &[
                ("grant_type", "client_credentials"),
                ("client_secret", &secret),
            ],
        )
        .await;
    assert_oauth_error(two_methods, 400, "invalid_request").await;

    let not_registered = app.post_form(TOKEN, Some(("web", &web)), &cc).await;
    assert_oauth_error(not_registered, 400, "unauthorized_client").await;
    let unknown_grant = app
        .post_form(TOKEN, Some(("svc", &secret)), &[("grant_type", "implicit")])
        .await;
    assert_oauth_error(unknown_grant, 400, "unsupported_grant_type").await;
    let no_grant = app.post_form(TOKEN, Some(("svc", &secret)), &[]).await;
    assert_oauth_error(no_grant, 400, "invalid_request").await;
    let wide = app
        .post_form(
            TOKEN,
            Some(("svc", &secret)),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "read admin"),
            ],
        )
        .await;
    let body = assert_oauth_error(wide, 400, "invalid_scope").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("admin")
    );

    let text = app
        .client
        .post(app.url(TOKEN))
        .header("content-type", "text/plain")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_oauth_error(text, 400, "invalid_request").await;
    let get = app.client.get(app.url(TOKEN)).send().await.unwrap();
    assert_eq!(get.status(), 405);
}

#[tokio::test]
async fn password_and_refresh_grants_are_bound_to_their_client() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let web = service_client(
        &app,
        "web",
        &["password", "refresh_token"],
        &["openid", "profile", "email"],
    )
    .await;
    let other = service_client(&app, "other", &["password", "refresh_token"], &["openid"]).await;

    let bad = app
        .post_form(
            TOKEN,
            Some(("web", &web)),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "wrong password"),
            ],
        )
        .await;
    assert_oauth_error(bad, 400, "invalid_grant").await;
    let res = app
        .post_form(
            TOKEN,
            Some(("web", &web)),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
                ("scope", "openid profile"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["scope"], "openid profile");
    let access = claims_of(first["access_token"].as_str().unwrap());
    assert_eq!(access["client_id"], "web");
    assert_eq!(access["user_id"], 1);
    let refresh = first["refresh_token"].as_str().unwrap();

    // Another client cannot use it; the Django endpoint neither.
    let stolen = app
        .post_form(
            TOKEN,
            Some(("other", &other)),
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
    assert_oauth_error(stolen, 400, "invalid_grant").await;
    let django = app
        .post_json(
            "/auth/token/refresh/",
            &serde_json::json!({"refresh": refresh}),
        )
        .await;
    assert_eq!(django.status(), 401);
    // Scope may narrow, never widen.
    let wider = app
        .post_form(
            TOKEN,
            Some(("web", &web)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("scope", "openid email"),
            ],
        )
        .await;
    assert_oauth_error(wider, 400, "invalid_grant").await;
    let narrower = app
        .post_form(
            TOKEN,
            Some(("web", &web)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("scope", "openid"),
            ],
        )
        .await;
    assert_eq!(narrower.status(), 200);
    let second: Value = narrower.json().await.unwrap();
    assert_eq!(second["scope"], "openid");
    assert_eq!(
        claims_of(second["access_token"].as_str().unwrap())["scope"],
        "openid"
    );
    // The narrowed scope sticks to the family.
    let third = app
        .post_form(
            TOKEN,
            Some(("web", &web)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", second["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    let third: Value = third.json().await.unwrap();
    assert_eq!(third["scope"], "openid");
    // Reuse of a consumed token ends the family.
    let reuse = app
        .post_form(
            TOKEN,
            Some(("web", &web)),
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
    assert_oauth_error(reuse, 400, "invalid_grant").await;
    let after = app
        .post_form(
            TOKEN,
            Some(("web", &web)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", third["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_oauth_error(after, 400, "invalid_grant").await;
}

async fn introspect(app: &TestApp, who: (&str, &str), token: &str) -> Value {
    let res = app
        .post_form(INTROSPECT, Some(who), &[("token", token)])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    res.json().await.unwrap()
}

#[tokio::test]
async fn introspection_says_active_only_for_live_tokens() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let rs = service_client(&app, "api", &["client_credentials"], &["introspect"]).await;
    let web = service_client(
        &app,
        "web",
        &["password", "refresh_token", "client_credentials"],
        &["openid"],
    )
    .await;
    let api = ("api", rs.as_str());

    let res = app
        .post_form(
            TOKEN,
            Some(("web", &web)),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    let pair: Value = res.json().await.unwrap();
    let access = pair["access_token"].as_str().unwrap();
    let refresh = pair["refresh_token"].as_str().unwrap();

    let a = introspect(&app, api, access).await;
    assert_eq!(a["active"], true);
    assert_eq!(a["client_id"], "web");
    assert_eq!(a["username"], "alice");
    assert_eq!(a["sub"], "1");
    assert_eq!(a["token_type"], "access_token");
    assert_eq!(a["scope"], "openid");
    assert_eq!(a["iss"], app.address);
    let r = introspect(&app, api, refresh).await;
    assert_eq!(r["active"], true);
    assert_eq!(r["token_type"], "refresh_token");
    // The hint only changes where to look first.
    let hinted = app
        .post_form(
            INTROSPECT,
            Some(api),
            &[("token", access), ("token_type_hint", "refresh_token")],
        )
        .await;
    assert_eq!(hinted.json::<Value>().await.unwrap()["active"], true);

    for garbage in ["", "x", "a.b.c", &format!("{access}x")] {
        let v = introspect(&app, api, garbage).await;
        assert_eq!(v, serde_json::json!({"active": false}), "{garbage:?}");
    }
    // A service token is active, and inactive once its client is deleted.
    let cc = app
        .post_form(
            TOKEN,
            Some(("web", &web)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    let service_token = cc.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(introspect(&app, api, &service_token).await["active"], true);

    // Client authentication is required.
    let anonymous = app.post_form(INTROSPECT, None, &[("token", access)]).await;
    assert_oauth_error(anonymous, 401, "invalid_client").await;

    // Expiry, then deletion of the client.
    app.clock.advance(Duration::from_secs(300 + 31));
    assert_eq!(introspect(&app, api, access).await["active"], false);
    assert_eq!(introspect(&app, api, refresh).await["active"], true);
    assert!(
        app.state
            .store
            .delete_client("web", tessera_token::Clock::unix(app.state.clock.as_ref()))
            .await
            .unwrap()
    );
    assert_eq!(
        introspect(&app, api, refresh).await["active"],
        false,
        "its families ended"
    );
}

#[tokio::test]
async fn revocation_ends_a_token_or_a_family_and_only_for_its_client() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let web = service_client(&app, "web", &["password", "refresh_token"], &["openid"]).await;
    let other = service_client(&app, "other", &["client_credentials"], &["openid"]).await;
    let login = || async {
        let res = app
            .post_form(
                TOKEN,
                Some(("web", &web)),
                &[
                    ("grant_type", "password"),
                    ("username", "alice"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        res.json::<Value>().await.unwrap()
    };

    let pair = login().await;
    let access = pair["access_token"].as_str().unwrap();
    let refresh = pair["refresh_token"].as_str().unwrap();
    let foreign = app
        .post_form(REVOKE, Some(("other", &other)), &[("token", access)])
        .await;
    assert_oauth_error(foreign, 400, "unauthorized_client").await;

    let res = app
        .post_form(
            REVOKE,
            Some(("web", &web)),
            &[("token", access), ("token_type_hint", "access_token")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        introspect(&app, ("other", &other), access).await["active"],
        false
    );
    let verify = app
        .post_json("/auth/token/verify/", &serde_json::json!({"token": access}))
        .await;
    assert_eq!(verify.status(), 401);
    assert_eq!(
        introspect(&app, ("other", &other), refresh).await["active"],
        true,
        "the refresh token lives on"
    );

    let res = app
        .post_form(REVOKE, Some(("web", &web)), &[("token", refresh)])
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        introspect(&app, ("other", &other), refresh).await["active"],
        false
    );
    let use_it = app
        .post_form(
            TOKEN,
            Some(("web", &web)),
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
    assert_oauth_error(use_it, 400, "invalid_grant").await;

    // Unknown tokens are not an error (RFC 7009 §2.2); client authentication still is.
    let res = app
        .post_form(REVOKE, Some(("web", &web)), &[("token", "nonsense")])
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .post_form(REVOKE, Some(("web", "wrong")), &[("token", "nonsense")])
        .await;
    assert_oauth_error(res, 401, "invalid_client").await;
    let res = app.post_form(REVOKE, Some(("web", &web)), &[]).await;
    assert_oauth_error(res, 400, "invalid_request").await;
}

#[tokio::test]
async fn a_service_token_verifies_until_its_client_is_deleted_but_is_no_user() {
    let app = TestApp::spawn().await;
    let secret = service_client(&app, "svc", &["client_credentials"], &["read"]).await;
    let res = app
        .post_form(
            TOKEN,
            Some(("svc", &secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    let token = res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = serde_json::json!({"token": token});
    let verify = || app.post_json("/auth/token/verify/", &body);
    assert_eq!(
        verify().await.status(),
        200,
        "/auth/token/verify/ accepts a service token"
    );
    let me = app.get_bearer("/auth/users/me/", &token).await;
    assert_eq!(me.status(), 401, "but it is nobody's user token");
    let now = tessera_token::Clock::unix(app.state.clock.as_ref());
    assert!(app.state.store.delete_client("svc", now).await.unwrap());
    assert_eq!(
        verify().await.status(),
        401,
        "the deleted client's tokens die with it"
    );
}
