//! Request objects (RFC 9101, JAR; OpenID Connect Core §6.1), signed by jsonwebtoken (a
//! third-party signer) with keys the client registered inline (`jwks`) or published at a
//! `jwks_uri` this test serves: at the authorization endpoint (`request`) and pushed
//! (`/oauth/par`, RFC 9126 §3). Only the object's values are used; forgeries, other
//! audiences, other clients' objects, expired and unsigned ones are refused with
//! `invalid_request_object` on the redirect (or as JSON at PAR).

use crate::api::sso::{CB, claims, hidden_inputs, location, param, pkce, redeem, setup, sign_in};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tessera_server::service::client::NewClient;
use tessera_test_support::{PASSWORD, TestApp};
use tessera_token::SigningKey;

/// A client's key pair: the private half signs with jsonwebtoken, the public half is
/// registered as a JWK under `kid`, without `alg` (as clients often publish them).
struct ClientKey {
    kid: String,
    key: SigningKey,
}

impl ClientKey {
    fn new(alg: tessera_token::Algorithm, kid: &str) -> Self {
        Self {
            kid: kid.into(),
            key: SigningKey::generate(alg).unwrap(),
        }
    }

    fn jwk(&self) -> Value {
        let mut jwk = serde_json::to_value(self.key.public_key().jwk()).unwrap();
        jwk.as_object_mut().unwrap().remove("alg");
        jwk["kid"] = json!(self.kid);
        jwk
    }

    fn sign(&self, claims: &Value) -> String {
        let pem = self.key.expose_pkcs8_pem();
        let (alg, key) = match self.key.alg() {
            tessera_token::Algorithm::ES256 => {
                (Algorithm::ES256, EncodingKey::from_ec_pem(pem.as_bytes()))
            }
            _ => (Algorithm::RS256, EncodingKey::from_rsa_pem(pem.as_bytes())),
        };
        let mut header = Header::new(alg);
        header.kid = Some(self.kid.clone());
        header.typ = Some("oauth-authz-req+jwt".into());
        jsonwebtoken::encode(&header, claims, &key.unwrap()).unwrap()
    }
}

fn jwks(keys: &[&ClientKey]) -> String {
    json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() }).to_string()
}

/// A request object's claims for client `jar` at `app`.
fn object(app: &TestApp, challenge: &str) -> Value {
    let now = tessera_token::Clock::unix(app.clock.as_ref());
    json!({
        "iss": "jar", "aud": app.address, "client_id": "jar", "iat": now, "exp": now + 300,
        "response_type": "code", "redirect_uri": CB, "scope": "openid profile",
        "state": "inner-state", "nonce": "inner-nonce", "max_age": 600,
        "code_challenge": challenge, "code_challenge_method": "S256",
    })
}

fn edited(mut claims: Value, f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    f(claims.as_object_mut().unwrap());
    claims
}

/// `/oauth/authorize` with the outer `client_id`, `request`, and these other parameters.
fn by_value(app: &TestApp, client_id: &str, request: &str, extra: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&app.url("/oauth/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("request", request);
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.to_string()
}

/// An unsigned request object (`alg: none`) with these claims.
fn unsigned(claims: &Value) -> String {
    format!(
        "eyJhbGciOiJub25lIn0.{}.",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            claims.to_string()
        )
    )
}

/// What the authorization endpoint answers `browser` at `url`: the `error` of a
/// redirect, else the status (`"200"`: a page).
async fn answer(browser: reqwest::Client, url: String) -> String {
    let res = browser.get(url).send().await.unwrap();
    match res.status().as_u16() {
        302 => param(&location(&res), "error").unwrap_or_default(),
        other => other.to_string(),
    }
}

/// A server with alice, and the client `jar` registered with `input` and an RS256 key
/// (`k1`) of its own in `jwks`: the server, the key, the client's secret.
async fn keyed_jar(input: NewClient) -> (TestApp, ClientKey, String) {
    let (app, _) = setup().await;
    let key = ClientKey::new(tessera_token::Algorithm::RS256, "k1");
    let secret = jar_client(
        &app,
        NewClient {
            jwks: Some(jwks(&[&key])),
            ..input
        },
    )
    .await;
    (app, key, secret)
}

