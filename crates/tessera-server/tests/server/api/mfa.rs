//! Second factors over real HTTP, with codes computed by Debian's `oathtool` (oath-toolkit,
//! an RFC 6238 implementation independent of Tessera) at the server's clock: TOTP
//! enrolment and the Django API's `mfa_required` → `/auth/token/mfa/` contract, recovery
//! codes, replays, the attempt bound, the password grant's refusal, the browser's
//! second-factor page and step-up (`acr_values`), `amr`/`acr` in the tokens, and the
//! admin reset.

use crate::api::sso::{
    CB, authorize_url, claims, hidden_inputs, location, param, pkce, redeem, sign_in,
};
use crate::api::{assert_error, browser};
use serde_json::{Value, json};
use std::time::Duration;
use tessera_server::service::client::NewClient;
use tessera_test_support::{PASSWORD, TestApp};
use tessera_token::Clock as _;

/// The code `oathtool --totp` computes for `secret` (base32) at Unix time `at`; `None`
/// (the test is skipped) when oathtool is not installed, unless
/// `TESSERA_TEST_REQUIRE_OATHTOOL` is set (CI).
fn oathtool(secret: &str, at: i64) -> Option<String> {
    match std::process::Command::new("oathtool")
        .args(["--totp", "-b", secret, "-N", &format!("@{at}")])
        .output()
    {
        Ok(out) if out.status.success() => {
            Some(String::from_utf8(out.stdout).unwrap().trim().to_owned())
        }
        Ok(out) => panic!("oathtool failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(_) if std::env::var_os("TESSERA_TEST_REQUIRE_OATHTOOL").is_some() => {
            panic!("oathtool is required (apt-get install oathtool)")
        }
        Err(_) => {
            eprintln!("skipped: oathtool is not installed (apt-get install oathtool)");
            None
        }
    }
}

fn now(app: &TestApp) -> i64 {
    app.clock.unix()
}

/// The next 30-second step (a code of a step is accepted once).
fn next_step(app: &TestApp) {
    app.clock.advance(Duration::from_secs(30));
}

