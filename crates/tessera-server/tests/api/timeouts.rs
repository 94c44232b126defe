//! Bounded work per connection and per request: headers that do not arrive in time close
//! the connection (slow-loris); a request past its deadline gets 503
//! `temporarily_unavailable`, not a hang.

use serde_json::json;
use std::time::Duration;
use tessera_test_support::{PASSWORD, TestApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let app = TestApp::builder()
        .settings(|s| s.header_read_timeout = Duration::from_millis(300))
        .spawn()
        .await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: tessera\r\nX-Slow: ")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buf)).await;
    let Ok(Ok(_)) = read else {
        panic!("the server held a half-sent request open");
    };
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "closed, or 408: {text}"
    );
    // The server still serves everyone else.
    let ok = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn a_request_past_its_deadline_gets_503() {
    let app = TestApp::builder()
        .settings(|s| {
            // A deliberately slow hash (well above the OWASP minimum) against a short deadline.
            s.passwords.iterations = 60;
            s.request_timeout = Duration::from_millis(150);
        })
        .spawn()
        .await;
    app.create_user("alice", false).await;
    let res = app
        .post_json(
            "/auth/token/",
            &json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "temporarily_unavailable");
    // Fast requests are unaffected.
    let jwks = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.status(), 200);
}
