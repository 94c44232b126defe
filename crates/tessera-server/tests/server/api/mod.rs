//! HTTP integration tests: a real server on port 0 with its own database per test (SQLite,
//! or a PostgreSQL schema with `TESSERA_TEST_BACKEND=postgres`).

mod account_page;
mod accounts;
mod admin;
mod audit;
mod bad_input;
mod boundaries;
mod cors;
mod forged;
mod health;
mod jar;
mod jwks;
mod legacy;
mod logout;
mod metrics;
mod mfa;
mod oauth;
mod obtain;
mod passkeys;
mod refresh;
mod relying_party;
mod restart;
mod self_service;
mod sso;
mod standards;
mod stored_values;
mod throttle;
mod timeouts;
mod tls;
mod unwritable;
mod users;
mod verify;

use serde_json::{Value, json};
use tessera_test_support::TestApp;

/// A client that keeps cookies and does not follow redirects, as a browser test needs.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Asserts a simplejwt-style error: status, exact content type, `code`, and for 401 a
/// `WWW-Authenticate` header.
pub async fn assert_error(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status(), status, "status");
    assert_eq!(res.headers()["content-type"], "application/json");
    if status == 401 {
        assert!(
            res.headers().get("www-authenticate").is_some(),
            "401 without WWW-Authenticate"
        );
    }
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body
}

/// A refusal of `/auth/token/verify/`: 401 `token_not_valid`, JSON typed with a charset
/// parameter (so drf_remotejwt, which takes any exact `application/json` for a yes,
/// refuses).
pub async fn assert_verify_refusal(res: reqwest::Response) -> Value {
    assert_eq!(res.status(), 401, "status");
    assert_eq!(
        res.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert!(res.headers().get("www-authenticate").is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "token_not_valid", "{body}");
    body
}

/// `POST /auth/token/verify/` → status.
pub async fn verify_status(app: &TestApp, token: &str) -> u16 {
    app.post_json("/auth/token/verify/", &json!({ "token": token }))
        .await
        .status()
        .as_u16()
}

/// `POST /auth/token/refresh/`.
pub async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/auth/token/refresh/", &json!({ "refresh": token }))
        .await
}