async fn post_bearer(app: &TestApp, path: &str, token: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Enrols TOTP for `username` through the API; the base32 secret and the recovery codes.
async fn enrol(app: &TestApp, username: &str) -> Option<(String, Vec<String>)> {
    let access = app.login(username).await.access;
    let res = post_bearer(
        app,
        "/auth/users/me/totp/",
        &access,
        json!({"current_password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let begun: Value = res.json().await.unwrap();
    let secret = begun["secret"].as_str().unwrap().to_owned();
    let code = oathtool(&secret, now(app))?;
    let res = post_bearer(
        app,
        "/auth/users/me/totp/confirm/",
        &access,
        json!({"code": code}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let done: Value = res.json().await.unwrap();
    let codes = done["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    next_step(app);
    Some((secret, codes))
}

async fn password_login(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/auth/token/",
        &json!({"username": username, "password": password}),
    )
    .await
}

async fn mfa(app: &TestApp, token: &str, code: &str) -> reqwest::Response {
    app.post_json(
        "/auth/token/mfa/",
        &json!({"mfa_token": token, "code": code}),
    )
    .await
}

#[tokio::test]
async fn totp_enrolment_then_the_django_api_asks_for_the_code() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let access = app.login("alice").await.access;
    // The current password is required, and checked.
    let res = post_bearer(&app, "/auth/users/me/totp/", &access, json!({})).await;
    assert_error(res, 400, "required").await;
    let res = post_bearer(
        &app,
        "/auth/users/me/totp/",
        &access,
        json!({"current_password": "nope"}),
    )
    .await;
    assert_error(res, 400, "invalid").await;
    let res = post_bearer(
        &app,
        "/auth/users/me/totp/",
        &access,
        json!({"current_password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let begun: Value = res.json().await.unwrap();
    let secret = begun["secret"].as_str().unwrap();
    let uri = url::Url::parse(begun["otpauth_url"].as_str().unwrap()).unwrap();
    assert_eq!(uri.scheme(), "otpauth");
    assert_eq!(param(&uri, "secret").as_deref(), Some(secret));
    // Not yet confirmed: logins still take the password alone.
    assert_eq!(password_login(&app, "alice", PASSWORD).await.status(), 200);
    // A wrong first code enrols nothing.
    let Some(code) = oathtool(secret, now(&app)) else {
        return;
    };
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let res = post_bearer(
        &app,
        "/auth/users/me/totp/confirm/",
        &access,
        json!({"code": wrong}),
    )
    .await;
    assert_error(res, 400, "invalid").await;
    assert_eq!(password_login(&app, "alice", PASSWORD).await.status(), 200);
    let res = post_bearer(
        &app,
        "/auth/users/me/totp/confirm/",
        &access,
        json!({"code": code}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let codes: Value = res.json().await.unwrap();
    assert_eq!(codes["recovery_codes"].as_array().unwrap().len(), 10);
    // Enrolled: the right password now answers mfa_required with a ticket.
    let res = password_login(&app, "alice", PASSWORD).await;
    let body = assert_error(res, 401, "mfa_required").await;
    assert_eq!(body["methods"], json!(["totp", "recovery_code"]));
    let ticket = body["mfa_token"].as_str().unwrap().to_owned();
    // The code that confirmed the enrolment was spent: the same step is refused.
    assert_error(mfa(&app, &ticket, &code).await, 401, "mfa_invalid").await;
    next_step(&app);
    let code = oathtool(secret, now(&app)).unwrap();
    let res = mfa(&app, &ticket, &code).await;
    assert_eq!(res.status(), 200);
    let pair: Value = res.json().await.unwrap();
    let access = claims(pair["access"].as_str().unwrap());
    assert_eq!(access["acr"], "aal2");
    assert_eq!(access["amr"], json!(["pwd", "otp", "mfa"]));
    assert!(access["auth_time"].is_i64());
    // The ticket is spent; the code too (a replay with a new ticket).
    assert_error(mfa(&app, &ticket, &code).await, 401, "mfa_token_invalid").await;
    let body = assert_error(
        password_login(&app, "alice", PASSWORD).await,
        401,
        "mfa_required",
    )
    .await;
    let again = body["mfa_token"].as_str().unwrap();
    assert_error(mfa(&app, again, &code).await, 401, "mfa_invalid").await;
    // A refresh keeps the level.
    let res = app
        .post_json("/auth/token/refresh/", &json!({"refresh": pair["refresh"]}))
        .await;
    assert_eq!(res.status(), 200);
    let refreshed: Value = res.json().await.unwrap();
    assert_eq!(claims(refreshed["access"].as_str().unwrap())["acr"], "aal2");
    // Removing it needs the password; then the password alone works again.
    let access = pair["access"].as_str().unwrap();
    let res = app
        .client
        .delete(app.url("/auth/users/me/totp/"))
        .bearer_auth(access)
        .json(&json!({"current_password": "nope"}))
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "invalid").await;
    let res = app
        .client
        .delete(app.url("/auth/users/me/totp/"))
        .bearer_auth(access)
        .json(&json!({"current_password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = password_login(&app, "alice", PASSWORD).await;
    assert_eq!(res.status(), 200);
    let pair: Value = res.json().await.unwrap();
    let access = claims(pair["access"].as_str().unwrap());
    assert_eq!(access["acr"], "aal1");
    assert_eq!(access["amr"], json!(["pwd"]));
}

#[tokio::test]
async fn recovery_codes_work_once_each() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let before = app.login("alice").await.access;
    let Some((_, codes)) = enrol(&app, "alice").await else {
        return;
    };
    // A password-only token (issued before the enrolment) died with the enrolment: it
    // cannot change the factors, even with the password.
    for (method, path) in [
        (reqwest::Method::POST, "/auth/users/me/recovery-codes/"),
        (reqwest::Method::DELETE, "/auth/users/me/totp/"),
    ] {
        let res = app
            .client
            .request(method, app.url(path))
            .bearer_auth(&before)
            .json(&json!({"current_password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_error(res, 401, "token_not_valid").await;
    }
    let body = assert_error(
        password_login(&app, "alice", PASSWORD).await,
        401,
        "mfa_required",
    )
    .await;
    let ticket = body["mfa_token"].as_str().unwrap();
    // Typed in upper case and without dashes: the same code.
    let typed = codes[0].replace('-', "").to_uppercase();
    let res = mfa(&app, ticket, &typed).await;
    assert_eq!(res.status(), 200);
    let access = claims(
        res.json::<Value>().await.unwrap()["access"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(access["acr"], "aal2");
    let body = assert_error(
        password_login(&app, "alice", PASSWORD).await,
        401,
        "mfa_required",
    )
    .await;
    let ticket = body["mfa_token"].as_str().unwrap();
    assert_error(mfa(&app, ticket, &codes[0]).await, 401, "mfa_invalid").await;
    assert_eq!(mfa(&app, ticket, &codes[1]).await.status(), 200);
}

#[tokio::test]
async fn a_wrong_password_answers_exactly_as_without_a_second_factor() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    app.create_user("bob", false).await;
    if enrol(&app, "alice").await.is_none() {
        return;
    }
    let with = password_login(&app, "alice", "wrong").await;
    let without = password_login(&app, "bob", "wrong").await;
    assert_eq!(with.status(), without.status());
    assert_eq!(
        with.headers()["www-authenticate"],
        without.headers()["www-authenticate"]
    );
    let (a, b): (Value, Value) = (with.json().await.unwrap(), without.json().await.unwrap());
    assert_eq!(a, b);
    assert_eq!(a["code"], "no_active_account");
}

#[tokio::test]
async fn an_mfa_token_takes_five_codes_and_only_its_users() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    app.create_user("bob", false).await;
    let Some((secret, _)) = enrol(&app, "alice").await else {
        return;
    };
    let Some((bob_secret, _)) = enrol(&app, "bob").await else {
        return;
    };
    // Ending the user's sessions voids a pending ticket.
    let body = assert_error(
        password_login(&app, "alice", PASSWORD).await,
        401,
        "mfa_required",
    )
    .await;
    let ticket = body["mfa_token"].as_str().unwrap().to_owned();
    let alice = app
        .state
        .store
        .user_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    app.state
        .store
        .end_user_sessions(alice.id, now(&app))
        .await
        .unwrap();
    let right = oathtool(&secret, now(&app)).unwrap();
    assert_error(mfa(&app, &ticket, &right).await, 401, "mfa_token_invalid").await;

    let body = assert_error(
        password_login(&app, "alice", PASSWORD).await,
        401,
        "mfa_required",
    )
    .await;
    let ticket = body["mfa_token"].as_str().unwrap().to_owned();
    // Bob's right code does not complete Alice's sign-in.
    let bobs = oathtool(&bob_secret, now(&app)).unwrap();
    assert_error(mfa(&app, &ticket, &bobs).await, 401, "mfa_invalid").await;
    for _ in 0..4 {
        assert_error(mfa(&app, &ticket, "12345").await, 401, "mfa_invalid").await;
    }
    // Five wrong codes: the ticket is dead, even for the right one.
    let right = oathtool(&secret, now(&app)).unwrap();
    assert_error(mfa(&app, &ticket, &right).await, 401, "mfa_token_invalid").await;
    // Made-up and missing tokens.
    assert_error(mfa(&app, "made-up", &right).await, 401, "mfa_token_invalid").await;
    let res = app
        .post_json("/auth/token/mfa/", &json!({"code": right}))
        .await;
    assert_error(res, 400, "required").await;
    // The wrong codes counted in the second factor's own throttle counters (a right
    // password does not clear them): the next code, even the right one, waits.
    let body = assert_error(
        password_login(&app, "alice", PASSWORD).await,
        401,
        "mfa_required",
    )
    .await;
    let ticket = body["mfa_token"].as_str().unwrap().to_owned();
    assert_error(mfa(&app, &ticket, &right).await, 429, "throttled").await;
    // Concurrent guesses cannot outrun the bound: 20 at once, at most 5 checked.
    app.create_user("carol", false).await;
    if enrol(&app, "carol").await.is_none() {
        return;
    }
    let body = assert_error(
        password_login(&app, "carol", PASSWORD).await,
        401,
        "mfa_required",
    )
    .await;
    let ticket = body["mfa_token"].as_str().unwrap().to_owned();
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (client, url, ticket) = (
            app.client.clone(),
            app.url("/auth/token/mfa/"),
            ticket.clone(),
        );
        guesses.spawn(async move {
            let code = format!("{:06}", 100_000 + i);
            let res = client
                .post(url)
                .json(&json!({"mfa_token": ticket, "code": code}))
                .send()
                .await;
            res.unwrap().json::<Value>().await.unwrap()
        });
    }
    let answers = guesses.join_all().await;
    let checked = answers
        .iter()
        .filter(|a| a["code"] == "mfa_invalid")
        .count();
    assert!(checked <= 5, "{checked} guesses were checked");
}

#[tokio::test]
async fn the_password_grant_is_refused_to_accounts_with_a_second_factor() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    app.create_user("bob", false).await;
    let secret = app
        .create_client(NewClient {
            id: "cli".into(),
            grants: vec!["password".into()],
            first_party: true,
            ..NewClient::default()
        })
        .await
        .unwrap();
    if enrol(&app, "alice").await.is_none() {
        return;
    }
    let grant = |user: &'static str| {
        let app = &app;
        let secret = secret.clone();
        async move {
            app.post_form(
                "/oauth/token",
                Some(("cli", secret.as_str())),
                &[
                    ("grant_type", "password"),
                    ("username", user),
                    ("password", PASSWORD),
                ],
            )
            .await
        }
    };
    let res = grant("alice").await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("browser")
    );
    let res = grant("bob").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["amr"],
        json!(["pwd"])
    );
}

#[tokio::test]
async fn staff_required_by_config_must_enrol_before_getting_tokens() {
    let app = TestApp::builder()
        .settings(|s| {
            s.mfa.required_for = vec![tessera_server::config::MfaRule::Staff];
        })
        .spawn()
        .await;
    app.create_user("root", true).await;
    app.create_user("alice", false).await;
    let res = password_login(&app, "root", PASSWORD).await;
    assert_error(res, 401, "mfa_enrollment_required").await;
    assert_eq!(password_login(&app, "alice", PASSWORD).await.status(), 200);
}

async fn web_client(app: &TestApp, require_mfa: bool) -> String {
    app.create_client(NewClient {
        id: "web".into(),
        name: Some("Orders".into()),
        redirect_uris: vec![CB.into()],
        first_party: true,
        require_mfa,
        ..NewClient::default()
    })
    .await
    .unwrap()
}

/// Posts the second-factor (or enrolment) form of `page` with `code`.
async fn post_code(
    app: &TestApp,
    b: &reqwest::Client,
    page: &str,
    action: &str,
    code: &str,
) -> reqwest::Response {
    let mut form = hidden_inputs(page);
    form.push(("code".into(), code.into()));
    b.post(app.url(action)).form(&form).send().await.unwrap()
}

#[tokio::test]
async fn the_browser_sign_in_asks_for_the_code_and_the_id_token_says_so() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let secret = web_client(&app, false).await;
    let Some((totp, _)) = enrol(&app, "alice").await else {
        return;
    };
    let b = browser();
    let (verifier, challenge) = pkce();
    let page = b
        .get(authorize_url(&app, "web", CB, &challenge, &[]))
        .send()
        .await
        .unwrap();
    let page = page.text().await.unwrap();
    let res = sign_in(&app, &b, &page, PASSWORD).await;
    assert_eq!(res.status(), 200, "the second-factor page, not a redirect");
    let page = res.text().await.unwrap();
    assert!(page.contains("name=\"code\""), "{page}");
    // No session yet: the authorization endpoint shows the login page again.
    let again = b
        .get(authorize_url(&app, "web", CB, &challenge, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert!(again.text().await.unwrap().contains("name=\"password\""));
    // A wrong code: the page again, 401.
    let res = post_code(&app, &b, &page, "/signin/second-factor", "000000").await;
    assert_eq!(res.status(), 401);
    let page = res.text().await.unwrap();
    let code = oathtool(&totp, now(&app)).unwrap();
    let res = post_code(&app, &b, &page, "/signin/second-factor", &code).await;
    assert_eq!(res.status(), 303);
    let back = location(&res);
    let code = param(&back, "code").unwrap();
    let res = redeem(&app, ("web", &secret), &code, CB, &verifier).await;
    assert_eq!(res.status(), 200);
    let tokens: Value = res.json().await.unwrap();
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["acr"], "aal2");
    assert_eq!(id["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(
        claims(tokens["access_token"].as_str().unwrap())["acr"],
        "aal2"
    );
}

#[tokio::test]
async fn acr_values_steps_up_a_password_session_with_enrolment() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let secret = web_client(&app, false).await;
    let b = browser();
    let (verifier, challenge) = pkce();
    // A password-only session first.
    let page = b
        .get(authorize_url(&app, "web", CB, &challenge, &[]))
        .send()
        .await
        .unwrap();
    let res = sign_in(&app, &b, &page.text().await.unwrap(), PASSWORD).await;
    assert_eq!(res.status(), 303);
    let code = param(&location(&res), "code").unwrap();
    let tokens: Value = redeem(&app, ("web", &secret), &code, CB, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let first = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(first["acr"], "aal1");
    // prompt=none cannot step up.
    let res = b
        .get(authorize_url(
            &app,
            "web",
            CB,
            &challenge,
            &[("acr_values", "aal2"), ("prompt", "none")],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        param(&location(&res), "error").as_deref(),
        Some("interaction_required")
    );
    // acr_values=aal2: the user has no second factor, so enrolment comes first.
    let res = b
        .get(authorize_url(
            &app,
            "web",
            CB,
            &challenge,
            &[("acr_values", "aal2")],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Enrolling needs the password again: a copy of the session cookie is not enough.
    let page = res.text().await.unwrap();
    assert!(page.contains("name=\"password\""), "the login page first");
    assert!(!page.contains("totp-secret"));
    let res = sign_in(&app, &b, &page, PASSWORD).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("<svg"), "an inline QR code");
    let secret_b32 = page
        .split("id=\"totp-secret\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let Some(code) = oathtool(&secret_b32, now(&app)) else {
        return;
    };
    let res = post_code(&app, &b, &page, "/signin/enrol", &code).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert_eq!(
        page.matches("<li><code>").count(),
        10,
        "the recovery codes, once"
    );
    let res = b
        .post(app.url("/signin/continue"))
        .form(&hidden_inputs(&page))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let code = param(&location(&res), "code").unwrap();
    let tokens: Value = redeem(&app, ("web", &secret), &code, CB, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["acr"], "aal2");
    assert_ne!(
        id["sid"], first["sid"],
        "enrolling ended every session: this browser goes on in a new one"
    );
    // Enrolled now: the Django API asks for the code too.
    assert_error(
        password_login(&app, "alice", PASSWORD).await,
        401,
        "mfa_required",
    )
    .await;
}

#[tokio::test]
async fn a_client_requiring_mfa_and_the_admin_reset() {
    let app = TestApp::spawn().await;
    let root = app.create_superuser("root").await;
    app.create_user("alice", false).await;
    let secret = web_client(&app, true).await;
    let Some((totp, _)) = enrol(&app, "alice").await else {
        return;
    };
    let b = browser();
    let (verifier, challenge) = pkce();
    let page = b
        .get(authorize_url(&app, "web", CB, &challenge, &[]))
        .send()
        .await
        .unwrap();
    let res = sign_in(&app, &b, &page.text().await.unwrap(), PASSWORD).await;
    let page = res.text().await.unwrap();
    let code = oathtool(&totp, now(&app)).unwrap();
    let res = post_code(&app, &b, &page, "/signin/second-factor", &code).await;
    let code = param(&location(&res), "code").unwrap();
    assert_eq!(
        redeem(&app, ("web", &secret), &code, CB, &verifier)
            .await
            .status(),
        200
    );
    // The admin API lists the factors, never their secrets, and resets them.
    let _ = root;
    let admin = app.login("root").await.access;
    let alice = app
        .state
        .store
        .user_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    let listed: Value = app
        .get_bearer(&format!("/admin/api/users/{}/factors", alice.id), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert!(listed["totp"]["enrolled_at"].is_i64(), "{listed}");
    assert_eq!(listed["recovery_codes"]["remaining"], 10);
    assert!(!listed.to_string().contains(&totp));
    let res = app
        .client
        .post(app.url(&format!("/admin/api/users/{}/factors/reset", alice.id)))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    // The browser session ended with it; the client still requires a second factor, so
    // the next sign-in enrols again.
    let page = b
        .get(authorize_url(&app, "web", CB, &challenge, &[]))
        .send()
        .await
        .unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("name=\"password\""));
    let res = sign_in(&app, &b, &page, PASSWORD).await;
    assert!(res.text().await.unwrap().contains("id=\"totp-secret\""));
    // Audited.
    let events: Value = app
        .get_bearer("/admin/api/audit", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert!(events.to_string().contains("mfa.reset"), "{events}");
}

#[tokio::test]
async fn tickets_serve_where_they_were_issued_and_one_at_a_time() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let Some((secret, _)) = enrol(&app, "alice").await else {
        return;
    };
    let first = assert_error(
        password_login(&app, "alice", PASSWORD).await,
        401,
        "mfa_required",
    )
    .await;
    let first = first["mfa_token"].as_str().unwrap().to_owned();
    let second = assert_error(
        password_login(&app, "alice", PASSWORD).await,
        401,
        "mfa_required",
    )
    .await;
    let second = second["mfa_token"].as_str().unwrap().to_owned();
    let code = oathtool(&secret, now(&app)).unwrap();
    // A new login replaced the first ticket.
    assert_error(mfa(&app, &first, &code).await, 401, "mfa_token_invalid").await;
    // An API ticket is no browser ticket: as the second-factor cookie it is refused.
    let b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = b
        .post(app.url("/signin/second-factor"))
        .header("cookie", format!("tessera_mfa={second}"))
        .form(&[("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), 200);
    assert!(
        res.headers()
            .get("set-cookie")
            .is_none_or(|c| !c.to_str().unwrap().starts_with("tessera_session="))
    );
    // Still good where it was issued.
    assert_eq!(mfa(&app, &second, &code).await.status(), 200);
}

#[tokio::test]
async fn a_family_refreshes_no_more_once_an_admin_requires_a_second_factor() {
    let app = TestApp::spawn().await;
    app.create_superuser("root").await;
    let alice = app.create_user("alice", false).await;
    let pair = app.login("alice").await;
    let admin = app.login("root").await.access;
    let res = app
        .client
        .patch(app.url(&format!("/admin/api/users/{}", alice.id)))
        .bearer_auth(&admin)
        .json(&json!({"mfa_required": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["mfa_required"], true);
    let res = app
        .post_json("/auth/token/refresh/", &json!({"refresh": pair.refresh}))
        .await;
    assert_error(res, 401, "token_not_valid").await;
    // And the next login must enrol (the API cannot show a QR code).
    assert_error(
        password_login(&app, "alice", PASSWORD).await,
        401,
        "mfa_enrollment_required",
    )
    .await;
}

/// The account page's security section: set up, the recovery codes once, new codes,
/// removal; each with the password, over the SSO session.
#[tokio::test]
async fn the_account_page_sets_up_and_removes_an_authenticator() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let b = browser();
    let page = b
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut form = hidden_inputs(&page);
    form.push(("username".into(), "alice".into()));
    form.push(("password".into(), PASSWORD.into()));
    let res = b
        .post(app.url("/account/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let page = b
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"security\"") && page.contains("id=\"totp-setup\""),
        "{page}"
    );
    let csrf = hidden_inputs(&page)
        .into_iter()
        .find(|(k, _)| k == "csrf")
        .unwrap()
        .1;
    // The password is required.
    let res = b
        .post(app.url("/account/totp"))
        .form(&[("csrf", csrf.as_str()), ("current_password", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = b
        .post(app.url("/account/totp"))
        .form(&[("csrf", csrf.as_str()), ("current_password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    let secret = page
        .split("id=\"totp-secret\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let Some(code) = oathtool(&secret, now(&app)) else {
        return;
    };
    // A wrong first code shows the same secret again.
    let res = post_code(&app, &b, &page, "/account/totp/confirm", "000000").await;
    assert_eq!(res.status(), 401);
    let page = res.text().await.unwrap();
    assert!(page.contains(&secret));
    let res = post_code(&app, &b, &page, "/account/totp/confirm", &code).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert_eq!(page.matches("<li><code>").count(), 10);
    let res = b
        .post(app.url("/signin/continue"))
        .form(&hidden_inputs(&page))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    // This browser goes on at aal2 in a new session; the page says so.
    let page = b
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Authenticator app: added"), "{page}");
    assert!(page.contains("Recovery codes left: 10"));
    let csrf = hidden_inputs(&page)
        .into_iter()
        .find(|(k, _)| k == "csrf")
        .unwrap()
        .1;
    let res = b
        .post(app.url("/account/recovery-codes"))
        .form(&[("csrf", csrf.as_str()), ("current_password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap().matches("<li><code>").count(), 10);
    assert_error(
        password_login(&app, "alice", PASSWORD).await,
        401,
        "mfa_required",
    )
    .await;
    let res = b
        .post(app.url("/account/totp/remove"))
        .form(&[("csrf", csrf.as_str()), ("current_password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(password_login(&app, "alice", PASSWORD).await.status(), 200);
    // Without the CSRF token nothing changes.
    let res = b
        .post(app.url("/account/totp"))
        .form(&[("current_password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

/// With mail configured, the user hears of every change to their factors (an
/// authenticator added by someone else who had the password is then no secret).
#[tokio::test]
async fn factor_changes_are_mailed_to_the_user() {
    let Some(smtp) = tessera_test_support::smtp::Smtp::start().await else {
        return;
    };
    let url = smtp.url.clone();
    let app = TestApp::builder()
        .settings(move |s| s.mail.smtp_url = Some(tessera_proto::Secret::new(&url)))
        .spawn()
        .await;
    app.create_superuser("root").await;
    let alice = app.create_user("alice", false).await;
    if enrol(&app, "alice").await.is_none() {
        return;
    }
    let added = smtp.wait_for(&alice.email, 1).await.remove(0);
    assert!(added.subject().contains("turned on"), "{}", added.subject());
    assert!(!added.body().contains("otpauth"), "no secret in the mail");
    let admin = app.login("root").await.access;
    let res = app
        .client
        .post(app.url(&format!("/admin/api/users/{}/factors/reset", alice.id)))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let reset = smtp.wait_for(&alice.email, 2).await.remove(1);
    assert!(reset.subject().contains("reset"), "{}", reset.subject());
}

/// An admin whom the policy asks a second factor of administers only from a sign-in that
/// used it: a token from before the requirement is refused by the admin API.
#[tokio::test]
async fn the_admin_api_wants_aal2_from_admins_who_must_use_a_second_factor() {
    let app = TestApp::spawn().await;
    app.create_superuser("root").await;
    let staff = app.create_user("staff", true).await;
    let staff_token = app.login("staff").await.access;
    assert_eq!(
        app.get_bearer("/admin/api/users", &staff_token)
            .await
            .status(),
        200
    );
    let root = app.login("root").await.access;
    let res = app
        .client
        .patch(app.url(&format!("/admin/api/users/{}", staff.id)))
        .bearer_auth(&root)
        .json(&json!({"mfa_required": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app.get_bearer("/admin/api/users", &staff_token).await;
    assert_error(res, 403, "permission_denied").await;
}

/// The Flask-style `GET /login` (Basic) answers `mfa_required` as `/auth/token/` does; the
/// ticket completes at `/auth/token/mfa/`.
#[tokio::test]
async fn the_flask_style_login_asks_for_the_second_factor_too() {
    let app = TestApp::builder()
        .settings(|s| {
            s.signup.enabled = true;
            s.mail.smtp_url = Some(tessera_proto::Secret::new("smtp://127.0.0.1:9"));
        })
        .spawn()
        .await;
    app.create_user("alice", false).await;
    let Some((secret, _)) = enrol(&app, "alice").await else {
        return;
    };
    let res = app
        .client
        .get(app.url("/login"))
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body = assert_error(res, 401, "mfa_required").await;
    let code = oathtool(&secret, now(&app)).unwrap();
    let res = mfa(&app, body["mfa_token"].as_str().unwrap(), &code).await;
    assert_eq!(res.status(), 200);
}

/// "End every session of this user" covers what a second factor gave: the pair from
/// `/auth/token/mfa/` dies with the rest.
#[tokio::test]
async fn ending_every_session_ends_what_a_second_factor_gave() {
    let app = TestApp::spawn().await;
    app.create_superuser("root").await;
    let alice = app.create_user("alice", false).await;
    let Some((_, codes)) = enrol(&app, "alice").await else {
        return;
    };
    let body = assert_error(
        password_login(&app, "alice", PASSWORD).await,
        401,
        "mfa_required",
    )
    .await;
    let res = mfa(&app, body["mfa_token"].as_str().unwrap(), &codes[0]).await;
    let pair: Value = res.json().await.unwrap();
    let access = pair["access"].as_str().unwrap();
    assert_eq!(
        app.get_bearer("/auth/users/me/", access).await.status(),
        200
    );
    let admin = app.login("root").await.access;
    let res = app
        .client
        .post(app.url(&format!("/admin/api/users/{}/logout", alice.id)))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_error(
        app.get_bearer("/auth/users/me/", access).await,
        401,
        "token_not_valid",
    )
    .await;
    let res = app
        .post_json("/auth/token/refresh/", &json!({"refresh": pair["refresh"]}))
        .await;
    assert_error(res, 401, "token_not_valid").await;
}
