//! `GET /metrics`: what happened is counted, by route template, grant and outcome.

use serde_json::json;
use tessera_server::service::client::NewClient;
use tessera_test_support::TestApp;

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_tokens_reuse_and_failures() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let pair = app.login("alice").await;
    let wrong = app
        .post_json(
            "/auth/token/",
            &json!({"username": "alice", "password": "not-it"}),
        )
        .await;
    assert_eq!(wrong.status(), 401);
    let refreshed = app
        .post_json("/auth/token/refresh/", &json!({"refresh": pair.refresh}))
        .await;
    assert_eq!(refreshed.status(), 200);
    let reused = app
        .post_json("/auth/token/refresh/", &json!({"refresh": pair.refresh}))
        .await;
    assert_eq!(reused.status(), 401);
    let secret = app
        .create_client(NewClient {
            id: "svc".into(),
            grants: vec!["client_credentials".into()],
            ..NewClient::default()
        })
        .await
        .unwrap();
    let cc = app
        .post_form(
            "/oauth/token",
            Some(("svc", &secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(cc.status(), 200);
    let _ = app
        .client
        .get(app.url("/wp-admin/setup.php"))
        .send()
        .await
        .unwrap();
    let _ = app
        .client
        .get(app.url(&format!("/auth/users/{}/", 1)))
        .send()
        .await
        .unwrap();

    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = res.text().await.unwrap();
    let v = |series: &str| value(&text, series).unwrap_or_else(|| panic!("{series} in\n{text}"));
    assert_eq!(v(r#"tessera_tokens_issued_total{grant="password"}"#), 1.0);
    assert_eq!(
        v(r#"tessera_tokens_issued_total{grant="refresh_token"}"#),
        1.0
    );
    assert_eq!(
        v(r#"tessera_tokens_issued_total{grant="client_credentials"}"#),
        1.0
    );
    assert_eq!(v("tessera_refresh_reuse_detections_total"), 1.0);
    assert_eq!(v("tessera_login_failures_total"), 1.0);
    assert_eq!(v("tessera_login_throttled_total"), 0.0);
    assert_eq!(
        v(r#"tessera_http_requests_total{route="/auth/token/",method="POST",status="200"}"#),
        1.0
    );
    assert_eq!(
        v(r#"tessera_http_requests_total{route="/auth/token/",method="POST",status="401"}"#),
        1.0
    );
    assert_eq!(
        v(r#"tessera_http_requests_total{route="/auth/users/{id}/",method="GET",status="401"}"#),
        1.0,
        "route templates, not raw paths"
    );
    assert!(
        v(r#"tessera_http_request_duration_seconds_count{route="/auth/token/refresh/"}"#) >= 2.0
    );
    assert!(
        !text.contains("wp-admin"),
        "unmatched paths do not create series"
    );
    assert!(v("tessera_signing_key_age_seconds") >= 0.0);
    assert!(v(r#"tessera_db_pool_connections{state="open"}"#) >= 1.0);
    assert_eq!(v("tessera_password_hash_queue_depth"), 0.0);
    assert!(text.ends_with("# EOF\n"));
}
