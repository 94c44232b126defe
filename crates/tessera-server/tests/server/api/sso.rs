//! Browser SSO over real HTTP with a cookie-keeping client: authorize → login page →
//! code → token (PKCE) → ID token; consent; a second client through the SSO session;
//! prompt, max_age, code replay, userinfo, discovery, logout, and the refusals.

use crate::api::browser;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use std::time::Duration;
use tessera_server::service::client::NewClient;
use tessera_test_support::{PASSWORD, TestApp};

pub(crate) const CB: &str = "https://app.example.com/cb";
/// The client's registered `post_logout_redirect_uris` (not a redirect URI).
pub(crate) const BYE: &str = "https://app.example.com/bye";
const OTHER_CB: &str = "https://other.example.com/return";

pub(crate) fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode([7u8; 40]);
    let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ));
    (verifier, challenge)
}

pub(crate) async fn setup() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let secret = app
        .create_client(NewClient {
            id: "web".into(),
            name: Some("Orders".into()),
            redirect_uris: vec![CB.into()],
            post_logout_redirect_uris: vec![BYE.into()],
            first_party: true,
            ..NewClient::default()
        })
        .await
        .unwrap();
    (app, secret)
}

pub(crate) fn authorize_url(
    app: &TestApp,
    client_id: &str,
    redirect: &str,
    challenge: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut url = url::Url::parse(&app.url("/oauth/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", "openid profile")
        .append_pair("state", "st-1")
        .append_pair("nonce", "n-1")
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.to_string()
}

pub(crate) fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The hidden inputs of the page's form.
pub(crate) fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|rest| {
            let name = rest
                .split("name=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            let value = rest
                .split("value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            (unescape(name), unescape(value))
        })
        .collect()
}

pub(crate) fn location(res: &reqwest::Response) -> url::Url {
    url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap()
}

pub(crate) fn param(url: &url::Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Posts the login form of `page` with `password`.
pub(crate) async fn sign_in(
    app: &TestApp,
    browser: &reqwest::Client,
    page: &str,
    password: &str,
) -> reqwest::Response {
    let mut form = hidden_inputs(page);
    form.push(("username".into(), "alice".into()));
    form.push(("password".into(), password.into()));
    browser
        .post(app.url("/oauth/authorize/login"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

pub(crate) fn claims(jwt: &str) -> Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}

pub(crate) async fn redeem(
    app: &TestApp,
    client: (&str, &str),
    code: &str,
    redirect: &str,
    verifier: &str,
) -> reqwest::Response {
    app.post_form(
        "/oauth/token",
        Some(client),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ],
    )
    .await
}

#[tokio::test]
async fn the_code_flow_signs_in_once_and_issues_verified_tokens() {
    let (app, secret) = setup().await;
    let b = browser();
    let (verifier, challenge) = pkce();

    let page = b
        .get(authorize_url(&app, "web", CB, &challenge, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let h = page.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    let csp = h["content-security-policy"].to_str().unwrap().to_owned();
    assert!(
        csp.contains("frame-ancestors 'none'")
            && csp.contains("form-action 'self' https://app.example.com"),
        "{csp}"
    );
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("Orders"), "the client's name is shown");
    assert!(!html.contains("<script"), "no JavaScript");

    let wrong = sign_in(&app, &b, &html, "not the password").await;
    assert_eq!(wrong.status(), 401);
    let wrong_html = wrong.text().await.unwrap();
    assert!(wrong_html.contains("username or password is not correct"));
    assert!(
        wrong_html.contains("value=\"alice\""),
        "the username is kept"
    );

    let done = sign_in(&app, &b, &wrong_html, PASSWORD).await;
    assert_eq!(done.status(), 303);
    let cookie = done
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("tessera_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "http issuer: no Secure flag");
    let back = location(&done);
    assert_eq!(
        format!(
            "{}://{}{}",
            back.scheme(),
            back.host_str().unwrap(),
            back.path()
        ),
        CB
    );
    assert_eq!(param(&back, "state").as_deref(), Some("st-1"));
    assert_eq!(param(&back, "iss").as_deref(), Some(app.address.as_str()));
    let code = param(&back, "code").unwrap();

    let res = redeem(&app, ("web", &secret), &code, CB, &verifier).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let tokens: Value = res.json().await.unwrap();
    assert_eq!(tokens["scope"], "openid profile");
    let access = tokens["access_token"].as_str().unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    assert!(tokens["refresh_token"].is_string());

    // The ID token verifies against the JWKS, with every claim OpenID Connect asks for.
    let jwks: jsonwebtoken::jwk::JwkSet =
        tessera_test_support::get_json(&app.client, &app.url("/.well-known/jwks.json"))
            .await
            .pipe(serde_json::from_value)
            .unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&["web"]);
    validation.set_issuer(&[app.address.as_str()]);
    let verified = jsonwebtoken::decode::<Value>(
        id_token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(verified["sub"], "1");
    assert_eq!(verified["nonce"], "n-1");
    assert_eq!(verified["preferred_username"], "alice");
    assert_eq!(verified["name"], "First Last");
    assert!(verified.get("email").is_none(), "no email scope, no email");
    assert!(verified["auth_time"].is_i64() && verified["sid"].is_string());
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access.as_bytes());
    assert_eq!(
        verified["at_hash"],
        URL_SAFE_NO_PAD.encode(&hash.as_ref()[..16])
    );
    assert_eq!(claims(access)["client_id"], "web");

    // UserInfo, by GET and by POST.
    for post in [false, true] {
        let req = if post {
            app.client.post(app.url("/oauth/userinfo"))
        } else {
            app.client.get(app.url("/oauth/userinfo"))
        };
        let info: Value = req
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(info["sub"], "1");
        assert_eq!(info["preferred_username"], "alice");
    }

    // The same browser, again: no login page, straight back with a code (SSO).
    let again = b
        .get(authorize_url(&app, "web", CB, &challenge, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 302);
    assert!(param(&location(&again), "code").is_some());

    // Replaying the first code fails and revokes what it gave.
    let replay = redeem(&app, ("web", &secret), &code, CB, &verifier).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(
        replay.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    // Introspection, since this token is for `web` (verify checks the Django audience).
    let live: Value = app
        .post_form(
            "/oauth/introspect",
            Some(("web", &secret)),
            &[("token", access)],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        live["active"], false,
        "the replayed code's access token is revoked"
    );
    let refresh = app
        .post_form(
            "/oauth/token",
            Some(("web", &secret)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(refresh.status(), 400, "and its refresh family");
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl<T> Pipe for T {}

#[tokio::test]
async fn a_third_party_client_asks_for_consent_once_through_the_same_session() {
    let (app, _) = setup().await;
    app.create_client(NewClient {
        id: "partner".into(),
        name: Some("Partner App".into()),
        redirect_uris: vec![OTHER_CB.into()],
        scopes: vec!["openid".into(), "email".into()],
        ..NewClient::default()
    })
    .await;
    let b = browser();
    let (_, challenge) = pkce();
    // Sign in through the first-party client.
    let page = b
        .get(authorize_url(&app, "web", CB, &challenge, &[]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(sign_in(&app, &b, &page, PASSWORD).await.status(), 303);

    let ask = |extra: &'static [(&'static str, &'static str)]| {
        let mut url =
            url::Url::parse(&authorize_url(&app, "partner", OTHER_CB, &challenge, extra)).unwrap();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "scope" {
                    "openid email".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
        url.to_string()
    };
    let consent = b.get(ask(&[])).send().await.unwrap();
    assert_eq!(consent.status(), 200, "no second login, but a consent page");
    let html = consent.text().await.unwrap();
    assert!(
        html.contains("Partner App")
            && html.contains("e-mail address")
            && html.contains("Signed in as alice")
    );

    // Deny → access_denied at the client.
    let mut deny = hidden_inputs(&html);
    deny.push(("decision".into(), "deny".into()));
    let denied = b
        .post(app.url("/oauth/authorize/consent"))
        .form(&deny)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 303);
    assert_eq!(
        param(&location(&denied), "error").as_deref(),
        Some("access_denied")
    );

    // A forged form (no matching CSRF token) decides nothing.
    let mut forged = hidden_inputs(&html);
    forged.retain(|(k, _)| k != "csrf");
    forged.push(("csrf".into(), "x".repeat(43)));
    forged.push(("decision".into(), "approve".into()));
    let refused = b
        .post(app.url("/oauth/authorize/consent"))
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 200, "the consent page again");

    let mut approve = hidden_inputs(&html);
    approve.push(("decision".into(), "approve".into()));
    let approved = b
        .post(app.url("/oauth/authorize/consent"))
        .form(&approve)
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 303);
    assert!(param(&location(&approved), "code").is_some());
    // Remembered: the next request goes straight through, even with prompt=none.
    let next = b.get(ask(&[("prompt", "none")])).send().await.unwrap();
    assert_eq!(next.status(), 302);
    assert!(param(&location(&next), "code").is_some());
    // prompt=consent asks again.
    assert_eq!(
        b.get(ask(&[("prompt", "consent")]))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn prompt_and_max_age_decide_when_to_log_in_again() {
    let (app, _) = setup().await;
    let (_, challenge) = pkce();
    let fresh = browser();
    let none = fresh
        .get(authorize_url(
            &app,
            "web",
            CB,
            &challenge,
            &[("prompt", "none")],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 302);
    let back = location(&none);
    assert_eq!(param(&back, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&back, "state").as_deref(), Some("st-1"));

    let b = browser();
    let page = b
        .get(authorize_url(&app, "web", CB, &challenge, &[]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    sign_in(&app, &b, &page, PASSWORD).await;
    let login_again = b
        .get(authorize_url(
            &app,
            "web",
            CB,
            &challenge,
            &[("prompt", "login")],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        login_again.status(),
        200,
        "prompt=login shows the login page"
    );
    app.clock.advance(Duration::from_secs(120));
    let old = b
        .get(authorize_url(
            &app,
            "web",
            CB,
            &challenge,
            &[("max_age", "60")],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        old.status(),
        200,
        "an authentication older than max_age logs in again"
    );
    let recent = b
        .get(authorize_url(
            &app,
            "web",
            CB,
            &challenge,
            &[("max_age", "600")],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(recent.status(), 302);
}

#[tokio::test]
async fn bad_authorization_requests_never_redirect_to_an_unregistered_uri() {
    let (app, secret) = setup().await;
    app.create_client(NewClient {
        id: "spa".into(),
        public: true,
        redirect_uris: vec!["http://localhost:3000/cb".into()],
        ..NewClient::default()
    })
    .await;
    let b = browser();
    let (verifier, challenge) = pkce();

    for (client, redirect) in [
        ("ghost", CB),
        ("web", "https://evil.example.com/cb"),
        ("web", "https://app.example.com/cb/extra"),
        ("web", "https://app.example.com/cb?x=1"),
    ] {
        let res = b
            .get(authorize_url(&app, client, redirect, &challenge, &[]))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{client} {redirect}");
        assert!(res.headers().get("location").is_none());
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
    let redirected = |res: &reqwest::Response| param(&location(res), "error");
    let plain = b
        .get(authorize_url(&app, "web", CB, &challenge, &[]).replace("S256", "plain"))
        .send()
        .await
        .unwrap();
    assert_eq!(redirected(&plain).as_deref(), Some("invalid_request"));
    let no_pkce = url::Url::parse(&authorize_url(
        &app,
        "spa",
        "http://localhost:3000/cb",
        &challenge,
        &[],
    ))
    .unwrap();
    let pairs: Vec<(String, String)> = no_pkce
        .query_pairs()
        .filter(|(k, _)| !k.starts_with("code_challenge"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut no_pkce = no_pkce.clone();
    no_pkce.query_pairs_mut().clear().extend_pairs(pairs);
    let res = b.get(no_pkce.to_string()).send().await.unwrap();
    assert_eq!(
        redirected(&res).as_deref(),
        Some("invalid_request"),
        "public clients must use PKCE"
    );
    let scope = b
        .get(
            authorize_url(&app, "web", CB, &challenge, &[])
                .replace("openid+profile", "openid+admin"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(redirected(&scope).as_deref(), Some("invalid_scope"));
    let token = b
        .get(
            authorize_url(&app, "web", CB, &challenge, &[])
                .replace("response_type=code", "response_type=token"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        redirected(&token).as_deref(),
        Some("unsupported_response_type")
    );

    // Codes: wrong verifier, wrong redirect, another client, expired.
    let page = b
        .get(authorize_url(&app, "web", CB, &challenge, &[]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let code_of = |res: reqwest::Response| param(&location(&res), "code").unwrap();
    let code = code_of(sign_in(&app, &b, &page, PASSWORD).await);
    let bad = redeem(
        &app,
        ("web", &secret),
        &code,
        CB,
        &URL_SAFE_NO_PAD.encode([9u8; 40]),
    )
    .await;
    assert_eq!(bad.json::<Value>().await.unwrap()["error"], "invalid_grant");
    let code = code_of(
        b.get(authorize_url(&app, "web", CB, &challenge, &[]))
            .send()
            .await
            .unwrap(),
    );
    let missing = app
        .post_form(
            "/oauth/token",
            Some(("web", &secret)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CB),
            ],
        )
        .await;
    assert_eq!(
        missing.json::<Value>().await.unwrap()["error"],
        "invalid_grant",
        "a PKCE code without its verifier"
    );
    let code = code_of(
        b.get(authorize_url(&app, "web", CB, &challenge, &[]))
            .send()
            .await
            .unwrap(),
    );
    let bad = redeem(
        &app,
        ("web", &secret),
        &code,
        "https://app.example.com/other",
        &verifier,
    )
    .await;
    assert_eq!(bad.json::<Value>().await.unwrap()["error"], "invalid_grant");
    let code = code_of(
        b.get(authorize_url(&app, "web", CB, &challenge, &[]))
            .send()
            .await
            .unwrap(),
    );
    let public = app
        .post_form(
            "/oauth/token",
            None,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "spa"),
                ("code", &code),
                ("redirect_uri", CB),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(
        public.json::<Value>().await.unwrap()["error"],
        "invalid_grant",
        "another client's code"
    );
    let code = code_of(
        b.get(authorize_url(&app, "web", CB, &challenge, &[]))
            .send()
            .await
            .unwrap(),
    );
    app.clock.advance(Duration::from_secs(61));
    let late = redeem(&app, ("web", &secret), &code, CB, &verifier).await;
    assert_eq!(
        late.json::<Value>().await.unwrap()["error"],
        "invalid_grant",
        "codes live 60 s"
    );
}

#[tokio::test]
async fn userinfo_refuses_what_it_should() {
    let (app, _) = setup().await;
    let none = app
        .client
        .get(app.url("/oauth/userinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);
    assert!(
        none.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let bad = app
        .client
        .get(app.url("/oauth/userinfo"))
        .bearer_auth("nonsense")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    assert!(
        bad.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    // A token without the openid scope (the Django API issues none).
    let django = app.login("alice").await;
    let res = app
        .client
        .get(app.url("/oauth/userinfo"))
        .bearer_auth(&django.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
}

#[tokio::test]
async fn discovery_describes_what_the_server_does() {
    let (app, _) = setup().await;
    let doc =
        tessera_test_support::get_json(&app.client, &app.url("/.well-known/openid-configuration"))
            .await;
    assert_eq!(doc["issuer"], app.address);
    for key in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
        "pushed_authorization_request_endpoint",
    ] {
        let url = doc[key].as_str().unwrap();
        assert!(url.starts_with(&app.address), "{key}");
        let res = app.client.get(url).send().await.unwrap();
        assert_ne!(res.status(), 404, "{key} is served");
    }
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(doc["id_token_signing_alg_values_supported"][0], "RS256");
    assert!(
        doc["grant_types_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == "client_credentials")
    );
    assert_eq!(doc["require_pushed_authorization_requests"], false);
    assert_eq!(doc["request_parameter_supported"], true);
    assert_eq!(doc["request_uri_parameter_supported"], false);
    assert_eq!(
        doc["request_object_signing_alg_values_supported"],
        serde_json::json!(["RS256", "PS256", "ES256", "EdDSA", "none"])
    );
    // Logout: every flavour the logout tests exercise (tests/api/logout.rs).
    for key in [
        "backchannel_logout_supported",
        "backchannel_logout_session_supported",
        "frontchannel_logout_supported",
        "frontchannel_logout_session_supported",
    ] {
        assert_eq!(doc[key], true, "{key}");
    }
}

/// A logout without proof that the relying party speaks for the session (no
/// `id_token_hint`, or one Tessera did not sign for this user) asks the user first; the
/// confirmation needs the page's CSRF token. One with the session user's ID token ends the
/// session at once. Either way, back only to a registered URI.
#[tokio::test]
async fn logout_ends_the_session_and_returns_only_to_registered_uris() {
    let (app, secret) = setup().await;
    let b = browser();
    let (verifier, challenge) = pkce();
    let signed_in = |b: reqwest::Client| {
        let app = &app;
        let challenge = challenge.clone();
        async move {
            let res = b
                .get(authorize_url(app, "web", CB, &challenge, &[]))
                .send()
                .await
                .unwrap();
            res.status()
        }
    };
    let page = b
        .get(authorize_url(&app, "web", CB, &challenge, &[]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let done = sign_in(&app, &b, &page, PASSWORD).await;
    let code = param(&location(&done), "code").unwrap();
    let tokens: Value = redeem(&app, ("web", &secret), &code, CB, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();

    // A plain link (an <img> elsewhere) only shows the question.
    let evil = b.get(app.url("/oauth/logout?client_id=web&post_logout_redirect_uri=https%3A%2F%2Fevil.example.com%2F")).send().await.unwrap();
    assert_eq!(evil.status(), 200);
    let question = evil.text().await.unwrap();
    assert!(question.contains("Sign out of Tessera?"), "{question}");
    assert_eq!(signed_in(b.clone()).await, 302, "still signed in");
    // A forged hint (someone else's claims, unsigned) is no proof either.
    let forged = format!(
        "eyJhbGciOiJub25lIn0.{}.",
        URL_SAFE_NO_PAD.encode(format!(
            r#"{{"iss":"{}","sub":"1","aud":"web"}}"#,
            app.address
        ))
    );
    let res = b
        .get(app.url(&format!("/oauth/logout?id_token_hint={forged}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(signed_in(b.clone()).await, 302, "still signed in");
    // The confirmation needs the page's token: not a value the sender picked.
    let fields = hidden_inputs(&question);
    let forged_form = b
        .post(app.url("/oauth/logout"))
        .form(&[("csrf", "x".repeat(43)), ("client_id", "web".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged_form.status(), 403);
    assert_eq!(signed_in(b.clone()).await, 302, "still signed in");
    // Confirmed: signed out; the unregistered URI gets the signed-out page.
    let confirmed = b
        .post(app.url("/oauth/logout"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(
        confirmed.status(),
        200,
        "not redirected to an unregistered URI"
    );
    assert!(confirmed.text().await.unwrap().contains("Signed out"));
    assert_eq!(
        signed_in(b.clone()).await,
        200,
        "the session ended: the login page"
    );

    // Signed in again; the relying party's ID token of this session ends it at once, but
    // a redirect URI is not a post-logout redirect URI: the signed-out page. An ID token
    // of an earlier session of the same user proves less: the question.
    let again = |b: reqwest::Client| {
        let (app, secret) = (&app, secret.clone());
        async move {
            let (verifier, challenge) = pkce();
            let page = b
                .get(authorize_url(app, "web", CB, &challenge, &[]))
                .send()
                .await
                .unwrap();
            let done = sign_in(app, &b, &page.text().await.unwrap(), PASSWORD).await;
            let code = param(&location(&done), "code").unwrap();
            let tokens: Value = redeem(app, ("web", &secret), &code, CB, &verifier)
                .await
                .json()
                .await
                .unwrap();
            tokens["id_token"].as_str().unwrap().to_owned()
        }
    };
    let logout_to = |id_token: &str, uri: &str| {
        app.url(&format!(
            "/oauth/logout?id_token_hint={id_token}&state=bye&post_logout_redirect_uri={}",
            url::form_urlencoded::byte_serialize(uri.as_bytes()).collect::<String>()
        ))
    };
    let fresh = again(b.clone()).await;
    let old = b.get(logout_to(&id_token, BYE)).send().await.unwrap();
    assert_eq!(old.status(), 200, "an earlier session's ID token asks");
    assert!(old.text().await.unwrap().contains("Sign out of Tessera?"));
    let out = b.get(logout_to(&fresh, CB)).send().await.unwrap();
    assert_eq!(out.status(), 200, "not back to a redirect URI");
    assert_eq!(signed_in(b.clone()).await, 200, "but signed out");
    let fresh = again(b.clone()).await;
    let out = b.get(logout_to(&fresh, BYE)).send().await.unwrap();
    assert_eq!(out.status(), 302);
    assert!(location(&out).as_str().starts_with(BYE));
    assert_eq!(param(&location(&out), "state").as_deref(), Some("bye"));
    assert_eq!(
        signed_in(b.clone()).await,
        200,
        "logged out: the login page again"
    );
}

#[tokio::test]
async fn the_login_page_throttles_failed_sign_ins() {
    let (app, _) = setup().await;
    let browser = browser();
    let (_, challenge) = pkce();
    let url = authorize_url(&app, "web", CB, &challenge, &[]);
    let mut page = browser
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for _ in 0..5 {
        let res = sign_in(&app, &browser, &page, "wrong-password").await;
        assert_eq!(res.status(), 401);
        page = res.text().await.unwrap();
    }
    let res = sign_in(&app, &browser, &page, tessera_test_support::PASSWORD).await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "1");
    let html = res.text().await.unwrap();
    assert!(html.contains("Too many failed sign-ins"), "{html}");
}

#[tokio::test]
async fn a_user_restricted_to_other_services_is_refused_with_access_denied() {
    let (app, _secret) = setup().await;
    let mut alice = app
        .state
        .store
        .user_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    alice.services = Some(vec!["billing".into()]);
    app.state
        .store
        .update_user_profile(&alice, 0)
        .await
        .unwrap();
    let b = browser();
    let (_, challenge) = pkce();
    let html = b
        .get(authorize_url(&app, "web", CB, &challenge, &[]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let res = sign_in(&app, &b, &html, PASSWORD).await;
    assert_eq!(res.status(), 303);
    let back = location(&res);
    assert!(back.as_str().starts_with(CB), "{back}");
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&back, "state").as_deref(), Some("st-1"));
    assert!(param(&back, "code").is_none());
}
