//! Logout that reaches every service (issue 18): OpenID Connect Back-Channel Logout 1.0
//! on every way a session ends, delivered after the answer, retried, and kept across a
//! restart; Front-Channel Logout frames on the signed-out page; RP-initiated logout by
//! POST, with `client_id`, `logout_hint` and `ui_locales`.
//!
//! The receiver is a plain HTTP listener that records what arrived and answers what the
//! test tells it; the tokens are checked with `tessera_token`'s logout-token rules against
//! the keys the server publishes.

use crate::api::sso::{CB, authorize_url, location, param, pkce, redeem, sign_in};
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tessera_server::service::client::NewClient;
use tessera_test_support::{PASSWORD, TestApp, eventually, stays};
use tessera_token::oidc::LogoutClaims;

const BYE: &str = "https://rp.example.com/bye";

/// What a receiver got, and what it answers next.
#[derive(Default)]
struct Received {
    bodies: Mutex<Vec<String>>,
    status: AtomicU16,
}

/// A back-channel logout endpoint on a random port: records each `logout_token` and
/// answers `status` (200 unless told otherwise).
struct Receiver {
    url: String,
    got: Arc<Received>,
}

impl Receiver {
    async fn start() -> Self {
        let got = Arc::new(Received::default());
        got.status.store(200, Ordering::SeqCst);
        async fn take(
            State(got): State<Arc<Received>>,
            axum::Form(form): axum::Form<std::collections::HashMap<String, String>>,
        ) -> StatusCode {
            let token = form.get("logout_token").cloned().unwrap_or_default();
            got.bodies.lock().unwrap().push(token);
            StatusCode::from_u16(got.status.load(Ordering::SeqCst)).unwrap()
        }
        let app = axum::Router::new()
            .route("/bc", axum::routing::post(take))
            .with_state(got.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/bc", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, got }
    }

    fn answer(&self, status: u16) {
        self.got.status.store(status, Ordering::SeqCst);
    }

    fn count(&self) -> usize {
        self.got.bodies.lock().unwrap().len()
    }

    /// Waits (up to 15 s: the worker looks every second) until `n` tokens arrived.
    async fn wait_for(&self, n: usize) -> Vec<String> {
        self.wait_within(n, Duration::from_secs(15)).await
    }

    /// Waits up to `limit` until `n` tokens arrived.
    async fn wait_within(&self, n: usize, limit: Duration) -> Vec<String> {
        eventually(&format!("{n} logout tokens"), limit, async || {
            (self.count() >= n).then(|| self.got.bodies.lock().unwrap().clone())
        })
        .await
    }

    /// Checks that exactly `n` tokens arrived and no more arrive for a while (the worker
    /// looks every second).
    async fn stays_at(&self, n: usize, why: &str) {
        stays(why, Duration::from_millis(1500), async || self.count() == n).await;
    }
}

/// Checks a logout token as a relying party must (§2.6) for `client_id`.
fn verified(app: &TestApp, token: &str, client_id: &str) -> LogoutClaims {
    let mut validation = app.state.validation.clone();
    validation.audience = client_id.to_owned();
    let ring = app.state.keys.current();
    tessera_token::validate::verify_logout_token(
        token,
        ring.published(),
        &validation,
        tessera_token::Clock::unix(app.clock.as_ref()),
        120,
    )
    .unwrap()
}

fn header_typ(token: &str) -> String {
    crate::api::sso::claims(&format!("x.{}", token.split('.').next().unwrap()))["typ"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn setup(receiver: &Receiver, front: Option<&str>) -> (TestApp, String) {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let secret = app
        .create_client(NewClient {
            id: "rp".into(),
            redirect_uris: vec![CB.into()],
            post_logout_redirect_uris: vec![BYE.into()],
            backchannel_logout_uri: Some(receiver.url.clone()),
            backchannel_logout_session_required: true,
            frontchannel_logout_uri: front.map(str::to_owned),
            first_party: true,
            ..NewClient::default()
        })
        .await
        .unwrap();
    (app, secret)
}

/// Signs `b` in through the code flow of client `rp` and redeems the code: the client now
/// takes part in the session. Returns the ID token.
async fn enrol(app: &TestApp, b: &reqwest::Client, secret: &str) -> String {
    let (verifier, challenge) = pkce();
    let page = b
        .get(authorize_url(app, "rp", CB, &challenge, &[]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let done = sign_in(app, b, &page, PASSWORD).await;
    let code = param(&location(&done), "code").unwrap();
    let tokens: Value = redeem(app, ("rp", secret), &code, CB, &verifier)
        .await
        .json()
        .await
        .unwrap();
    tokens["id_token"].as_str().unwrap().to_owned()
}

/// `GET path` in browser `b`.
async fn visit(b: &reqwest::Client, app: &TestApp, path: &str) -> reqwest::Response {
    b.get(app.url(path)).send().await.unwrap()
}

fn sid_of(id_token: &str) -> String {
    crate::api::sso::claims(id_token)["sid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Back-Channel Logout 1.0 §2.4–2.5: every way a session ends tells the client that got
/// tokens through it, with `sub`, the session's `sid`, the logout event, no `nonce`,
/// `typ` `logout+jwt`, signed with a published key, for the client only. RP-initiated
/// logout, an admin ending the sessions, disabling the user, a password change: one
/// token each, for the session each ended.
#[tokio::test]
async fn every_way_a_session_ends_tells_the_clients_that_took_part() {
    let receiver = Receiver::start().await;
    let (app, secret) = setup(&receiver, None).await;
    let root = {
        app.create_superuser("root").await;
        app.login("root").await.access
    };
    let admin = |method: reqwest::Method, path: String, body: Value| {
        let req = app
            .client
            .request(method, app.url(&path))
            .bearer_auth(&root)
            .json(&body);
        async move { req.send().await.unwrap() }
    };

    // 1. RP-initiated logout with the client's own ID token.
    let b = crate::api::browser();
    let id_token = enrol(&app, &b, &secret).await;
    let out = visit(&b, &app, &format!("/oauth/logout?id_token_hint={id_token}")).await;
    assert_eq!(out.status(), 200);
    let got = receiver.wait_for(1).await;
    let claims = verified(&app, &got[0], "rp");
    assert_eq!(claims.sub.as_deref(), Some("1"));
    assert_eq!(claims.sid.as_deref(), Some(sid_of(&id_token).as_str()));
    assert_eq!(header_typ(&got[0]), "logout+jwt");
    let raw = crate::api::sso::claims(&got[0]);
    assert!(raw.get("nonce").is_none(), "{raw}");
    assert_eq!(
        raw["events"],
        json!({"http://schemas.openid.net/event/backchannel-logout": {}})
    );
    assert_eq!(raw["aud"], "rp");
    // A logout token is no ID token: the logout endpoint does not take it as a hint.
    assert!(
        tessera_token::validate::verify_id_token_hint(
            &got[0],
            app.state.keys.current().published(),
            &app.state.validation
        )
        .is_err()
    );

    // 2. An admin ends every session of the user.
    let b = crate::api::browser();
    let id_token = enrol(&app, &b, &secret).await;
    let res = admin(
        reqwest::Method::POST,
        "/admin/api/users/1/logout".into(),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 204);
    let got = receiver.wait_for(2).await;
    assert_eq!(verified(&app, &got[1], "rp").sid, Some(sid_of(&id_token)));

    // 3. A password change (it ends every session).
    let b = crate::api::browser();
    let id_token = enrol(&app, &b, &secret).await;
    let access = app.login("alice").await.access;
    let res = app
        .client
        .post(app.url("/auth/users/set_password/"))
        .bearer_auth(&access)
        .json(&json!({"current_password": PASSWORD, "new_password": "another long passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let got = receiver.wait_for(3).await;
    assert_eq!(verified(&app, &got[2], "rp").sid, Some(sid_of(&id_token)));
    // Back to the known password, by an admin (this ends the sessions too: none are live).
    let res = admin(
        reqwest::Method::POST,
        "/admin/api/users/1/password".into(),
        json!({"password": PASSWORD}),
    )
    .await;
    assert!(res.status().is_success(), "{}", res.status());

    // 4. The user is disabled.
    let b = crate::api::browser();
    let id_token = enrol(&app, &b, &secret).await;
    let res = admin(
        reqwest::Method::PATCH,
        "/admin/api/users/1".into(),
        json!({"is_active": false}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let got = receiver.wait_for(4).await;
    assert_eq!(verified(&app, &got[3], "rp").sid, Some(sid_of(&id_token)));
    // Each ending told the client once.
    receiver
        .stays_at(4, "each ending told the client once")
        .await;
    let jtis: std::collections::HashSet<_> = receiver
        .got
        .bodies
        .lock()
        .unwrap()
        .iter()
        .map(|t| {
            crate::api::sso::claims(t)["jti"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(jtis.len(), 4, "a fresh jti each");
}

/// §2.8: a client that cannot take the logout now (5xx) gets it again later (after the
/// back-off, 2 s for the first retry); the logout itself answered at once. A client that
/// refuses it (400) is not asked again.
#[tokio::test]
async fn a_failed_delivery_is_retried_and_a_refused_one_dropped() {
    let receiver = Receiver::start().await;
    let (app, secret) = setup(&receiver, None).await;
    receiver.answer(503);
    let b = crate::api::browser();
    let id_token = enrol(&app, &b, &secret).await;
    let out = visit(&b, &app, &format!("/oauth/logout?id_token_hint={id_token}")).await;
    assert_eq!(out.status(), 200, "the logout does not wait for the client");
    receiver.wait_for(1).await;
    receiver.answer(200);
    receiver.stays_at(1, "not before the back-off").await;
    app.clock.advance(Duration::from_secs(3));
    let got = receiver.wait_for(2).await;
    assert_eq!(verified(&app, &got[1], "rp").sid, Some(sid_of(&id_token)));
    app.clock.advance(Duration::from_secs(600));
    receiver.stays_at(2, "delivered: not sent again").await;

    receiver.answer(400);
    let b = crate::api::browser();
    let id_token = enrol(&app, &b, &secret).await;
    b.get(app.url(&format!("/oauth/logout?id_token_hint={id_token}")))
        .send()
        .await
        .unwrap();
    receiver.wait_for(3).await;
    app.clock.advance(Duration::from_secs(600));
    receiver.stays_at(3, "a refusal is final").await;
    let events: Value = app
        .client
        .get(app.url("/admin/api/audit?limit=1000"))
        .bearer_auth({
            app.create_superuser("root").await;
            app.login("root").await.access
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        events.to_string().contains("logout.backchannel_failed"),
        "{events}"
    );
}

/// The queue is in the database: a logout whose delivery failed before a restart is
/// delivered by the next process.
#[tokio::test]
async fn a_pending_logout_survives_a_restart() {
    let receiver = Receiver::start().await;
    let (first, secret) = setup(&receiver, None).await;
    receiver.answer(503);
    let b = crate::api::browser();
    let id_token = enrol(&first, &b, &secret).await;
    b.get(first.url(&format!("/oauth/logout?id_token_hint={id_token}")))
        .send()
        .await
        .unwrap();
    receiver.wait_for(1).await;
    let again = TestApp::builder().data_dir_of(&first);
    first.stop().await;
    receiver.answer(200);
    let second = again.spawn().await;
    second.clock.advance(Duration::from_secs(10));
    let got = receiver.wait_for(2).await;
    assert_eq!(
        verified(&second, &got[1], "rp").sid,
        Some(sid_of(&id_token))
    );
}

/// Front-Channel Logout 1.0 §3: the signed-out page loads each participating client's
/// `frontchannel_logout_uri` with `iss` and `sid` in a frame its CSP allows (only there),
/// then goes back to the registered post-logout URI with `state`.
#[tokio::test]
async fn the_signed_out_page_loads_the_front_channel_frames() {
    let receiver = Receiver::start().await;
    let (app, secret) = setup(&receiver, Some("https://rp.example.com/fc?x=1")).await;
    let b = crate::api::browser();
    let id_token = enrol(&app, &b, &secret).await;
    let out = visit(
        &b,
        &app,
        &format!(
            "/oauth/logout?id_token_hint={id_token}&state=s1&post_logout_redirect_uri={}",
            url::form_urlencoded::byte_serialize(BYE.as_bytes()).collect::<String>()
        ),
    )
    .await;
    assert_eq!(out.status(), 200);
    let csp = out.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-src https://rp.example.com"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = out.text().await.unwrap();
    let iss = url::form_urlencoded::byte_serialize(app.state.issuer.as_bytes()).collect::<String>();
    let frame = format!(
        "https://rp.example.com/fc?x=1&#38;iss={iss}&#38;sid={}",
        sid_of(&id_token)
    );
    assert!(html.contains(&format!("<iframe src=\"{frame}\"")), "{html}");
    assert!(
        html.contains("content=\"2;url=https://rp.example.com/bye?state=s1\""),
        "{html}"
    );
    // The login page of another request keeps its strict CSP: no frames.
    let (_, challenge) = pkce();
    let page = b
        .get(authorize_url(&app, "rp", CB, &challenge, &[]))
        .send()
        .await
        .unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(!csp.contains("frame-src"), "{csp}");
}

/// RP-Initiated Logout 1.0 §2–3: POST as well as GET; `client_id` must match the hint's
/// audience; a `logout_hint` naming someone else asks first; `ui_locales` is taken; a
/// post-logout URI is followed only with the client named (by hint or `client_id`) and
/// registered for it.
#[tokio::test]
async fn rp_initiated_logout_follows_the_parameters_rules() {
    let receiver = Receiver::start().await;
    let (app, secret) = setup(&receiver, None).await;
    let signed_in = |b: &reqwest::Client| {
        let (b, app) = (b.clone(), &app);
        async move {
            let (_, challenge) = pkce();
            let res = b
                .get(authorize_url(
                    app,
                    "rp",
                    CB,
                    &challenge,
                    &[("prompt", "none")],
                ))
                .send()
                .await
                .unwrap();
            param(&location(&res), "code").is_some()
        }
    };

    // POST with the parameters in the body, as by GET.
    let b = crate::api::browser();
    let id_token = enrol(&app, &b, &secret).await;
    let out = b
        .post(app.url("/oauth/logout"))
        .form(&[
            ("id_token_hint", id_token.as_str()),
            ("post_logout_redirect_uri", BYE),
            ("state", "st"),
            ("ui_locales", "fr-CA fr en"),
            ("logout_hint", "alice"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 302);
    assert_eq!(
        location(&out).as_str(),
        "https://rp.example.com/bye?state=st"
    );
    assert!(!signed_in(&b).await);

    // client_id naming another client than the hint's audience: refused, still signed in.
    let id_token = enrol(&app, &b, &secret).await;
    let res = visit(
        &b,
        &app,
        &format!("/oauth/logout?id_token_hint={id_token}&client_id=other"),
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(signed_in(&b).await);

    // A logout_hint naming someone else: the question, not the logout.
    let res = visit(
        &b,
        &app,
        &format!("/oauth/logout?id_token_hint={id_token}&logout_hint=bob"),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Sign out of Tessera?"));
    assert!(signed_in(&b).await);

    // The OpenID logout plan's refusals: a hint whose signature was tampered with names
    // no client, so a registered URI is not followed either (and the user is asked); a
    // registered URI with a query added is not the registered URI.
    let parts: Vec<&str> = id_token.split('.').collect();
    let sig = parts[2];
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{}.{}.{flipped}{}", parts[0], parts[1], &sig[1..]);
    let bye = url::form_urlencoded::byte_serialize(BYE.as_bytes()).collect::<String>();
    let res = visit(
        &b,
        &app,
        &format!("/oauth/logout?id_token_hint={tampered}&post_logout_redirect_uri={bye}"),
    )
    .await;
    assert_eq!(res.status(), 200, "asked, not redirected");
    assert!(res.text().await.unwrap().contains("Sign out of Tessera?"));
    assert!(signed_in(&b).await);
    let res = visit(
        &b,
        &app,
        &format!(
            "/oauth/logout?id_token_hint={id_token}&post_logout_redirect_uri={bye}%3Fextra%3D1"
        ),
    )
    .await;
    assert_eq!(
        res.status(),
        200,
        "signed out, but not sent to an unregistered URI"
    );
    assert!(!signed_in(&b).await);
    let id_token = enrol(&app, &b, &secret).await;

    // A parameter twice, in the query or the body: malformed, nothing ends.
    for res in [
        b.get(app.url("/oauth/logout?state=a&state=b"))
            .send()
            .await
            .unwrap(),
        b.post(app.url("/oauth/logout"))
            .form(&[("state", "a"), ("state", "b")])
            .send()
            .await
            .unwrap(),
        b.post(app.url("/oauth/logout"))
            .json(&json!({"id_token_hint": id_token}))
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(res.status(), 400);
    }
    assert!(signed_in(&b).await);

    // Without a hint, client_id names the client for the return: after the confirmation,
    // back to its registered URI; the same URI for a client that did not register it is
    // not followed.
    let res = b
        .post(app.url("/oauth/logout"))
        .form(&[("client_id", "rp"), ("post_logout_redirect_uri", BYE)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "no hint: the question");
    let fields = crate::api::sso::hidden_inputs(&res.text().await.unwrap());
    let done = b
        .post(app.url("/oauth/logout"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 302);
    assert_eq!(location(&done).as_str(), BYE);
    assert!(!signed_in(&b).await);
    let nobody = visit(
        &b,
        &app,
        &format!(
            "/oauth/logout?client_id=web&post_logout_redirect_uri={}",
            url::form_urlencoded::byte_serialize(BYE.as_bytes()).collect::<String>()
        ),
    )
    .await;
    assert_eq!(
        nobody.status(),
        200,
        "no session, unregistered: the signed-out page"
    );
}

/// Back-Channel Logout 1.0 §2.7: what a session's codes gave ends with the session. After
/// an RP-initiated logout, the client's refresh token and access token from that session
/// are refused, and a code issued through it but not yet redeemed is void.
#[tokio::test]
async fn a_session_ended_by_rp_logout_ends_its_grants() {
    let receiver = Receiver::start().await;
    let (app, secret) = setup(&receiver, None).await;
    let b = crate::api::browser();
    let tokens = app.code_flow(&b, ("rp", &secret), CB, "alice").await;
    // A second code through the same session, not redeemed yet.
    let (verifier, challenge) = pkce();
    let res = b
        .get(authorize_url(&app, "rp", CB, &challenge, &[]))
        .send()
        .await
        .unwrap();
    let pending = param(&location(&res), "code").expect("a code without a login");
    let id_token = tokens["id_token"].as_str().unwrap();
    let out = visit(&b, &app, &format!("/oauth/logout?id_token_hint={id_token}")).await;
    assert_eq!(out.status(), 200);

    let late = redeem(&app, ("rp", &secret), &pending, CB, &verifier).await;
    assert_eq!(late.status(), 400, "the session's pending code is void");
    let refreshed = app
        .post_form(
            "/oauth/token",
            Some(("rp", &secret)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(
        refreshed.status(),
        400,
        "the session's refresh token is revoked"
    );
    let info = app
        .get_bearer("/oauth/userinfo", tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info.status(), 401, "and its access token");
    // Another session of the same user keeps its grants.
    let other = crate::api::browser();
    let kept = app.code_flow(&other, ("rp", &secret), CB, "alice").await;
    let info = app
        .get_bearer("/oauth/userinfo", kept["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info.status(), 200);
}

/// One client whose endpoint never answers, with a backlog of logouts, does not hold back
/// another client's: each round takes a few deliveries of each client, and the other's
/// arrives before the first black-holed attempts have even timed out (5 s).
#[tokio::test]
async fn one_slow_client_does_not_hold_back_another() {
    use tessera_server::store::{AuthCode, Redemption, Session};
    let receiver = Receiver::start().await;
    let (app, _) = setup(&receiver, None).await;
    // A listener that accepts connections and never answers.
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hole_url = format!("http://{}/bc", hole.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = hole.accept().await {
            held.push(conn);
        }
    });
    app.create_client(NewClient {
        id: "slow".into(),
        redirect_uris: vec![CB.into()],
        backchannel_logout_uri: Some(hole_url),
        first_party: true,
        ..NewClient::default()
    })
    .await
    .unwrap();
    // Forty sessions of alice enrolled with the slow client, one with `rp`.
    let store = app.state.store.as_ref();
    let now = tessera_token::Clock::unix(app.clock.as_ref());
    for i in 0..41 {
        let sid = format!("sid-{i}");
        store
            .create_session(&Session {
                token_hash: format!("hash-{i}"),
                sid: sid.clone(),
                user_id: 1,
                auth_time: now,
                expires_at: now + 3600,
                session_epoch: 0,
                methods: String::new(),
            })
            .await
            .unwrap();
        let client = if i == 40 { "rp" } else { "slow" };
        store
            .insert_code(&AuthCode {
                code_hash: format!("code-{i}"),
                client_id: client.into(),
                user_id: 1,
                redirect_uri: CB.into(),
                scope: "openid".into(),
                nonce: None,
                code_challenge: None,
                sid,
                auth_time: now,
                expires_at: now + 60,
                session_epoch: 0,
                methods: String::new(),
            })
            .await
            .unwrap();
        assert!(matches!(
            store.redeem_code(&format!("code-{i}"), now).await.unwrap(),
            Redemption::Valid(_)
        ));
    }
    store.end_user_sessions(1, now).await.unwrap();
    // (Before: 32 of the slow client's filled the round, 8 at a time for 5 s each: 20 s.)
    let got = receiver.wait_within(1, Duration::from_millis(4500)).await;
    assert_eq!(verified(&app, &got[0], "rp").sid.as_deref(), Some("sid-40"));
}

/// By default (`[sso] backchannel_allow_loopback` off) no logout is POSTed to this
/// machine itself, by address or by a name that resolves to it: a client registration
/// cannot aim Tessera at services listening only on localhost. The refusal is audited.
#[tokio::test]
async fn loopback_logout_uris_are_refused_by_default() {
    let receiver = Receiver::start().await;
    let app = TestApp::builder()
        .settings(|s| s.sso.backchannel_allow_loopback = false)
        .spawn()
        .await;
    app.create_user("alice", false).await;
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    let mut secrets = Vec::new();
    for (id, uri) in [("rp", receiver.url.clone()), ("named", by_name)] {
        let secret = app
            .create_client(NewClient {
                id: id.into(),
                redirect_uris: vec![CB.into()],
                backchannel_logout_uri: Some(uri),
                first_party: true,
                ..NewClient::default()
            })
            .await
            .unwrap();
        secrets.push((id, secret));
    }
    let b = crate::api::browser();
    for (id, secret) in &secrets {
        app.code_flow(&b, (id, secret), CB, "alice").await;
    }
    let root = {
        app.create_superuser("root").await;
        app.login("root").await.access
    };
    let res = app
        .client
        .post(app.url("/admin/api/users/1/logout"))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    // Both deliveries are given up at once (the name fails to resolve to anything allowed,
    // which is retried: let the clock run past the retries).
    eventually(
        "both refused and audited",
        Duration::from_secs(10),
        async || {
            app.clock.advance(Duration::from_secs(400));
            let audited = app
                .state
                .store
                .audit_events(0, 1000)
                .await
                .unwrap()
                .iter()
                .filter(|e| e.kind == "logout.backchannel_failed")
                .count();
            (audited == 2).then_some(())
        },
    )
    .await;
    assert_eq!(receiver.count(), 0, "nothing reached the loopback listener");
}
