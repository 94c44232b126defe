//! The example service between a live Tessera and its callers, over real HTTP: login
//! through the proxy makes the local user, protected calls read it without asking the
//! authority, refresh/verify/user pass through, and with the authority down the service
//! still serves users it knows.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "tests"
)]

use client_service::{Config, Service};
use serde_json::{Value, json};
use tessera_server::service::client::NewClient;
use tessera_test_support::{PASSWORD, TestApp};

async fn serve(service: Service) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = service
        .router()
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

#[tokio::test]
async fn the_client_service_round_trip() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    app.create_user("bob", true).await;
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        authority: app.address.clone(),
        audience: "tessera".into(),
        database: format!("sqlite:{}", dir.path().join("users.db").display()),
        client_id: None,
    };
    let service = Service::start(&config).await.unwrap();
    let svc = serve(service.clone()).await;
    let http = reqwest::Client::new();

    // Login through the service, as drf_remotejwt's clients do: e-mail and password.
    let res = http
        .post(format!("{svc}/auth/token/"))
        .json(&json!({"email": "alice@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let pair: Value = res.json().await.unwrap();
    let access = pair["access"].as_str().unwrap().to_owned();
    assert_eq!(
        service.users().count().await.unwrap(),
        1,
        "login made the copy"
    );
    assert_eq!(service.user_fetches(), 1);

    for (method, path) in [("GET", "/api/test/"), ("POST", "/validate-jwt/")] {
        let res = http
            .request(method.parse().unwrap(), format!("{svc}{path}"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let me: Value = res.json().await.unwrap();
        assert_eq!(me["id"], 1);
        assert_eq!(me["email"], "alice@example.com");
    }
    assert_eq!(
        service.user_fetches(),
        1,
        "protected calls read the local copy"
    );

    // A user who logged in at the authority directly is copied on first sight.
    let bob = app.login("bob").await;
    for _ in 0..3 {
        let me: Value = http
            .get(format!("{svc}/api/test/"))
            .bearer_auth(&bob.access)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["is_staff"], true);
    }
    assert_eq!(service.users().count().await.unwrap(), 2);
    assert_eq!(
        service.user_fetches(),
        2,
        "one fetch for bob, however many calls"
    );

    // Refresh, verify and the user object pass through.
    let res = http
        .post(format!("{svc}/auth/token/refresh/"))
        .json(&json!({"refresh": pair["refresh"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let refreshed: Value = res.json().await.unwrap();
    let res = http
        .post(format!("{svc}/auth/token/verify/"))
        .json(&json!({"token": refreshed["access"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = http
        .post(format!("{svc}/auth/token/verify/"))
        .json(&json!({"token": "not-a-token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["content-type"],
        "application/json; charset=utf-8",
        "the authority's answer, as it gave it"
    );
    let res = http
        .get(format!("{svc}/auth/users/1/"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["email"],
        "alice@example.com"
    );
    let res = http
        .post(format!("{svc}/auth/token/"))
        .json(&json!({"email": "alice@example.com", "password": "wrong-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "the authority's refusal is passed on");

    // The benchmark's unverified route exists only when asked for.
    let res = http
        .get(format!("{svc}/bench/unverified/"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // Refusals.
    let res = http.get(format!("{svc}/api/test/")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().contains_key("www-authenticate"));
    // One signature character changed well before the end (whole bits, no padding).
    let at = access.len() - 10;
    let swapped = if &access[at..=at] == "A" { "B" } else { "A" };
    let forged = format!("{}{swapped}{}", &access[..at], &access[at + 1..]);
    let res = http
        .get(format!("{svc}/api/test/"))
        .bearer_auth(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let secret = app
        .create_client(NewClient {
            id: "batch".into(),
            grants: vec!["client_credentials".into()],
            ..NewClient::default()
        })
        .await
        .unwrap();
    let service_token = app.service_token("batch", &secret).await;
    let res = http
        .get(format!("{svc}/api/test/"))
        .bearer_auth(&service_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a service token names no user");

    // The authority goes away: known users still pass, logins get a clear 503.
    app.stop().await;
    let res = http
        .get(format!("{svc}/api/test/"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "local verification, local copy");
    let res = http
        .post(format!("{svc}/auth/token/"))
        .json(&json!({"email": "alice@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "temporarily_unavailable"
    );
}

/// The login proxy passes on what a caller needs to act on a refusal (`WWW-Authenticate`,
/// `Retry-After`) and each caller's address, so the authority (trusting the service as a
/// proxy) throttles callers apart: five wrong passwords from one caller behind the service
/// no longer lock the account for every caller of it.
#[tokio::test]
async fn the_login_proxy_passes_on_refusals_and_the_callers_address() {
    let app = TestApp::builder()
        .settings(|s| s.throttle.trusted_proxies = vec!["127.0.0.1".parse().unwrap()])
        .spawn()
        .await;
    app.create_user("alice", false).await;
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        authority: app.address.clone(),
        audience: "tessera".into(),
        database: format!("sqlite:{}", dir.path().join("users.db").display()),
        client_id: None,
    };
    let svc = serve(Service::start(&config).await.unwrap()).await;
    let http = reqwest::Client::new();
    let login = |caller: &'static str, password: &'static str| {
        http.post(format!("{svc}/auth/token/"))
            .header("x-forwarded-for", caller)
            .json(&json!({"username": "alice", "password": password}))
            .send()
    };
    for _ in 0..5 {
        let res = login("203.0.113.5", "wrong-password").await.unwrap();
        assert_eq!(res.status(), 401);
        assert!(res.headers().contains_key("www-authenticate"), "passed on");
    }
    let throttled = login("203.0.113.5", "wrong-password").await.unwrap();
    assert_eq!(throttled.status(), 429);
    assert!(throttled.headers().contains_key("retry-after"), "passed on");
    let other = login("203.0.113.6", PASSWORD).await.unwrap();
    assert_eq!(other.status(), 200, "another caller is not throttled");
}

/// Back-channel logout in the example service: registered as client `svc` with its
/// `/backchannel-logout/`, it hears that alice signed out at the authority and refuses her
/// access token issued before (still unexpired), also after a restart of the service; a
/// token issued after the sign-out works.
#[tokio::test]
async fn a_sign_out_at_the_authority_ends_the_users_tokens_here() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        authority: app.address.clone(),
        audience: "tessera".into(),
        database: format!("sqlite:{}", dir.path().join("users.db").display()),
        client_id: Some("svc".into()),
    };
    let svc = serve(Service::start(&config).await.unwrap()).await;
    let cb = "https://svc.example.com/cb";
    let secret = app
        .create_client(NewClient {
            id: "svc".into(),
            redirect_uris: vec![cb.into()],
            backchannel_logout_uri: Some(format!("{svc}/backchannel-logout/")),
            first_party: true,
            ..NewClient::default()
        })
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let me = |token: String| {
        let req = http.get(format!("{svc}/api/test/")).bearer_auth(token);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let tokens = app.code_flow(&browser, ("svc", &secret), cb, "alice").await;
    let before = app.login("alice").await.access;
    assert_eq!(me(before.clone()).await, 200);

    let id_token = tokens["id_token"].as_str().unwrap();
    let out = browser
        .get(app.url(&format!("/oauth/logout?id_token_hint={id_token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 200);
    let mut status = 200;
    for _ in 0..300 {
        status = me(before.clone()).await;
        if status == 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, 401, "the sign-out reached the service");

    // Remembered across a restart of the service.
    let again = serve(Service::start(&config).await.unwrap()).await;
    let res = http
        .get(format!("{again}/api/test/"))
        .bearer_auth(&before)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // A token issued after the sign-out is honoured.
    app.clock.advance(std::time::Duration::from_secs(2));
    let after = app.login("alice").await.access;
    assert_eq!(me(after).await, 200);
    // Forged sign-outs are refused.
    let forged = http
        .post(format!("{svc}/backchannel-logout/"))
        .form(&[("logout_token", "e30.e30.")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
}
