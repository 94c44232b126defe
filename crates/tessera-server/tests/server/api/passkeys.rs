//! Passkeys over real HTTP: what the ceremonies' endpoints refuse (the successful
//! ceremonies need an authenticator: `interop/node/passkey.mjs` runs them in Chromium with
//! a virtual one). No issuer on an IP address has passkeys; every refusal is a clear 4xx,
//! never a 500; a ceremony is taken once; registration needs a recent sign-in and the
//! form's CSRF token.

use crate::api::sso::hidden_inputs;
use crate::api::{assert_error, browser};
use serde_json::{Value, json};
use std::time::Duration;
use tessera_test_support::{PASSWORD, TestApp};

async fn localhost_app() -> TestApp {
    TestApp::builder()
        .settings(|s| s.issuer = Some("http://localhost:8000".into()))
        .spawn()
        .await
}

#[tokio::test]
async fn an_issuer_on_an_ip_address_has_no_passkeys() {
    let app = TestApp::spawn().await;
    let res = app.post_json("/webauthn/login/start", &json!({})).await;
    assert_error(res, 404, "not_found").await;
    let page = app
        .client
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("passkey-signin"));
}

#[tokio::test]
async fn sign_in_ceremonies_are_taken_once_and_refuse_what_does_not_verify() {
    let app = localhost_app().await;
    let res = app.post_json("/webauthn/login/start", &json!({})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let started: Value = res.json().await.unwrap();
    let key = &started["options"]["publicKey"];
    assert_eq!(key["rpId"], "localhost");
    assert_eq!(key["userVerification"], "required");
    assert!(key["challenge"].as_str().is_some_and(|c| c.len() >= 43));
    let ceremony = started["ceremony"].as_str().unwrap();
    // Anyone may start one: nothing is written for it.
    let counts = app.state.store.table_counts().await.unwrap();
    assert!(counts.contains(&("webauthn_ceremonies", 0)), "{counts:?}");
    // Made-up answers: a clear 400, never a 500.
    let forged = json!({"id": "AAAA", "rawId": "AAAA", "type": "public-key",
        "response": {"clientDataJSON": "e30", "authenticatorData": "AAAA", "signature": "AAAA",
                     "userHandle": "AAAAAAAAAAAAAAAAAAAAAA"}});
    let finish = |ceremony: String| {
        let app = &app;
        let forged = forged.clone();
        async move {
            app.post_json(
                "/webauthn/login/finish",
                &json!({"ceremony": ceremony, "credential": forged}),
            )
            .await
        }
    };
    let body = assert_error(finish(ceremony.to_owned()).await, 400, "invalid").await;
    assert!(
        body["detail"].as_str().unwrap().contains("not accepted"),
        "{body}"
    );
    // A ceremony altered, or past its five minutes, is no ceremony.
    let mut altered = ceremony.to_owned();
    let last = if altered.ends_with('A') { "B" } else { "A" };
    altered.replace_range(altered.len() - 1.., last);
    let body = assert_error(finish(altered).await, 400, "invalid").await;
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    app.clock.advance(Duration::from_secs(301));
    let body = assert_error(finish(ceremony.to_owned()).await, 400, "invalid").await;
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    for bad in [
        json!({}),
        json!({"ceremony": "x".repeat(9000), "credential": 7}),
        json!({"ceremony": ceremony, "credential": "nope"}),
    ] {
        let res = app.post_json("/webauthn/login/finish", &bad).await;
        assert_eq!(res.status(), 400, "{bad}");
    }
    // The second factor needs a sign-in waiting for one.
    let res = app
        .post_json("/webauthn/second-factor/start", &json!({}))
        .await;
    assert_error(res, 400, "invalid").await;
}

#[tokio::test]
async fn registration_needs_a_recent_sign_in_and_the_csrf_token() {
    let app = localhost_app().await;
    app.create_user("alice", false).await;
    // No session, no token: refused.
    let res = app.post_json("/webauthn/register/start", &json!({})).await;
    assert_error(res, 403, "permission_denied").await;
    let b = browser();
    let page = b
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"passkey-signin\""),
        "the account sign-in offers passkeys"
    );
    let mut form = hidden_inputs(&page);
    form.push(("username".into(), "alice".into()));
    form.push(("password".into(), PASSWORD.into()));
    assert_eq!(
        b.post(app.url("/account/login"))
            .form(&form)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let page = b
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"passkey-add\""));
    let csrf = hidden_inputs(&page)
        .into_iter()
        .find(|(k, _)| k == "csrf")
        .unwrap()
        .1;
    let start = |csrf: String, password: &'static str| {
        let b = b.clone();
        let url = app.url("/webauthn/register/start");
        async move {
            b.post(url)
                .json(&json!({"csrf": csrf, "current_password": password}))
                .send()
                .await
                .unwrap()
        }
    };
    assert_error(
        start(String::new(), PASSWORD).await,
        403,
        "permission_denied",
    )
    .await;
    // The password too, as for every change of factors.
    assert_error(start(csrf.clone(), "not it").await, 400, "invalid").await;
    let res = start(csrf.clone(), PASSWORD).await;
    assert_eq!(res.status(), 200);
    let started: Value = res.json().await.unwrap();
    let key = &started["options"]["publicKey"];
    assert_eq!(key["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(
        key["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(key["rp"]["id"], "localhost");
    // A made-up attestation registers nothing.
    let res = b
        .post(app.url("/webauthn/register/finish"))
        .json(&json!({"csrf": csrf, "ceremony": started["ceremony"], "name": "x",
                      "credential": {"id": "AAAA", "rawId": "AAAA", "type": "public-key",
                                     "response": {"clientDataJSON": "e30", "attestationObject": "AAAA"}}}))
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "invalid").await;
    // Eleven minutes on, the sign-in is not recent enough to add a passkey.
    app.clock.advance(Duration::from_secs(660));
    assert_error(start(csrf, PASSWORD).await, 403, "permission_denied").await;
}
