use crate::api::assert_error;
use serde_json::json;
use tessera_test_support::{PASSWORD, TestApp};

#[tokio::test]
async fn malformed_and_incomplete_bodies_get_400() {
    let app = TestApp::spawn().await;
    app.create_user("user1", false).await;
    let send = |body: &'static str, ctype: &'static str| {
        app.client
            .post(app.url("/auth/token/"))
            .header("content-type", ctype)
            .body(body)
            .send()
    };
    let cases = [
        ("{not json", "application/json", "parse_error"),
        ("[1,2]", "application/json", "parse_error"),
        (r#"{"username":"user1"}"#, "application/json", "required"),
        (r#"{"password":"x"}"#, "application/json", "required"),
        (
            r#"{"username":5,"password":"x"}"#,
            "application/json",
            "invalid",
        ),
        (
            r#"{"username":"u","password":null}"#,
            "application/json",
            "invalid",
        ),
        ("%%%=&&", "multipart/form-data; boundary=x", "parse_error"),
    ];
    for (body, ctype, code) in cases {
        assert_error(send(body, ctype).await.unwrap(), 400, code).await;
    }
    for path in [
        "/auth/token/refresh/",
        "/auth/token/verify/",
        "/auth/token/blacklist/",
    ] {
        let res = app.post_json(path, &json!({})).await;
        assert_error(res, 400, "required").await;
    }
}

#[tokio::test]
async fn wrong_content_type_gets_415() {
    let app = TestApp::spawn().await;
    for ctype in [None, Some("text/plain"), Some("application/xml")] {
        let mut req = app
            .client
            .post(app.url("/auth/token/"))
            .body("username=a&password=b");
        if let Some(c) = ctype {
            req = req.header("content-type", c);
        }
        assert_error(req.send().await.unwrap(), 415, "unsupported_media_type").await;
    }
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let app = TestApp::spawn().await;
    let big = "x".repeat(70 * 1024);
    let res = app
        .post_json("/auth/token/", &json!({"username": big, "password": "p"}))
        .await;
    assert_error(res, 413, "payload_too_large").await;
    let form = reqwest::multipart::Form::new()
        .text("username", big.clone())
        .text("password", "p");
    let res = app
        .client
        .post(app.url("/auth/token/"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_error(res, 413, "payload_too_large").await;
}

#[tokio::test]
async fn overlong_passwords_are_refused_before_hashing() {
    let app = TestApp::spawn().await;
    app.create_user("user1", false).await;
    let long = format!("{PASSWORD}{}", "x".repeat(2000));
    let res = app
        .post_json(
            "/auth/token/",
            &json!({"username": "user1", "password": long}),
        )
        .await;
    let body = assert_error(res, 400, "invalid").await;
    assert!(body["detail"].as_str().unwrap().contains("password"));
}
