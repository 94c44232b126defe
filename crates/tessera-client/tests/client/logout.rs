//! The back-channel logout receiver (`LogoutReceiver`, `axum::backchannel_logout`) in a
//! real service on a random port, fed by a live Tessera: a browser signs in through the
//! code flow, logs out, and the service's hook hears whose session ended. Then the
//! receiver is attacked with tokens signed by the same authority's key: replays, other
//! audiences, old ones, ID and access tokens passed off as logout tokens, a nonce, no
//! event, hostile requests.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tessera_client::{LogoutEvent, LogoutReceiver, Verifier, VerifyError};
use tessera_server::service::client::NewClient;
use tessera_test_support::{TestApp, eventually, stays};
use tessera_token::Clock as _;
use tessera_token::oidc::{LOGOUT_TYP, LogoutClaims};

const CB: &str = "https://rp.example.com/cb";

/// What the service's hook saw, and whether it fails.
#[derive(Default)]
struct Hook {
    events: Mutex<Vec<LogoutEvent>>,
    fail: AtomicBool,
}

/// The service: its back-channel logout endpoint at `/bc`.
async fn service(verifier: Verifier, hook: Arc<Hook>) -> String {
    let receiver = Arc::new(LogoutReceiver::new(verifier, "rp"));
    let handler = tessera_client::axum::backchannel_logout(receiver, move |event: LogoutEvent| {
        let hook = hook.clone();
        async move {
            if hook.fail.load(Ordering::SeqCst) {
                return Err("the session store is down".to_owned());
            }
            hook.events.lock().unwrap().push(event);
            Ok(())
        }
    });
    let app: axum::Router = axum::Router::new().route("/bc", handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/bc", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// Signs alice in through the code flow of `rp` and returns the ID token.
async fn sign_in(app: &TestApp, browser: &reqwest::Client, secret: &str) -> String {
    let tokens = app.code_flow(browser, ("rp", secret), CB, "alice").await;
    tokens["id_token"].as_str().unwrap().to_owned()
}

fn claims_of(jwt: &str) -> Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}

async fn events(hook: &Hook, n: usize) -> Vec<LogoutEvent> {
    eventually(
        &format!("{n} logout events"),
        Duration::from_secs(15),
        async || {
            let events = hook.events.lock().unwrap().clone();
            (events.len() >= n).then_some(events)
        },
    )
    .await
}

#[tokio::test]
async fn a_service_hears_of_a_logout_at_the_authority() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let verifier = Verifier::builder(app.address.clone(), "tessera")
        .discover()
        .await
        .unwrap();
    let hook = Arc::new(Hook::default());
    let bc = service(verifier, hook.clone()).await;
    let secret = app
        .create_client(NewClient {
            id: "rp".into(),
            redirect_uris: vec![CB.into()],
            backchannel_logout_uri: Some(bc),
            first_party: true,
            ..NewClient::default()
        })
        .await
        .unwrap();
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let id_token = sign_in(&app, &browser, &secret).await;
    let out = browser
        .get(app.url(&format!("/oauth/logout?id_token_hint={id_token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 200);
    let got = events(&hook, 1).await;
    assert_eq!(got[0].sub.as_deref(), Some("1"));
    assert_eq!(got[0].sid.as_deref(), claims_of(&id_token)["sid"].as_str());

    // The hook fails: the service answers 503 and the authority tries again later.
    hook.fail.store(true, Ordering::SeqCst);
    let id_token = sign_in(&app, &browser, &secret).await;
    browser
        .get(app.url(&format!("/oauth/logout?id_token_hint={id_token}")))
        .send()
        .await
        .unwrap();
    stays(
        "no event while the hook fails",
        Duration::from_millis(2500),
        async || hook.events.lock().unwrap().len() == 1,
    )
    .await;
    hook.fail.store(false, Ordering::SeqCst);
    app.clock.advance(Duration::from_secs(5));
    let got = events(&hook, 2).await;
    assert_eq!(got[1].sid.as_deref(), claims_of(&id_token)["sid"].as_str());
}

/// Signs `claims` with the authority's own current key, with `typ`.
async fn signed(app: &TestApp, typ: &str, claims: &(impl serde::Serialize + Sync)) -> String {
    app.state
        .keys
        .current()
        .signer()
        .sign(typ, claims)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_receiver_refuses_what_is_not_a_fresh_logout_token_for_it() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let verifier = Verifier::builder(app.address.clone(), "tessera")
        .discover()
        .await
        .unwrap();
    let receiver = LogoutReceiver::new(verifier.clone(), "rp");
    let now = tessera_token::SystemClock.unix();
    let good = |jti: &str| {
        LogoutClaims::new(
            app.address.clone(),
            "rp".into(),
            "1".into(),
            Some("sid-1".into()),
            now,
            jti.into(),
        )
    };
    let token = signed(&app, LOGOUT_TYP, &good("j1")).await;
    let event = receiver.receive(&token).await.unwrap();
    assert_eq!(
        (event.sub.as_deref(), event.sid.as_deref()),
        (Some("1"), Some("sid-1"))
    );
    assert_eq!(receiver.receive(&token).await, Err(VerifyError::Replayed));

    let mut other_client = good("j2");
    other_client.aud = tessera_token::Audience::One("shop".into());
    let mut old = good("j3");
    old.iat = now - 600;
    old.exp = Some(now + 60);
    let mut future = good("j4");
    future.iat = now + 600;
    let mut expired = good("j5");
    expired.exp = Some(now - 120);
    let mut nobody = good("j6");
    nobody.sub = None;
    nobody.sid = None;
    let mut no_event = good("j7");
    no_event.events = serde_json::Map::new();
    let mut other_issuer = good("j8");
    other_issuer.iss = "https://evil.example.com".into();
    let mut with_nonce = serde_json::to_value(good("j9")).unwrap();
    with_nonce["nonce"] = json!("n");
    let cases: Vec<(String, VerifyError)> = vec![
        (
            signed(&app, LOGOUT_TYP, &other_client).await,
            VerifyError::WrongAudience,
        ),
        (signed(&app, LOGOUT_TYP, &old).await, VerifyError::Expired),
        (
            signed(&app, LOGOUT_TYP, &future).await,
            VerifyError::NotYetValid,
        ),
        (
            signed(&app, LOGOUT_TYP, &expired).await,
            VerifyError::Expired,
        ),
        (
            signed(&app, LOGOUT_TYP, &nobody).await,
            VerifyError::InvalidClaim("sub or sid"),
        ),
        (
            signed(&app, LOGOUT_TYP, &no_event).await,
            VerifyError::InvalidClaim("events"),
        ),
        (
            signed(&app, LOGOUT_TYP, &other_issuer).await,
            VerifyError::WrongIssuer,
        ),
        (
            signed(&app, LOGOUT_TYP, &with_nonce).await,
            VerifyError::InvalidClaim("nonce"),
        ),
        // An ID token's or an access token's type is not a logout token's.
        (
            signed(&app, "JWT", &good("j10")).await,
            VerifyError::WrongType,
        ),
        (
            signed(&app, "at+jwt", &good("j11")).await,
            VerifyError::WrongType,
        ),
    ];
    for (token, expected) in cases {
        assert_eq!(receiver.receive(&token).await, Err(expected));
    }
    // A real access token of the same authority is no logout token either.
    let access = app.login("alice").await.access;
    assert_eq!(receiver.receive(&access).await, Err(VerifyError::WrongType));
    // Unsigned, or tampered with.
    let parts: Vec<&str> = token.split('.').collect();
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"logout+jwt"}"#),
        parts[1]
    );
    assert!(receiver.receive(&none).await.is_err());
    let mut tampered = claims_of(&token);
    tampered["sub"] = json!("2");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(tampered.to_string()),
        parts[2]
    );
    assert_eq!(
        receiver.receive(&forged).await,
        Err(VerifyError::InvalidSignature)
    );
    assert!(receiver.receive(&"x".repeat(20_000)).await.is_err());

    // Over HTTP: one form with one logout_token, else 400 invalid_request; never a 500.
    let hook = Arc::new(Hook::default());
    let url = service(verifier, hook.clone()).await;
    let http = reqwest::Client::new();
    let fresh = signed(&app, LOGOUT_TYP, &good("h1")).await;
    let ok = http
        .post(&url)
        .form(&[("logout_token", fresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["cache-control"], "no-store");
    let replay = http
        .post(&url)
        .form(&[("logout_token", fresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400);
    let body: Value = replay.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    let another = signed(&app, LOGOUT_TYP, &good("h2")).await;
    for res in [
        http.post(&url)
            .form(&[
                ("logout_token", another.as_str()),
                ("logout_token", another.as_str()),
            ])
            .send()
            .await
            .unwrap(),
        http.post(&url)
            .form(&[("token", another.as_str())])
            .send()
            .await
            .unwrap(),
        http.post(&url)
            .json(&json!({"logout_token": another}))
            .send()
            .await
            .unwrap(),
        http.post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("logout_token={}", "a".repeat(40_000)))
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(res.status(), 400);
    }
    assert_eq!(http.get(&url).send().await.unwrap().status(), 405);
    // Signed by a key the JWKS does not have (yet): this side cannot check it now, so 503
    // and the authority tries again, rather than a 400 that would end its retries.
    let stranger = tessera_token::SigningKey::generate(tessera_token::Algorithm::RS256).unwrap();
    let unknown = tessera_token::sign::sign_with(&stranger, LOGOUT_TYP, &good("h3")).unwrap();
    let res = http
        .post(&url)
        .form(&[("logout_token", unknown.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(
        hook.events.lock().unwrap().len(),
        1,
        "only the one good token"
    );
}
