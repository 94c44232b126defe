//! `tls_cert`/`tls_key`: HTTPS with rustls, an `https://` issuer, HSTS on every answer;
//! reqwest (rustls) trusting only the test CA logs in and tessera-client discovers and
//! verifies over TLS; plain HTTP to the port gets nothing.

use serde_json::{Value, json};
use tessera_test_support::{PASSWORD, TestApp};

#[tokio::test]
async fn https_with_hsts_and_an_https_issuer() {
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let app = TestApp::builder()
        .settings(|s| {
            s.tls_cert = Some(cert_path.clone());
            s.tls_key = Some(key_path.clone());
        })
        .spawn()
        .await;
    assert!(app.address.starts_with("https://"));
    app.create_user("alice", false).await;
    let http = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();

    let res = http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["issuer"], app.address.as_str());
    assert!(
        doc["token_endpoint"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );

    let res = http
        .post(app.url("/auth/token/"))
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("strict-transport-security"));
    let pair: Value = res.json().await.unwrap();

    let verifier = tessera_client::Verifier::builder(app.address.clone(), "tessera")
        .http_client(http.clone())
        .discover()
        .await
        .unwrap();
    let claims = verifier
        .verify(pair["access"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(claims.iss, app.address);

    let plain = app.address.replacen("https://", "http://", 1);
    let refused = reqwest::Client::new()
        .get(format!("{plain}/.well-known/jwks.json"))
        .send()
        .await;
    assert!(
        refused.is_err() || !refused.unwrap().status().is_success(),
        "no answer over plain HTTP"
    );
}
