use serde_json::Value;
use tessera_test_support::TestApp;

#[tokio::test]
async fn jwks_publishes_the_signing_key_without_private_parameters() {
    let app = TestApp::spawn().await;
    for path in ["/.well-known/jwks.json", "/jwks"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/json");
        assert!(
            res.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("max-age")
        );
        let body: Value = res.json().await.unwrap();
        let keys = body["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1, "the HS256 refresh key is never published");
        let key = &keys[0];
        assert_eq!(key["kid"], app.state.keys.current().signing_key().kid());
        assert_eq!(key["alg"], "RS256");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["kty"], "RSA");
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(private).is_none(), "{private}");
        }
    }
}

#[tokio::test]
async fn other_algorithms_are_selectable() {
    for (alg, kty) in [
        (tessera_token::Algorithm::ES256, "EC"),
        (tessera_token::Algorithm::EdDSA, "OKP"),
        (tessera_token::Algorithm::PS256, "RSA"),
    ] {
        let app = TestApp::builder()
            .settings(|s| s.tokens.algorithm = alg)
            .spawn()
            .await;
        app.create_user("user1", false).await;
        let pair = app.login("user1").await;
        assert_eq!(crate::verify_status(&app, &pair.access).await, 200, "{alg}");
        let body: Value = app
            .client
            .get(app.url("/jwks"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["keys"][0]["kty"], kty);
        assert_eq!(body["keys"][0]["alg"], alg.as_str());
    }
}
