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

#[tokio::test]
async fn connections_past_the_limit_are_closed_at_once() {
    let app = TestApp::builder()
        .settings(|s| {
            s.connection_limit = 2;
            s.header_read_timeout = Duration::from_secs(30);
        })
        .spawn()
        .await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let first = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let _second = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let _ = third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: tessera\r\n\r\n")
        .await;
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), third.read_to_end(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the third connection is closed without an answer: {:?}",
        String::from_utf8_lossy(&buf)
    );
    // A slot frees when a connection closes.
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fourth = tokio::net::TcpStream::connect(&addr).await.unwrap();
    fourth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: tessera\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), fourth.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200"));
}

/// A body trickled in past `body_read_timeout` is answered 408 and the connection closed,
/// on the Django surface and the OAuth endpoints alike (in each one's error shape), never
/// 503 or a hang; the server keeps serving. (Before: the trickle held the request until
/// `request_timeout`, then 503.)
#[tokio::test]
async fn a_body_trickled_in_past_the_read_timeout_gets_408() {
    let app = TestApp::builder()
        .settings(|s| s.body_read_timeout = Duration::from_millis(300))
        .spawn()
        .await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    for (path, content_type, code) in [
        (
            "/auth/token/",
            "application/json",
            "\"code\":\"request_timeout\"",
        ),
        (
            "/oauth/token",
            "application/x-www-form-urlencoded",
            "\"error\":\"invalid_request\"",
        ),
    ] {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        stream
            .write_all(
                format!(
                    "POST {path} HTTP/1.1\r\nHost: tessera\r\nContent-Type: {content_type}\r\n\
                     Content-Length: 200\r\n\r\n"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        // One byte every 100 ms: it would take 20 s to arrive.
        let trickle = async {
            for _ in 0..200 {
                if stream.write_all(b" ").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(3), trickle).await;
        let mut buf = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buf)).await;
        let Ok(Ok(_)) = read else {
            panic!("the server held a trickled body open");
        };
        let text = String::from_utf8_lossy(&buf);
        assert!(text.starts_with("HTTP/1.1 408"), "{path}: {text}");
        assert!(
            text.to_ascii_lowercase().contains("connection: close"),
            "{text}"
        );
        assert!(text.contains(code), "{path}: {text}");
    }
    let ok = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
}

/// Request headers are limited to 16 KiB in all: past that, 431 (before: a 100 KB header
/// was read and accepted). A request within the limit is served.
#[tokio::test]
async fn oversized_request_headers_get_431() {
    let app = TestApp::spawn().await;
    for size in [20 * 1024, 100 * 1024] {
        let res = app
            .client
            .get(app.url("/healthz"))
            .header("x-padding", "a".repeat(size))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 431, "{size} bytes of header");
    }
    let many = (0..120).fold(app.client.get(app.url("/healthz")), |req, i| {
        req.header(format!("x-h{i}"), "1")
    });
    assert_eq!(many.send().await.unwrap().status(), 431, "120 headers");
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("x-padding", "a".repeat(8 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// Connections that send nothing at all (not a request byte, not a TLS hello, an HTTP/2
/// preface left unanswered) do not hold `connection_limit`: they are closed after the
/// header-read timeout, and the server serves again. (Before: held for ever, so one host
/// could fill the limit.)
#[tokio::test]
async fn silent_connections_do_not_hold_the_connection_limit() {
    let app = TestApp::builder()
        .settings(|s| {
            s.connection_limit = 4;
            s.header_read_timeout = Duration::from_millis(300);
        })
        .spawn()
        .await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for i in 0..4 {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        if i == 0 {
            // HTTP/2 without TLS: the preface and an empty SETTINGS frame, then nothing.
            stream
                .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
                .await
                .unwrap();
        }
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let res = reqwest::Client::new()
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the silent connections were let go");
    drop(held);
}
