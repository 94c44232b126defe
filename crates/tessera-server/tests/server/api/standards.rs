//! Exactness to the standards (issue 18), item by item: the authorization endpoint takes
//! POST (OIDC Core 3.1.2.1); every authorization response names the issuer, error
//! redirects included (RFC 9207); `error_description` keeps to RFC 6749's characters.

use crate::api::sso::{CB, location, param, pkce, setup as app};
use serde_json::Value;

fn request(challenge: &str, extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut form = vec![
        ("response_type", "code".to_owned()),
        ("client_id", "web".to_owned()),
        ("redirect_uri", CB.to_owned()),
        ("scope", "openid profile".to_owned()),
        ("state", "st-1".to_owned()),
        ("code_challenge", challenge.to_owned()),
        ("code_challenge_method", "S256".to_owned()),
    ];
    for (k, v) in extra {
        form.retain(|(key, _)| key != k);
        form.push((k, (*v).to_owned()));
    }
    form
}

/// OIDC Core 3.1.2.1: the authorization endpoint MUST take POST (form-encoded) as well as
/// GET. (Before: POST → 405.)
#[tokio::test]
async fn the_authorization_endpoint_takes_post() {
    let (app, _) = app().await;
    let (_, challenge) = pkce();
    let b = crate::api::browser();
    let page = b
        .post(app.url("/oauth/authorize"))
        .form(&request(&challenge, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text().await.unwrap().contains("Orders"),
        "the login page"
    );
    let none = b
        .post(app.url("/oauth/authorize"))
        .form(&request(&challenge, &[("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 302);
    let back = location(&none);
    assert_eq!(param(&back, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&back, "state").as_deref(), Some("st-1"));
    // A repeated parameter is malformed, in the body as in the query.
    let mut twice = request(&challenge, &[]);
    twice.push(("state", "again".into()));
    let res = b
        .post(app.url("/oauth/authorize"))
        .form(&twice)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

/// RFC 9207: `iss` in every authorization response, error redirects included (before:
/// missing on the PKCE errors and every other error redirect, and on a denial).
#[tokio::test]
async fn every_authorization_error_names_the_issuer() {
    let (app, _) = app().await;
    let (_, challenge) = pkce();
    let b = crate::api::browser();
    for (why, extra) in [
        ("PKCE: plain", vec![("code_challenge_method", "plain")]),
        ("PKCE: short challenge", vec![("code_challenge", "short")]),
        (
            "unsupported response type",
            vec![("response_type", "token")],
        ),
        ("prompt=none without a session", vec![("prompt", "none")]),
        (
            "an unknown scope",
            vec![("scope", "openid launch-missiles")],
        ),
    ] {
        let mut url = url::Url::parse(&app.url("/oauth/authorize")).unwrap();
        for (k, v) in request(&challenge, &extra) {
            url.query_pairs_mut().append_pair(k, &v);
        }
        let res = b.get(url).send().await.unwrap();
        assert_eq!(res.status(), 302, "{why}");
        let back = location(&res);
        assert!(param(&back, "error").is_some(), "{why}: {back}");
        assert_eq!(
            param(&back, "iss").as_deref(),
            Some(app.address.as_str()),
            "{why}: {back}"
        );
        let description = param(&back, "error_description").unwrap_or_default();
        assert!(
            description
                .chars()
                .all(|c| matches!(c, ' '..='~') && c != '"' && c != '\\'),
            "{why}: {description}"
        );
    }
}

/// RFC 6749 §5.2 / A.8: `error_description` uses printable ASCII without `"` or `\`, even
/// when it quotes what the client sent. (Before: `unsupported grant type "urn:foo"`.)
#[tokio::test]
async fn error_descriptions_keep_to_the_allowed_characters() {
    let (app, secret) = app().await;
    for grant in ["urn:foo", "caf\u{e9}\"\\x"] {
        let res = app
            .post_form(
                "/oauth/token",
                Some(("web", secret.as_str())),
                &[("grant_type", grant)],
            )
            .await;
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "unsupported_grant_type");
        let description = body["error_description"].as_str().unwrap();
        assert!(
            description
                .chars()
                .all(|c| matches!(c, ' '..='~') && c != '"' && c != '\\'),
            "{description}"
        );
    }
}

/// RFC 6749 §3.1–3.2 (and RFC 7662, RFC 7009): the OAuth endpoints take a form-encoded
/// body only, each parameter once; a body over the limit is 413 on every one of them.
/// (Before: `grant_type` twice → 200, a JSON body → 200, an oversized body → 400.)
#[tokio::test]
async fn the_oauth_endpoints_take_one_form_each_parameter_once() {
    let (app, secret) = app().await;
    let client = reqwest::Client::new();
    for path in ["/oauth/token", "/oauth/introspect", "/oauth/revoke"] {
        let (grant, token) = ("client_credentials", "x.y.z");
        let twice = client
            .post(app.url(path))
            .basic_auth("web", Some(&secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type={grant}&grant_type={grant}&token={token}&token={token}"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(twice.status(), 400, "{path}");
        let body: Value = twice.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{path}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("more than once"),
            "{path}: {body}"
        );
        let json = client
            .post(app.url(path))
            .basic_auth("web", Some(&secret))
            .json(&serde_json::json!({"grant_type": grant, "token": token}))
            .send()
            .await
            .unwrap();
        assert_eq!(json.status(), 400, "{path}");
        let body: Value = json.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{path}");
        let huge = client
            .post(app.url(path))
            .basic_auth("web", Some(&secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={}", "a".repeat(200 * 1024)))
            .send()
            .await
            .unwrap();
        assert_eq!(huge.status(), 413, "{path}");
        let body: Value = huge.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{path}");
    }
    // The Django-compatible endpoints keep taking JSON.
    let res = app
        .post_json(
            "/auth/token/",
            &serde_json::json!({"username": "alice", "password": tessera_test_support::PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
}

/// RFC 6750 §2 at UserInfo: exactly one method. The header or a form body's
/// `access_token` works; both, two headers, a malformed `Bearer` value or a token in the
/// query is `400 invalid_request` with a `WWW-Authenticate: Bearer` challenge. (Before:
/// the header was picked silently, a malformed value was 401, the form body was ignored.)
#[tokio::test]
async fn userinfo_takes_the_token_by_exactly_one_method() {
    let (app, secret) = app().await;
    let tokens =
        crate::api::boundaries::code_flow(&app, ("web", &secret), CB, "alice", "openid profile")
            .await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let client = reqwest::Client::new();
    let url = app.url("/oauth/userinfo");
    let header = client.get(&url).bearer_auth(&access).send().await.unwrap();
    assert_eq!(header.status(), 200);
    let body = client
        .post(&url)
        .form(&[("access_token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(body.status(), 200, "RFC 6750 §2.2");
    let two_headers = client
        .get(&url)
        .header("authorization", format!("Bearer {access}"))
        .header("authorization", format!("Bearer {access}"));
    let both = client
        .post(&url)
        .bearer_auth(&access)
        .form(&[("access_token", access.as_str())]);
    let query = client.get(format!("{url}?access_token={access}"));
    let malformed = client
        .get(&url)
        .header("authorization", format!("Bearer {access} extra"));
    let empty = client.get(&url).header("authorization", "Bearer");
    for (why, req) in [
        ("two headers", two_headers),
        ("header and body", both),
        ("query", query),
        ("malformed", malformed),
        ("empty", empty),
    ] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 400, "{why}");
        let challenge = res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.contains(r#"error="invalid_request""#),
            "{why}: {challenge}"
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{why}");
    }
    let none = client.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
}

/// OIDC Core §12.2: refreshing a grant that had `openid` answers a new ID token of the
/// same sign-in (iss, sub, aud, azp, auth_time, sid), issued now, with no nonce; a refresh
/// narrowed to leave `openid` out, and the rotated token's own refresh, behave the same
/// way the scope says.
#[tokio::test]
async fn a_refresh_of_an_openid_grant_brings_a_new_id_token_of_the_same_sign_in() {
    use crate::api::sso::{authorize_url, claims, redeem, sign_in};
    use std::time::Duration;
    let (app, secret) = app().await;
    let b = crate::api::browser();
    let (verifier, challenge) = pkce();
    let page = b
        .get(authorize_url(&app, "web", CB, &challenge, &[]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let done = sign_in(&app, &b, &page, tessera_test_support::PASSWORD).await;
    let code = param(&location(&done), "code").unwrap();
    let first: Value = redeem(&app, ("web", &secret), &code, CB, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let original = claims(first["id_token"].as_str().unwrap());
    assert_eq!(original["nonce"], "n-1");

    app.clock.advance(Duration::from_secs(120));
    let refresh = |token: String, scope: Option<&'static str>| {
        let app = &app;
        let secret = secret.clone();
        async move {
            let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", &token)];
            if let Some(s) = scope {
                form.push(("scope", s));
            }
            let res = app
                .post_form("/oauth/token", Some(("web", &secret)), &form)
                .await;
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    let second = refresh(first["refresh_token"].as_str().unwrap().to_owned(), None).await;
    let again = claims(second["id_token"].as_str().expect("an ID token on refresh"));
    for claim in ["iss", "sub", "aud", "azp", "auth_time", "sid"] {
        assert_eq!(again[claim], original[claim], "{claim}");
    }
    assert_eq!(again["azp"], "web");
    assert!(again["sid"].is_string());
    assert_eq!(
        again["iat"].as_i64().unwrap(),
        original["iat"].as_i64().unwrap() + 120,
        "issued now"
    );
    assert!(again.get("nonce").is_none(), "{again}");
    assert_eq!(again["preferred_username"], "alice", "the scope's claims");

    // The rotated token keeps the sign-in: its refresh brings one too.
    let third = refresh(second["refresh_token"].as_str().unwrap().to_owned(), None).await;
    assert_eq!(
        claims(third["id_token"].as_str().unwrap())["auth_time"],
        original["auth_time"]
    );
    // Narrowed to leave `openid` out: no ID token.
    let narrowed = refresh(
        third["refresh_token"].as_str().unwrap().to_owned(),
        Some("profile"),
    )
    .await;
    assert!(narrowed.get("id_token").is_none(), "{narrowed}");
}

/// A refresh whose ID token cannot be signed (the client's algorithm has no active key on
/// this replica) fails without consuming the refresh token: the client's retry, once the
/// key is back, succeeds instead of being taken for a replay that ends the family.
#[tokio::test]
async fn an_id_token_signing_failure_does_not_consume_the_refresh_token() {
    use crate::api::relying_party::activate_es256;
    use tessera_server::service::client::NewClient;
    let app = tessera_test_support::TestApp::spawn().await;
    app.create_user("alice", false).await;
    activate_es256(&app).await;
    let secret = app
        .create_client(NewClient {
            id: "rp-es".into(),
            redirect_uris: vec![CB.into()],
            first_party: true,
            id_token_alg: Some(tessera_token::Algorithm::ES256),
            ..NewClient::default()
        })
        .await
        .unwrap();
    let b = crate::api::browser();
    let tokens = app.code_flow(&b, ("rp-es", &secret), CB, "alice").await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    // The ES256 key is gone from this replica.
    for key in app.state.store.signing_keys().await.unwrap() {
        if key.alg.as_str() == "ES256" {
            app.state.store.delete_signing_key(&key.kid).await.unwrap();
        }
    }
    app.reload_keys().await;
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
    ];
    let refresh = || app.post_form("/oauth/token", Some(("rp-es", &secret)), &form);
    let failed = refresh().await;
    assert!(failed.status().is_server_error(), "{}", failed.status());
    activate_es256(&app).await;
    let retried = refresh().await;
    assert_eq!(
        retried.status(),
        200,
        "the same refresh token, not consumed"
    );
    let body: Value = retried.json().await.unwrap();
    assert!(body["id_token"].is_string());
}

/// Pushed authorization requests (RFC 9126): the client POSTs its request to /oauth/par
/// (authenticated; 201 with a `request_uri` good once for 60 s); the browser comes with
/// only `client_id` and `request_uri`, and the pushed values (state, nonce, PKCE, scope)
/// are the ones used. A used, expired or other client's `request_uri` is refused on the
/// page; PAR's own errors are JSON. A client registered with
/// `require_pushed_authorization_requests` cannot skip it. An unsigned `request` object
/// from a client that did not register `none` is `invalid_request_object` (jar.rs tests
/// request objects), and `request_uri`s not from PAR `request_uri_not_supported`, on the
/// redirect (before: both silently ignored).
#[tokio::test]
async fn pushed_authorization_requests_are_used_once_and_can_be_required() {
    use crate::api::sso::{hidden_inputs, redeem};
    use std::time::Duration;
    let (app, secret) = app().await;
    let (verifier, challenge) = pkce();
    let push = |extra: &[(&'static str, &str)]| {
        let mut form = request(&challenge, extra);
        form.push(("nonce", "pushed-nonce".into()));
        let secret = secret.clone();
        let app = &app;
        async move {
            app.client
                .post(app.url("/oauth/par"))
                .basic_auth("web", Some(&secret))
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let res = push(&[("state", "pushed-state")]).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["expires_in"], 60);
    let request_uri = body["request_uri"].as_str().unwrap().to_owned();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));

    let b = crate::api::browser();
    let by_reference = |uri: &str, client: &str| {
        let mut url = url::Url::parse(&app.url("/oauth/authorize")).unwrap();
        url.query_pairs_mut()
            .append_pair("client_id", client)
            .append_pair("request_uri", uri);
        url.to_string()
    };
    let page = b
        .get(by_reference(&request_uri, "web"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "the login page");
    let html = page.text().await.unwrap();
    let fields = hidden_inputs(&html);
    assert!(fields.contains(&("state".into(), "pushed-state".into())));
    let done = crate::api::sso::sign_in(&app, &b, &html, tessera_test_support::PASSWORD).await;
    let back = location(&done);
    assert_eq!(param(&back, "state").as_deref(), Some("pushed-state"));
    let code = param(&back, "code").unwrap();
    let tokens: Value = redeem(&app, ("web", &secret), &code, CB, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let id = crate::api::sso::claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], "pushed-nonce", "the pushed nonce");

    // Once only.
    let again = b
        .get(by_reference(&request_uri, "web"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
    // Expired after 60 s; another client's is refused too.
    let body: Value = push(&[]).await.json().await.unwrap();
    let stale = body["request_uri"].as_str().unwrap().to_owned();
    app.clock.advance(Duration::from_secs(61));
    assert_eq!(
        b.get(by_reference(&stale, "web"))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let body: Value = push(&[]).await.json().await.unwrap();
    let theirs = body["request_uri"].as_str().unwrap().to_owned();
    assert_eq!(
        b.get(by_reference(&theirs, "other"))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        b.get(by_reference(&theirs, "web"))
            .send()
            .await
            .unwrap()
            .status(),
        400,
        "and spent"
    );

    // PAR's own refusals, as JSON: no client authentication, a request_uri pushed, a
    // request the authorization endpoint would refuse.
    let res = app
        .client
        .post(app.url("/oauth/par"))
        .form(&request(&challenge, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    for (extra, code) in [
        (
            vec![("request_uri", "urn:ietf:params:oauth:request_uri:x")],
            "invalid_request",
        ),
        (
            vec![("redirect_uri", "https://evil.example.com/cb")],
            "invalid_request",
        ),
        (vec![("scope", "openid admin:everything")], "invalid_scope"),
        (
            vec![("request", "eyJhbGciOiJub25lIn0.e30.")],
            "invalid_request_object",
        ),
    ] {
        let res = push(&extra).await;
        assert_eq!(res.status(), 400, "{extra:?}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], code, "{extra:?}: {body}");
    }

    // An unsigned request object and other request_uris: refused on the redirect, with iss.
    for (extra, error) in [
        (
            ("request", "eyJhbGciOiJub25lIn0.e30."),
            "invalid_request_object",
        ),
        (
            ("request_uri", "https://rp.example.com/req.jwt"),
            "request_uri_not_supported",
        ),
    ] {
        let mut url = url::Url::parse(&app.url("/oauth/authorize")).unwrap();
        url.query_pairs_mut().extend_pairs(
            request(&challenge, &[extra])
                .iter()
                .map(|(k, v)| (*k, v.as_str())),
        );
        let res = b.get(url).send().await.unwrap();
        assert_eq!(res.status(), 302);
        let back = location(&res);
        assert_eq!(param(&back, "error").as_deref(), Some(error));
        assert_eq!(param(&back, "iss").as_deref(), Some(app.address.as_str()));
    }

    // A client that must push: the plain request is refused on the redirect, a pushed one
    // goes through.
    let strict = app
        .create_client(tessera_server::service::client::NewClient {
            id: "strict".into(),
            redirect_uris: vec![CB.into()],
            require_pushed_authorization_requests: true,
            first_party: true,
            ..tessera_server::service::client::NewClient::default()
        })
        .await
        .unwrap();
    let mut url = url::Url::parse(&app.url("/oauth/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs(
        request(&challenge, &[("client_id", "strict")])
            .iter()
            .map(|(k, v)| (*k, v.as_str())),
    );
    let res = b.get(url).send().await.unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(
        param(&location(&res), "error").as_deref(),
        Some("invalid_request")
    );
    let res = app
        .client
        .post(app.url("/oauth/par"))
        .basic_auth("strict", Some(&strict))
        .form(&request(&challenge, &[("client_id", "strict")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    let res = b
        .get(by_reference(
            body["request_uri"].as_str().unwrap(),
            "strict",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        302,
        "signed in already: straight back with a code"
    );
    assert!(param(&location(&res), "code").is_some());
}

/// A client that must push cannot use the login or consent form instead (its values
/// unpushed, with a CSRF token from another page), and a pushed request's values cannot be
/// altered in the forms (they carry Tessera's seal). Pushes are bounded: a request's
/// values at most 16 KiB, at most 1000 pending per client.
#[tokio::test]
async fn pushed_requests_stay_pushed_through_the_forms_and_are_bounded() {
    use crate::api::sso::{hidden_inputs, sign_in};
    use tessera_server::service::client::NewClient;
    let (app, secret) = app().await;
    let strict = app
        .create_client(NewClient {
            id: "strict".into(),
            redirect_uris: vec![CB.into()],
            require_pushed_authorization_requests: true,
            first_party: true,
            ..NewClient::default()
        })
        .await
        .unwrap();
    let (_, challenge) = pkce();
    let b = crate::api::browser();
    // A login page of another client gives the browser a CSRF token.
    let page = b
        .post(app.url("/oauth/authorize"))
        .form(&request(&challenge, &[]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut form: Vec<(String, String)> = hidden_inputs(&page)
        .into_iter()
        .map(|(k, v)| match k.as_str() {
            "client_id" => (k, "strict".to_owned()),
            _ => (k, v),
        })
        .collect();
    form.push(("username".into(), "alice".into()));
    form.push(("password".into(), tessera_test_support::PASSWORD.into()));
    let res = b
        .post(app.url("/oauth/authorize/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let back = location(&res);
    assert_eq!(param(&back, "error").as_deref(), Some("invalid_request"));
    assert!(param(&back, "code").is_none());
    let consent: Vec<(String, String)> = form
        .iter()
        .filter(|(k, _)| k != "username" && k != "password")
        .cloned()
        .chain([
            ("decision".into(), "approve".into()),
            ("ticket".into(), "x".into()),
        ])
        .collect();
    let res = b
        .post(app.url("/oauth/authorize/consent"))
        .form(&consent)
        .send()
        .await
        .unwrap();
    assert_eq!(
        param(&location(&res), "error").as_deref(),
        Some("invalid_request")
    );

    // Pushed, then altered in the form: refused on the page.
    let pushed: Value = app
        .client
        .post(app.url("/oauth/par"))
        .basic_auth("strict", Some(&strict))
        .form(&request(
            &challenge,
            &[("client_id", "strict"), ("scope", "openid")],
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut url = url::Url::parse(&app.url("/oauth/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", "strict")
        .append_pair("request_uri", pushed["request_uri"].as_str().unwrap());
    let fresh = crate::api::browser();
    let page = fresh.get(url).send().await.unwrap().text().await.unwrap();
    let altered = page.replace("value=\"openid\"", "value=\"openid profile email\"");
    assert_ne!(altered, page, "the scope field is there to alter");
    let res = sign_in(&app, &fresh, &altered, tessera_test_support::PASSWORD).await;
    assert_eq!(res.status(), 400, "the seal no longer matches");
    let res = sign_in(&app, &fresh, &page, tessera_test_support::PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert!(
        param(&location(&res), "code").is_some(),
        "unaltered, it goes through"
    );

    // Bounds.
    let long = "s".repeat(20_000);
    let res = app
        .client
        .post(app.url("/oauth/par"))
        .basic_auth("web", Some(&secret))
        .form(&request(&challenge, &[("state", &long)]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let now = tessera_token::Clock::unix(app.clock.as_ref());
    for i in 0..1000 {
        app.state
            .store
            .insert_pushed_request(&format!("h{i}"), "web", "{}", now + 60)
            .await
            .unwrap();
    }
    let res = app
        .client
        .post(app.url("/oauth/par"))
        .basic_auth("web", Some(&secret))
        .form(&request(&challenge, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503, "too many pending");
}

/// A form over the body limit is 413 on the browser surfaces too (the authorization
/// endpoint by POST, the login and consent forms, logout), as on the API (before: 400).
#[tokio::test]
async fn browser_forms_over_the_limit_get_413() {
    let (app, _) = app().await;
    let (_, challenge) = pkce();
    let big = "x".repeat(70 * 1024);
    let b = crate::api::browser();
    for path in [
        "/oauth/authorize",
        "/oauth/authorize/login",
        "/oauth/authorize/consent",
        "/oauth/logout",
    ] {
        let res = b
            .post(app.url(path))
            .form(&request(&challenge, &[("state", &big)]))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 413, "{path}");
    }
}