/// `/oauth/authorize` for the client `jar` with the `request_uri` `/oauth/par` answered.
fn pushed_url(app: &TestApp, pushed: &Value) -> String {
    let mut url = url::Url::parse(&app.url("/oauth/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", "jar")
        .append_pair("request_uri", pushed["request_uri"].as_str().unwrap());
    url.to_string()
}

async fn jar_client(app: &TestApp, input: NewClient) -> String {
    app.create_client(NewClient {
        id: "jar".into(),
        redirect_uris: vec![CB.into()],
        first_party: true,
        ..input
    })
    .await
    .unwrap()
}

/// The object's values are the request: the outer `state` and `scope` are ignored, the
/// inner `nonce` reaches the ID token; the login form carries the values sealed as signed,
/// not the object.
#[tokio::test]
async fn a_signed_request_object_is_the_request() {
    let (app, key, secret) = keyed_jar(NewClient::default()).await;
    let (verifier, challenge) = pkce();
    for post in [false, true] {
        let b = crate::api::browser();
        let token = key.sign(&object(&app, &challenge));
        let outer = [("state", "outer-state"), ("scope", "openid admin:all")];
        let page = if post {
            let mut form = vec![("client_id", "jar"), ("request", token.as_str())];
            form.extend(outer);
            b.post(app.url("/oauth/authorize")).form(&form).send().await
        } else {
            b.get(by_value(&app, "jar", &token, &outer)).send().await
        }
        .unwrap();
        assert_eq!(page.status(), 200, "the login page");
        let html = page.text().await.unwrap();
        let fields = hidden_inputs(&html);
        assert!(fields.contains(&("state".into(), "inner-state".into())));
        assert!(fields.iter().all(|(k, _)| k != "request"), "{fields:?}");
        let sealed = fields.iter().find(|(k, _)| k == "sealed").unwrap();
        assert!(sealed.1.starts_with("s."), "sealed as signed: {sealed:?}");
        let done = sign_in(&app, &b, &html, PASSWORD).await;
        let back = location(&done);
        assert_eq!(param(&back, "state").as_deref(), Some("inner-state"));
        assert_eq!(param(&back, "iss").as_deref(), Some(app.address.as_str()));
        let code = param(&back, "code").unwrap();
        let tokens: Value = redeem(&app, ("jar", &secret), &code, CB, &verifier)
            .await
            .json()
            .await
            .unwrap();
        let id = claims(tokens["id_token"].as_str().unwrap());
        assert_eq!(id["nonce"], "inner-nonce");
        assert_eq!(tokens["scope"], "openid profile", "the object's scope");
    }
}

/// Everything an attacker could send as a request object is refused on the redirect
/// (`invalid_request_object`, with `iss` and the outer `state`); a request object with a
/// `request_uri`, for an unknown client or to an unregistered redirect URI never leaves
/// Tessera's page.
#[tokio::test]
async fn forged_and_misdirected_request_objects_are_refused() {
    let (app, key, _) = keyed_jar(NewClient::default()).await;
    let stranger = ClientKey::new(tessera_token::Algorithm::RS256, "k1");
    let (_, challenge) = pkce();
    let good = object(&app, &challenge);
    let now = tessera_token::Clock::unix(app.clock.as_ref());
    let cases: Vec<(&str, String)> = vec![
        ("another key's signature", stranger.sign(&good)),
        (
            "another authorization server's",
            key.sign(&edited(good.clone(), |c| {
                c.insert("aud".into(), json!("https://other-idp.example"));
            })),
        ),
        (
            "no audience",
            key.sign(&edited(good.clone(), |c| {
                c.remove("aud");
            })),
        ),
        (
            "another client's",
            key.sign(&edited(good.clone(), |c| {
                c.insert("client_id".into(), json!("web"));
            })),
        ),
        (
            "expired",
            key.sign(&edited(good.clone(), |c| {
                c.insert("exp".into(), json!(now - 120));
            })),
        ),
        (
            "never expiring",
            key.sign(&edited(good.clone(), |c| {
                c.remove("exp");
            })),
        ),
        ("unsigned", unsigned(&good)),
        (
            "a request_uri inside",
            key.sign(&edited(good.clone(), |c| {
                c.insert("request_uri".into(), json!("https://rp.example/r.jwt"));
            })),
        ),
        (
            "a scope that is no string",
            key.sign(&edited(good.clone(), |c| {
                c.insert("scope".into(), json!(["openid"]));
            })),
        ),
        ("tampered", {
            let token = key.sign(&good);
            let (rest, sig) = token.rsplit_once('.').unwrap();
            let flipped = if sig.starts_with('A') { "B" } else { "A" };
            format!("{rest}.{flipped}{}", &sig[1..])
        }),
        ("not a JWT", "garbage".into()),
    ];
    let b = crate::api::browser();
    for (why, token) in cases {
        let res = b
            .get(by_value(
                &app,
                "jar",
                &token,
                &[("redirect_uri", CB), ("state", "outer")],
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302, "{why}");
        let back = location(&res);
        assert_eq!(
            param(&back, "error").as_deref(),
            Some("invalid_request_object"),
            "{why}"
        );
        assert_eq!(param(&back, "state").as_deref(), Some("outer"), "{why}");
        assert_eq!(param(&back, "iss").as_deref(), Some(app.address.as_str()));
        assert!(param(&back, "code").is_none());
    }
    // A request object and a request_uri: invalid_request. (A PAR reference is looked
    // up first, and this one is unknown: Tessera's page.)
    for (request_uri, expected) in [
        ("urn:ietf:params:oauth:request_uri:x", "400"),
        ("https://rp.example/r.jwt", "invalid_request"),
    ] {
        let url = by_value(
            &app,
            "jar",
            &key.sign(&good),
            &[("request_uri", request_uri)],
        );
        assert_eq!(answer(b.clone(), url).await, expected, "{request_uri}");
    }
    // Errors never go to an unregistered redirect URI, nor for an unknown client.
    for (client, extra) in [
        ("jar", vec![("redirect_uri", "https://evil.example/cb")]),
        ("nobody", vec![]),
    ] {
        let res = b
            .get(by_value(&app, client, &stranger.sign(&good), &extra))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{client}");
        assert!(res.headers().get("location").is_none());
    }
}

/// `request_object_signing_alg`: a client that registered `ES256` gets nothing signed
/// otherwise; one that registered `none` sends unsigned objects (and no signed ones); a
/// client that registered nothing sends no unsigned ones.
#[tokio::test]
async fn the_registered_algorithm_decides() {
    let (app, _) = setup().await;
    let rsa = ClientKey::new(tessera_token::Algorithm::RS256, "rsa");
    let ec = ClientKey::new(tessera_token::Algorithm::ES256, "ec");
    jar_client(
        &app,
        NewClient {
            jwks: Some(jwks(&[&rsa, &ec])),
            request_object_signing_alg: Some("ES256".into()),
            ..NewClient::default()
        },
    )
    .await;
    app.create_client(NewClient {
        id: "plain".into(),
        redirect_uris: vec![CB.into()],
        request_object_signing_alg: Some("none".into()),
        first_party: true,
        ..NewClient::default()
    })
    .await;
    let (_, challenge) = pkce();
    let b = crate::api::browser();
    let outcome = |client: &'static str, token: String| {
        answer(b.clone(), by_value(&app, client, &token, &[]))
    };
    let claims = object(&app, &challenge);
    assert_eq!(outcome("jar", ec.sign(&claims)).await, "200");
    assert_eq!(
        outcome("jar", rsa.sign(&claims)).await,
        "invalid_request_object"
    );
    let plain = edited(claims.clone(), |c| {
        c.insert("client_id".into(), json!("plain"));
        c.insert("iss".into(), json!("plain"));
    });
    assert_eq!(outcome("plain", unsigned(&plain)).await, "200");
    assert_eq!(
        outcome("plain", ec.sign(&plain)).await,
        "invalid_request_object"
    );
}

/// `require_signed_request_object` (RFC 9101 §10.5): a plain request is refused, and the
/// login form cannot stand in for the object (its values altered, or unsealed).
#[tokio::test]
async fn a_client_can_require_signed_request_objects() {
    let (app, key, _) = keyed_jar(NewClient {
        require_signed_request_object: true,
        ..NewClient::default()
    })
    .await;
    let (_, challenge) = pkce();
    let b = crate::api::browser();
    let plain = crate::api::sso::authorize_url(&app, "jar", CB, &challenge, &[]);
    let res = b.get(plain).send().await.unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(
        param(&location(&res), "error").as_deref(),
        Some("invalid_request")
    );
    let page = b
        .get(by_value(
            &app,
            "jar",
            &key.sign(&object(&app, &challenge)),
            &[],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let fields = hidden_inputs(&html);
    let post = |fields: Vec<(String, String)>| {
        let b = b.clone();
        let url = app.url("/oauth/authorize/login");
        async move {
            let mut form = fields;
            form.push(("username".into(), "alice".into()));
            form.push(("password".into(), PASSWORD.into()));
            b.post(url).form(&form).send().await.unwrap()
        }
    };
    // Altered: another state under the seal.
    let altered = fields
        .iter()
        .cloned()
        .map(|(k, v)| {
            if k == "state" {
                (k, "attacker".to_owned())
            } else {
                (k, v)
            }
        })
        .collect();
    assert_eq!(
        post(altered).await.status(),
        400,
        "the seal no longer matches"
    );
    // Unsealed: a plain request through the form.
    let unsealed = fields
        .iter()
        .filter(|(k, _)| k != "sealed")
        .cloned()
        .collect();
    let res = post(unsealed).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        param(&location(&res), "error").as_deref(),
        Some("invalid_request")
    );
    // The seal is for Tessera's own forms: sent to the endpoint (a link to a victim,
    // after the object expired) it vouches for nothing (attacker review: before, a seal
    // copied from a form was a permanent link that skipped the object).
    let mut replay = url::Url::parse(&app.url("/oauth/authorize")).unwrap();
    replay.query_pairs_mut().extend_pairs(
        fields
            .iter()
            .filter(|(k, _)| k != "csrf")
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let res = crate::api::browser().get(replay).send().await.unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(
        param(&location(&res), "error").as_deref(),
        Some("invalid_request")
    );
    // As sent: signed in, back with a code.
    let res = post(fields.clone()).await;
    assert_eq!(res.status(), 303);
    assert!(param(&location(&res), "code").is_some());
    // And the form's seal lasts ten minutes.
    app.clock.advance(std::time::Duration::from_secs(601));
    let res = post(fields).await;
    assert_eq!(res.status(), 400, "an expired seal");
}

/// A form's seal is for the browser it was shown to: copied with every hidden field into
/// another browser's form (that browser's own CSRF token, its own sign-in), it vouches for
/// nothing, so one signed object or pushed request cannot be taken into a second browser
/// while the seal lasts (attacker review of issue 18).
#[tokio::test]
async fn a_seal_copied_into_another_browser_is_refused() {
    let (app, key, _) = keyed_jar(NewClient {
        require_signed_request_object: true,
        ..NewClient::default()
    })
    .await;
    let (_, challenge) = pkce();
    let first = crate::api::browser();
    let page = first
        .get(by_value(
            &app,
            "jar",
            &key.sign(&object(&app, &challenge)),
            &[],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let fields = hidden_inputs(&page.text().await.unwrap());
    // The second browser's own CSRF token, from a login page of its own.
    let second = crate::api::browser();
    let own = second
        .get(by_value(
            &app,
            "jar",
            &key.sign(&object(&app, &challenge)),
            &[],
        ))
        .send()
        .await
        .unwrap();
    let own_csrf = hidden_inputs(&own.text().await.unwrap())
        .into_iter()
        .find(|(k, _)| k == "csrf")
        .unwrap()
        .1;
    let mut copied: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| {
            if k == "csrf" {
                (k.clone(), own_csrf.clone())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect();
    copied.push(("username".into(), "alice".into()));
    copied.push(("password".into(), PASSWORD.into()));
    let res = second
        .post(app.url("/oauth/authorize/login"))
        .form(&copied)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "another browser's seal");
    // In the browser it was shown to, the same form signs in.
    let mut own_form = fields;
    own_form.push(("username".into(), "alice".into()));
    own_form.push(("password".into(), PASSWORD.into()));
    let res = first
        .post(app.url("/oauth/authorize/login"))
        .form(&own_form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(param(&location(&res), "code").is_some());
}

/// A JWKS served at a `jwks_uri` (this test's own listener): fetched once however many
/// requests need it at once, cached, fetched again for a key it does not hold (the client
/// rotated), but at most every ten seconds however many objects name unknown keys.
#[tokio::test]
async fn keys_at_a_jwks_uri_are_fetched_cached_and_refetched_for_a_new_key() {
    let (app, _) = setup().await;
    let k1 = ClientKey::new(tessera_token::Algorithm::RS256, "k1");
    let k2 = ClientKey::new(tessera_token::Algorithm::ES256, "k2");
    let published = Arc::new(Mutex::new(jwks(&[&k1])));
    let fetches = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = published.clone();
    let counted = fetches.clone();
    let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let failing = down.clone();
    let router = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let body = served.lock().unwrap().clone();
            counted.fetch_add(1, Ordering::SeqCst);
            let status = if failing.load(Ordering::SeqCst) {
                axum::http::StatusCode::BAD_GATEWAY
            } else {
                axum::http::StatusCode::OK
            };
            async move {
                // Slow enough that concurrent requests overlap the fetch.
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                (status, [("content-type", "application/json")], body)
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    jar_client(
        &app,
        NewClient {
            jwks_uri: Some(format!("http://127.0.0.1:{port}/jwks.json")),
            ..NewClient::default()
        },
    )
    .await;
    let (_, challenge) = pkce();
    let b = crate::api::browser();
    let status = |token: String| answer(b.clone(), by_value(&app, "jar", &token, &[]));
    // Eight requests at once on a cold cache: one fetch, which all of them wait for.
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..8 {
        requests.spawn(status(k1.sign(&object(&app, &challenge))));
    }
    let at_once = requests.join_all().await;
    assert!(at_once.iter().all(|s| s == "200"), "{at_once:?}");
    for _ in 0..3 {
        assert_eq!(status(k1.sign(&object(&app, &challenge))).await, "200");
    }
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "fetched once, then cached"
    );
    // The client rotates to k2: the first object naming it fetches again.
    *published.lock().unwrap() = jwks(&[&k1, &k2]);
    app.clock.advance(std::time::Duration::from_secs(11));
    assert_eq!(status(k2.sign(&object(&app, &challenge))).await, "200");
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    // Objects naming keys nobody published: one fetch per ten seconds at most.
    let unknown = ClientKey::new(tessera_token::Algorithm::RS256, "k-unknown");
    for _ in 0..5 {
        assert_eq!(
            status(unknown.sign(&object(&app, &challenge))).await,
            "invalid_request_object"
        );
    }
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        2,
        "within ten seconds of the last"
    );
    app.clock.advance(std::time::Duration::from_secs(11));
    status(unknown.sign(&object(&app, &challenge))).await;
    assert_eq!(fetches.load(Ordering::SeqCst), 3);
    // While the address fails, the last keys stay in use, but not for more than an hour
    // after the last fetch that worked (attacker review: a withdrawn key stayed trusted
    // for as long as the client's JWKS host could be kept down).
    // The last good fetch was just now (the unknown kid's, above).
    down.store(true, Ordering::SeqCst);
    app.clock.advance(std::time::Duration::from_secs(301));
    assert_eq!(status(k1.sign(&object(&app, &challenge))).await, "200");
    app.clock
        .advance(std::time::Duration::from_secs(3590 - 301));
    assert_eq!(
        status(k1.sign(&object(&app, &challenge))).await,
        "200",
        "a failed fetch 3590 s after the last good one keeps the keys"
    );
    // Twenty seconds on, those keys would still be fresh: the bound is checked at use too.
    app.clock.advance(std::time::Duration::from_secs(20));
    assert_eq!(
        status(k1.sign(&object(&app, &challenge))).await,
        "invalid_request_object",
        "over an hour since the last good fetch"
    );
    // Back up: after five minutes the keys are fetched again, and a key withdrawn is gone.
    down.store(false, Ordering::SeqCst);
    *published.lock().unwrap() = jwks(&[&k2]);
    app.clock.advance(std::time::Duration::from_secs(301));
    assert_eq!(status(k2.sign(&object(&app, &challenge))).await, "200");
    assert_eq!(
        status(k1.sign(&object(&app, &challenge))).await,
        "invalid_request_object"
    );
}

/// A `jwks_uri` on this machine (loopback by address or name, or the address of its own
/// interface) is not fetched unless `[sso] backchannel_allow_loopback` (development): a
/// client's registration cannot aim Tessera at its own services.
#[tokio::test]
async fn a_loopback_jwks_uri_is_not_fetched_by_default() {
    let app = TestApp::builder()
        .settings(|s| s.sso.backchannel_allow_loopback = false)
        .spawn()
        .await;
    app.create_user("alice", false).await;
    // Counts connections (not requests): an https fetch of a plain listener connects
    // too.
    let connections = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let counted = connections.clone();
    let key = ClientKey::new(tessera_token::Algorithm::RS256, "k1");
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    // This machine's own interface address (a listener on 0.0.0.0 answers there).
    let own = {
        let socket = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
        socket.connect("192.0.2.1:9").unwrap();
        socket.local_addr().unwrap().ip().to_string()
    };
    for (id, uri) in [
        ("jar-ip", format!("http://127.0.0.1:{port}/jwks.json")),
        ("jar-name", format!("http://localhost:{port}/jwks.json")),
        ("jar-own", format!("https://{own}:{port}/jwks.json")),
    ] {
        app.create_client(NewClient {
            id: id.into(),
            redirect_uris: vec![CB.into()],
            jwks_uri: Some(uri.clone()),
            first_party: true,
            ..NewClient::default()
        })
        .await;
        let (_, challenge) = pkce();
        let claims = edited(object(&app, &challenge), |c| {
            c.insert("client_id".into(), json!(id));
            c.insert("iss".into(), json!(id));
        });
        let res = crate::api::browser()
            .get(by_value(&app, id, &key.sign(&claims), &[]))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302, "{uri}");
        assert_eq!(
            param(&location(&res), "error").as_deref(),
            Some("invalid_request_object")
        );
        assert_eq!(connections.load(Ordering::SeqCst), 0, "{uri}");
    }
}

/// JAR inside PAR (RFC 9126 §3): the pushed object's values are stored, sealed as pushed
/// and signed; a confidential client that authenticated may push an unsigned object; a
/// bad object is `invalid_request_object` as JSON; the object must be the authenticated
/// client's.
#[tokio::test]
async fn request_objects_can_be_pushed() {
    let (app, key, secret) = keyed_jar(NewClient {
        require_signed_request_object: true,
        require_pushed_authorization_requests: true,
        ..NewClient::default()
    })
    .await;
    let (verifier, challenge) = pkce();
    let push = |form: Vec<(&'static str, String)>, who: (&'static str, String)| {
        let app = &app;
        async move {
            app.client
                .post(app.url("/oauth/par"))
                .basic_auth(who.0, Some(who.1))
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let jar = ("jar", secret.clone());
    let res = push(
        vec![("request", key.sign(&object(&app, &challenge)))],
        jar.clone(),
    )
    .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    let url = pushed_url(&app, &body);
    let b = crate::api::browser();
    let html = b.get(url).send().await.unwrap().text().await.unwrap();
    let sealed = hidden_inputs(&html)
        .into_iter()
        .find(|(k, _)| k == "sealed")
        .unwrap();
    assert!(sealed.1.starts_with("ps."), "{sealed:?}");
    let done = sign_in(&app, &b, &html, PASSWORD).await;
    let code = param(&location(&done), "code").unwrap();
    let tokens: Value = redeem(&app, ("jar", &secret), &code, CB, &verifier)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        claims(tokens["id_token"].as_str().unwrap())["nonce"],
        "inner-nonce"
    );

    // Refusals, as JSON.
    let unsigned_ours = unsigned(&object(&app, &challenge));
    let other = ClientKey::new(tessera_token::Algorithm::RS256, "k1");
    let web_secret = app
        .create_client(NewClient {
            id: "web2".into(),
            redirect_uris: vec![CB.into()],
            ..NewClient::default()
        })
        .await
        .unwrap();
    for (why, form, who, code) in [
        (
            "another key",
            vec![("request", other.sign(&object(&app, &challenge)))],
            jar.clone(),
            "invalid_request_object",
        ),
        (
            "another client's object",
            vec![("request", key.sign(&object(&app, &challenge)))],
            ("web2", web_secret.clone()),
            "invalid_request_object",
        ),
        (
            "client_id other than the authenticated",
            vec![
                ("client_id", "web2".to_owned()),
                ("request", key.sign(&object(&app, &challenge))),
            ],
            jar.clone(),
            "invalid_request",
        ),
    ] {
        let res = push(form, who).await;
        assert_eq!(res.status(), 400, "{why}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], code, "{why}: {body}");
    }
    // A client that registered an algorithm pushes nothing unsigned (Registration §2;
    // attacker review: an unsigned object was taken at PAR from a client registered for
    // RS256).
    let strict_secret = app
        .create_client(NewClient {
            id: "jar-rs".into(),
            redirect_uris: vec![CB.into()],
            jwks: Some(jwks(&[&key])),
            request_object_signing_alg: Some("RS256".into()),
            ..NewClient::default()
        })
        .await
        .unwrap();
    let theirs = edited(object(&app, &challenge), |c| {
        c.insert("client_id".into(), json!("jar-rs"));
        c.insert("iss".into(), json!("jar-rs"));
    });
    let unsigned_theirs = unsigned(&theirs);
    let res = push(
        vec![("request", unsigned_theirs)],
        ("jar-rs", strict_secret.clone()),
    )
    .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request_object");
    let res = push(
        vec![("request", key.sign(&theirs))],
        ("jar-rs", strict_secret),
    )
    .await;
    assert_eq!(res.status(), 201);
    // Unsigned, pushed by the authenticated client: stored, but it is not signed, and
    // this client requires signed objects: refused at the authorization endpoint.
    let res = push(vec![("request", unsigned_ours)], jar.clone()).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    let url = pushed_url(&app, &body);
    let res = b.get(url).send().await.unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(
        param(&location(&res), "error").as_deref(),
        Some("invalid_request")
    );
}

/// Registration (admin API, as the CLI): `jwks` as a JWKS object, shown back; `jwks` and
/// `jwks_uri` not both; a JWKS without a usable key, a plain-http `jwks_uri` off
/// localhost, an algorithm Tessera does not verify, signing required or an algorithm
/// named without keys, `none` with signing required: each refused, nothing stored.
#[tokio::test]
async fn request_object_settings_are_checked_at_registration() {
    let app = TestApp::spawn().await;
    app.create_superuser("root").await;
    let root = app.login("root").await.access;
    let key = ClientKey::new(tessera_token::Algorithm::ES256, "k1");
    let register = |body: Value| {
        let root = root.clone();
        let url = app.url("/admin/api/clients");
        async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(root)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let base = |extra: Value| {
        let mut body = json!({"client_id": "jar", "redirect_uris": [CB]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let keys: Value = serde_json::from_str(&jwks(&[&key])).unwrap();
    let short_rsa = json!({"keys": [{"kty": "RSA", "kid": "x", "n": "AQAB", "e": "AQAB"}]});
    let identity_point = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "e",
                                         "x": "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]});
    let twice = json!({"keys": [key.jwk(), key.jwk()]});
    for (why, extra) in [
        ("a small-order Ed25519 key", json!({"jwks": identity_point})),
        ("two keys with one kid", json!({"jwks": twice})),
        (
            "both",
            json!({"jwks": keys, "jwks_uri": "https://rp.example/jwks.json"}),
        ),
        ("no usable key", json!({"jwks": short_rsa})),
        ("not a JWKS", json!({"jwks": {"kty": "EC"}})),
        (
            "plain http",
            json!({"jwks_uri": "http://rp.example/jwks.json"}),
        ),
        (
            "unknown algorithm",
            json!({"jwks": keys, "request_object_signing_alg": "HS256"}),
        ),
        (
            "no key of the algorithm",
            json!({"jwks": keys, "request_object_signing_alg": "RS256"}),
        ),
        (
            "an algorithm without keys",
            json!({"request_object_signing_alg": "ES256"}),
        ),
        (
            "signing required without keys",
            json!({"require_signed_request_object": true}),
        ),
        (
            "none and signing required",
            json!({"jwks": keys, "request_object_signing_alg": "none",
                   "require_signed_request_object": true}),
        ),
    ] {
        let res = register(base(extra)).await;
        assert_eq!(res.status(), 400, "{why}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "invalid", "{why}: {body}");
    }
    assert!(app.state.store.client("jar").await.unwrap().is_none());
    let res = register(base(json!({
        "jwks": keys, "request_object_signing_alg": "ES256",
        "require_signed_request_object": true,
    })))
    .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["client"]["jwks"], keys);
    assert_eq!(created["client"]["request_object_signing_alg"], "ES256");
    assert_eq!(created["client"]["require_signed_request_object"], true);
    assert_eq!(created["client"]["jwks_uri"], Value::Null);
}
