use serde_json::Value;
use tessera_test_support::{TestApp, eventually, stays};

/// How long a key change may take to show: the reload runs every 100 ms in tests.
const FIVE_SECONDS: std::time::Duration = std::time::Duration::from_secs(5);
/// A few reloads (every 100 ms in tests): long enough for a change that should not happen.
const RELOADS: std::time::Duration = std::time::Duration::from_millis(300);

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
        assert_eq!(key["kid"], app.state.keys.current().signer().kid());
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
        assert_eq!(
            crate::api::verify_status(&app, &pair.access).await,
            200,
            "{alg}"
        );
        let body: Value = tessera_test_support::get_json(&app.client, &app.url("/jwks")).await;
        assert_eq!(body["keys"][0]["kty"], kty);
        assert_eq!(body["keys"][0]["alg"], alg.as_str());
    }
}

async fn published_kids(app: &TestApp) -> Vec<String> {
    let body: Value =
        tessera_test_support::get_json(&app.client, &app.url("/.well-known/jwks.json")).await;
    body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_staged_key_is_published_first_and_signs_only_after_the_jwks_max_age() {
    use tessera_server::http::jwks::JWKS_MAX_AGE;
    use tessera_server::keys::{MasterKey, stage_new_key};
    use tessera_token::Clock as _;

    let app = TestApp::builder()
        .settings(|s| s.database.key_reload_interval = std::time::Duration::from_millis(100))
        .spawn()
        .await;
    app.create_user("user1", false).await;
    let old_kid = app.state.keys.current().signer().kid().to_owned();
    let before = app.login("user1").await;

    // What `tessera keys rotate` does, from outside the server.
    let master = MasterKey::obtain(None, app.data_dir(), true).unwrap();
    let new_kid = stage_new_key(
        app.state.store.as_ref(),
        &master,
        tessera_token::Algorithm::RS256,
        tessera_token::key::RsaBits::B2048,
        None,
        app.clock.unix(),
    )
    .await
    .unwrap();
    eventually("published at the next reload", FIVE_SECONDS, async || {
        (published_kids(&app).await.contains(&new_kid)).then_some(())
    })
    .await;
    // Published is not signing: caches that fetched the JWKS before it must see it first.
    stays(
        "the old key signs until the JWKS caches expire",
        RELOADS,
        async || app.state.keys.current().signer().kid() == old_kid,
    )
    .await;

    app.clock
        .advance(std::time::Duration::from_secs(JWKS_MAX_AGE + 1));
    eventually(
        "activated once the max-age has passed",
        FIVE_SECONDS,
        async || (app.state.keys.current().signer().kid() == new_kid).then_some(()),
    )
    .await;
    let after = app.login("user1").await;
    let header = after.access.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], new_kid.as_str());
    // The retired key stays published: tokens it signed still verify.
    assert_eq!(published_kids(&app).await.len(), 2);
    let res = app
        .post_json(
            "/auth/token/verify/",
            &serde_json::json!({"token": before.access}),
        )
        .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn scheduled_rotation_stages_activates_and_finally_prunes_the_old_key() {
    use std::time::Duration;
    let app = TestApp::builder()
        .settings(|s| {
            s.database.key_reload_interval = Duration::from_millis(100);
            s.keys.rotate_every = Duration::from_secs(3600);
            s.tokens.access_lifetime = Duration::from_secs(3600);
        })
        .spawn()
        .await;
    app.create_user("user1", false).await;
    let old_kid = app.state.keys.current().signer().kid().to_owned();
    let verify = |token: String| {
        let app = &app;
        async move {
            app.post_json("/auth/token/verify/", &serde_json::json!({"token": token}))
                .await
                .status()
        }
    };

    // Not due yet: nothing happens.
    app.clock.advance(Duration::from_secs(3000));
    let before = app.login("user1").await;
    stays("nothing is staged before it is due", RELOADS, async || {
        published_kids(&app).await == vec![old_kid.clone()]
    })
    .await;

    // Due (an hour of signing): a key is staged and published; the old one still signs.
    app.clock.advance(Duration::from_secs(600));
    eventually("staged", FIVE_SECONDS, async || {
        (published_kids(&app).await.len() == 2).then_some(())
    })
    .await;
    assert_eq!(app.state.keys.current().signer().kid(), old_kid);
    let during = app.login("user1").await;

    // After the JWKS max-age it signs; the old key stays published for its tokens.
    app.clock.advance(Duration::from_secs(
        tessera_server::http::jwks::JWKS_MAX_AGE + 1,
    ));
    eventually("activated", FIVE_SECONDS, async || {
        (app.state.keys.current().signer().kid() != old_kid).then_some(())
    })
    .await;
    let after = app.login("user1").await;
    for token in [&before.access, &during.access, &after.access] {
        assert_eq!(
            verify(token.clone()).await,
            200,
            "every token verifies until its expiry"
        );
    }

    // Once every token of the old key has expired (access lifetime + leeway after the
    // switch), the key leaves the JWKS; the new key's tokens live on.
    app.clock.advance(Duration::from_secs(3600 + 30 + 1));
    eventually("pruned", FIVE_SECONDS, async || {
        (!published_kids(&app).await.contains(&old_kid)).then_some(())
    })
    .await;
    assert_eq!(verify(during.access.clone()).await, 401);
    let fresh = app.login("user1").await;
    assert_eq!(verify(fresh.access).await, 200);
}
