//! The axum extractor and middleware in a real service on a random port, with tokens from
//! a live Tessera: 401 with `WWW-Authenticate: Bearer error="invalid_token"` and a JSON
//! body, 403 `insufficient_scope`, custom claims, and the router-wide middleware.

use axum::extract::FromRef;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_client::axum::{AuthRejection, Authenticated, require_scope, require_token};
use tessera_client::{AccessClaims, Verifier};
use tessera_server::service::client::NewClient;
use tessera_test_support::TestApp;

#[derive(Clone)]
struct Service {
    verifier: Verifier,
}

impl FromRef<Service> for Verifier {
    fn from_ref(s: &Service) -> Verifier {
        s.verifier.clone()
    }
}

/// A service's own view of the claims.
#[derive(Deserialize)]
struct Mine {
    sub: String,
    user_id: Option<i64>,
}

async fn me(Authenticated(claims): Authenticated) -> Json<Value> {
    Json(json!({"sub": claims.sub, "user_id": claims.user_id}))
}

async fn custom(Authenticated(mine): Authenticated<Mine>) -> Json<Value> {
    Json(json!({"sub": mine.sub, "user_id": mine.user_id}))
}

async fn orders(Authenticated(claims): Authenticated) -> Result<&'static str, AuthRejection> {
    require_scope(&claims, "read:orders")?;
    Ok("orders")
}

async fn guarded(Extension(claims): Extension<AccessClaims>) -> String {
    claims.sub
}

async fn serve(verifier: Verifier) -> String {
    let guarded_routes =
        Router::new()
            .route("/guarded", get(guarded))
            .layer(axum::middleware::from_fn_with_state(
                verifier.clone(),
                require_token,
            ));
    let app = Router::new()
        .route("/me", get(me))
        .route("/custom", get(custom))
        .route("/orders", get(orders))
        .with_state(Service { verifier })
        .merge(guarded_routes);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn a_service_protected_by_the_extractor() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let secret = app
        .create_client(NewClient {
            id: "billing".into(),
            grants: vec!["client_credentials".into()],
            scopes: vec!["read:orders".into()],
            ..NewClient::default()
        })
        .await
        .unwrap();
    let user = app.login("alice").await;
    let service_token = app.service_token("billing", &secret).await;

    let verifier = Verifier::builder(app.address.clone(), "tessera")
        .discover()
        .await
        .unwrap();
    let url = serve(verifier).await;
    let http = reqwest::Client::new();
    let get = |path: &str, token: Option<&str>| {
        let mut req = http.get(format!("{url}{path}"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };

    let ok: Value = get("/me", Some(&user.access))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ok, json!({"sub": "1", "user_id": 1}));
    let mine: Value = get("/custom", Some(&user.access))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["user_id"], 1);

    let missing = get("/me", None).await.unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.headers()["www-authenticate"],
        r#"Bearer realm="api""#
    );
    let bad = get("/me", Some("not.a.token")).await.unwrap();
    assert_eq!(bad.status(), 401);
    assert!(
        bad.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains(r#"error="invalid_token""#)
    );
    assert_eq!(bad.json::<Value>().await.unwrap()["error"], "invalid_token");

    let no_scope = get("/orders", Some(&user.access)).await.unwrap();
    assert_eq!(no_scope.status(), 403);
    assert!(
        no_scope.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
    let scoped = get("/orders", Some(&service_token)).await.unwrap();
    assert_eq!(scoped.status(), 200);

    assert_eq!(
        get("/guarded", Some(&service_token))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "billing"
    );
    assert_eq!(get("/guarded", None).await.unwrap().status(), 401);
    assert_eq!(
        get("/guarded", Some(&user.refresh)).await.unwrap().status(),
        401
    );
}

async fn strong(Authenticated(claims): Authenticated) -> Result<&'static str, AuthRejection> {
    tessera_client::axum::require_acr(&claims, &["aal2"])?;
    Ok("strong")
}

async fn any_level(Authenticated(claims): Authenticated) -> Result<&'static str, AuthRejection> {
    tessera_client::axum::require_acr(&claims, &["aal1", "aal2"])?;
    Ok("any")
}

async fn recent(
    axum::extract::State(s): axum::extract::State<Service>,
    Authenticated(claims): Authenticated,
) -> Result<&'static str, AuthRejection> {
    tessera_client::axum::require_auth_age(
        &claims,
        std::time::Duration::from_secs(60),
        &s.verifier,
    )?;
    Ok("recent")
}

#[tokio::test]
async fn step_up_is_asked_for_with_rfc_9470_challenges() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let user = app.login("alice").await;
    // The service's clock is the authority's, so the test can move both.
    let verifier = Verifier::builder(app.address.clone(), "tessera")
        .clock(app.clock.clone())
        .discover()
        .await
        .unwrap();
    let service = Router::new()
        .route("/strong", get(strong))
        .route("/any", get(any_level))
        .route("/recent", get(recent))
        .with_state(Service { verifier });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
    let http = reqwest::Client::new();
    let get = |path: &str| {
        http.get(format!("{url}{path}"))
            .bearer_auth(&user.access)
            .send()
    };

    // A password login is aal1: enough where aal1 is, not where only aal2 is.
    assert_eq!(get("/any").await.unwrap().status(), 200);
    let res = get("/strong").await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        r#"Bearer realm="api", error="insufficient_user_authentication", error_description="a stronger or more recent sign-in is required", acr_values="aal2""#
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_user_authentication");
    assert_eq!(body["acr_values"], "aal2");

    // Signed in just now: recent enough; two minutes on (the token still live), not.
    assert_eq!(get("/recent").await.unwrap().status(), 200);
    app.clock.advance(std::time::Duration::from_secs(120));
    let res = get("/recent").await.unwrap();
    assert_eq!(res.status(), 401);
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.ends_with(r#"max_age="60""#), "{challenge}");
}
