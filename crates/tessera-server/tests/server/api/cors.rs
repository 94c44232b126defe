//! CORS: off by default; with `cors_origins`, exactly those origins get CORS headers, on
//! preflights and on real answers; others get none.

use tessera_test_support::TestApp;

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, app.url("/oauth/token"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cors_is_off_by_default() {
    let app = TestApp::spawn().await;
    let res = preflight(&app, "https://app.example.com").await;
    assert!(!res.headers().contains_key("access-control-allow-origin"));
    let res = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(!res.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn only_the_configured_origins_get_cors_headers() {
    let app = TestApp::builder()
        .settings(|s| s.cors_origins = vec!["https://app.example.com".into()])
        .spawn()
        .await;
    let res = preflight(&app, "https://app.example.com").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(
        !res.headers()
            .contains_key("access-control-allow-credentials")
    );
    let res = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );

    let res = preflight(&app, "https://evil.example.net").await;
    assert!(!res.headers().contains_key("access-control-allow-origin"));

    let bad = TestApp::builder()
        .settings(|s| s.cors_origins = vec!["https://app.example.com/".into()])
        .try_spawn()
        .await
        .expect_err("a trailing slash is not an origin");
    assert!(bad.to_string().contains("cors_origins"), "{bad}");
}
