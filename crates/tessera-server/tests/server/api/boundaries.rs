//! Token boundaries: every route that takes a bearer token, walked with every kind of token
//! (README "Which tokens each route accepts"); "end every session of this user" for every
//! issuing path; the consent form, codes, introspection callers and client registrations.

use crate::api::browser;
use crate::api::sso::{CB, authorize_url, hidden_inputs, location, param, pkce, redeem};
use serde_json::{Value, json};
use std::time::Duration;
use tessera_server::service::client::NewClient;
use tessera_test_support::{PASSWORD, TestApp};

const PARTNER_CB: &str = "https://partner.example.com/cb";

/// The kinds of token the README's table has a column for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `/auth/token/` (Tessera's own sign-in).
    Django,
    /// A third-party client's code-flow token.
    ThirdParty,
    /// A first-party client's code-flow token (no admin scope).
    FirstParty,
    /// A first-party client's code-flow token with `tessera:admin`.
    FirstPartyAdmin,
    /// A client's code-flow token, the client granted the `tessera` audience.
    Granted,
    /// A client-credentials token.
    Service,
    /// A refresh token (of `/auth/token/`).
    Refresh,
    /// An ID token.
    IdToken,
}

const KINDS: [Kind; 8] = [
    Kind::Django,
    Kind::ThirdParty,
    Kind::FirstParty,
    Kind::FirstPartyAdmin,
    Kind::Granted,
    Kind::Service,
    Kind::Refresh,
    Kind::IdToken,
];

/// Clients: `web` (first party, may hold the admin scope), `partner` (third party),
/// `granted` (third party, granted the `tessera` audience), `billing` (client
/// credentials), `rs` (a resource server that introspects).
async fn setup() -> (TestApp, Secrets) {
    // Sign-up on (the Flask-style aliases are part of the table); it needs a mail server
    // configured, and no test here sends mail: nothing listens on the discard port.
    let app = TestApp::builder()
        .settings(|s| {
            s.signup.enabled = true;
            s.mail.smtp_url = Some(tessera_proto::Secret::new(String::from(
                "smtp://127.0.0.1:9",
            )));
        })
        .spawn()
        .await;
    app.create_superuser("root").await;
    app.create_user("alice", false).await;
    let web = app
        .create_client(NewClient {
            id: "web".into(),
            redirect_uris: vec![CB.into()],
            scopes: vec!["openid".into(), "profile".into(), "tessera:admin".into()],
            first_party: true,
            ..NewClient::default()
        })
        .await
        .unwrap();
    let partner = app
        .create_client(NewClient {
            id: "partner".into(),
            name: Some("Partner".into()),
            redirect_uris: vec![PARTNER_CB.into()],
            scopes: vec!["openid".into(), "profile".into()],
            ..NewClient::default()
        })
        .await
        .unwrap();
    let granted = app
        .create_client(NewClient {
            id: "granted".into(),
            redirect_uris: vec![PARTNER_CB.into()],
            scopes: vec!["openid".into(), "profile".into()],
            audiences: vec!["tessera".into()],
            ..NewClient::default()
        })
        .await
        .unwrap();
    let billing = app
        .create_client(NewClient {
            id: "billing".into(),
            grants: vec!["client_credentials".into()],
            scopes: vec!["read".into()],
            ..NewClient::default()
        })
        .await
        .unwrap();
    let rs = app
        .create_client(NewClient {
            id: "rs".into(),
            grants: vec!["client_credentials".into()],
            scopes: vec!["introspect".into()],
            ..NewClient::default()
        })
        .await
        .unwrap();
    (
        app,
        Secrets {
            web,
            partner,
            granted,
            billing,
            rs,
        },
    )
}

struct Secrets {
    web: String,
    partner: String,
    granted: String,
    billing: String,
    rs: String,
}

/// Signs `username` in through the browser flow of `client` with `scope`, approving the
/// consent page when one comes; returns the token response.
pub(crate) async fn code_flow(
    app: &TestApp,
    client: (&str, &str),
    redirect: &str,
    username: &str,
    scope: &str,
) -> Value {
    let b = browser();
    let (verifier, challenge) = pkce();
    // authorize_url names `scope=openid profile`: this flow asks for `scope` instead.
    let url = authorize_url(app, client.0, redirect, &challenge, &[("scope", scope)])
        .replace("scope=openid+profile&", "");
    let page = b.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200, "the login page");
    let mut form = hidden_inputs(&page.text().await.unwrap());
    form.push(("username".into(), username.into()));
    form.push(("password".into(), PASSWORD.into()));
    let mut res = b
        .post(app.url("/oauth/authorize/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    if res.status() == 200 {
        let mut form = hidden_inputs(&res.text().await.unwrap());
        form.push(("decision".into(), "approve".into()));
        res = b
            .post(app.url("/oauth/authorize/consent"))
            .form(&form)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(res.status(), 303, "back to the client");
    let code = param(&location(&res), "code").expect("a code");
    let res = redeem(app, client, &code, redirect, &verifier).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn access(v: &Value) -> String {
    v["access_token"].as_str().unwrap().to_owned()
}

/// One token of each kind, all of the superuser `root` (or of the client).
async fn tokens(app: &TestApp, s: &Secrets) -> Vec<(Kind, String)> {
    let pair = app.login("root").await;
    let third = code_flow(app, ("partner", &s.partner), PARTNER_CB, "root", "openid").await;
    let first = code_flow(app, ("web", &s.web), CB, "root", "openid profile").await;
    let admin = code_flow(app, ("web", &s.web), CB, "root", "openid tessera:admin").await;
    let granted = code_flow(app, ("granted", &s.granted), PARTNER_CB, "root", "openid").await;
    let service = app.service_token("billing", &s.billing).await;
    vec![
        (Kind::Django, pair.access),
        (Kind::ThirdParty, access(&third)),
        (Kind::FirstParty, access(&first)),
        (Kind::FirstPartyAdmin, access(&admin)),
        (Kind::Granted, access(&granted)),
        (Kind::Service, service),
        (Kind::Refresh, pair.refresh),
        (
            Kind::IdToken,
            third["id_token"].as_str().unwrap().to_owned(),
        ),
    ]
}

/// A route of the README's table and how it is called with a token.
#[derive(Debug, Clone, Copy)]
enum Route {
    AdminUsers,
    AdminCreateClient,
    UsersMe,
    UserById,
    SetPassword,
    SetEmail,
    TotpBegin,
    TotpConfirm,
    TotpRemove,
    RecoveryCodes,
    FlaskProfile,
    UserInfo,
    Verify,
    Introspect,
}

async fn call(app: &TestApp, s: &Secrets, route: Route, token: &str) -> reqwest::Response {
    let c = &app.client;
    match route {
        Route::AdminUsers => c.get(app.url("/admin/api/users")).bearer_auth(token),
        Route::AdminCreateClient => c
            .post(app.url("/admin/api/clients"))
            .bearer_auth(token)
            .json(&json!({"client_id": "evil", "grants": ["client_credentials"]})),
        Route::UsersMe => c.get(app.url("/auth/users/me/")).bearer_auth(token),
        Route::UserById => c.get(app.url("/auth/users/1/")).bearer_auth(token),
        Route::SetPassword => c
            .post(app.url("/auth/users/set_password/"))
            .bearer_auth(token)
            .json(&json!({"current_password": "not it", "new_password": "a new long passphrase"})),
        Route::SetEmail => c
            .post(app.url("/auth/users/set_email/"))
            .bearer_auth(token)
            .json(&json!({"current_password": "not it", "new_email": "new@example.com"})),
        // The right password (a wrong one would count in the throttle): an accepted
        // token begins an enrolment (201), which confirm then finds (a wrong code: 400).
        Route::TotpBegin => c
            .post(app.url("/auth/users/me/totp/"))
            .bearer_auth(token)
            .json(&json!({"current_password": tessera_test_support::PASSWORD})),
        Route::TotpConfirm => c
            .post(app.url("/auth/users/me/totp/confirm/"))
            .bearer_auth(token)
            .json(&json!({"code": "123456"})),
        // Nothing confirmed: an accepted token reaches "not enrolled" (404).
        Route::TotpRemove => c
            .delete(app.url("/auth/users/me/totp/"))
            .bearer_auth(token)
            .json(&json!({"current_password": tessera_test_support::PASSWORD})),
        Route::RecoveryCodes => c
            .post(app.url("/auth/users/me/recovery-codes/"))
            .bearer_auth(token)
            .json(&json!({"current_password": tessera_test_support::PASSWORD})),
        Route::FlaskProfile => c.get(app.url("/user/profile")).bearer_auth(token),
        Route::UserInfo => c.get(app.url("/oauth/userinfo")).bearer_auth(token),
        Route::Verify => c
            .post(app.url("/auth/token/verify/"))
            .json(&json!({"token": token})),
        Route::Introspect => c
            .post(app.url("/oauth/introspect"))
            .basic_auth("rs", Some(&s.rs))
            .form(&[("token", token)]),
    }
    .send()
    .await
    .unwrap()
}

/// The README's table: the status each route answers each kind with. Introspection
/// answers 200 to all; `active` is checked separately.
fn expected(route: Route, kind: Kind) -> u16 {
    use Kind::*;
    match route {
        Route::AdminUsers => match kind {
            Django | FirstPartyAdmin => 200,
            _ => 401,
        },
        Route::AdminCreateClient => match kind {
            Django | FirstPartyAdmin => 201,
            _ => 401,
        },
        Route::UsersMe | Route::UserById | Route::FlaskProfile => match kind {
            Django | Granted => 200,
            _ => 401,
        },
        // An accepted token reaches the password check (wrong current password: 400).
        Route::SetPassword | Route::SetEmail => match kind {
            Django | Granted => 400,
            _ => 401,
        },
        Route::TotpBegin => match kind {
            Django | Granted => 201,
            _ => 401,
        },
        Route::TotpRemove | Route::RecoveryCodes => match kind {
            Django | Granted => 404,
            _ => 401,
        },
        // An accepted token reaches the code check (nothing pending: 400).
        Route::TotpConfirm => match kind {
            Django | Granted => 400,
            _ => 401,
        },
        Route::UserInfo => match kind {
            ThirdParty | FirstParty | FirstPartyAdmin | Granted => 200,
            // A user's token without the openid scope (RFC 6750 insufficient_scope).
            Django => 403,
            _ => 401,
        },
        Route::Verify => match kind {
            Django | Granted | Service => 200,
            _ => 401,
        },
        Route::Introspect => 200,
    }
}

#[tokio::test]
async fn every_route_accepts_exactly_the_tokens_the_readme_says() {
    let (app, s) = setup().await;
    let all = tokens(&app, &s).await;
    let routes = [
        Route::AdminUsers,
        Route::UsersMe,
        Route::UserById,
        Route::FlaskProfile,
        Route::UserInfo,
        Route::Verify,
        Route::Introspect,
        Route::SetPassword,
        Route::SetEmail,
        // Removal first, while nothing is enrolled (it would cancel the pending one).
        Route::TotpRemove,
        Route::RecoveryCodes,
        Route::TotpBegin,
        Route::TotpConfirm,
    ];
    let mut wrong = Vec::new();
    for route in routes {
        for (kind, token) in &all {
            let res = call(&app, &s, route, token).await;
            let status = res.status().as_u16();
            let challenged = res.headers().get("www-authenticate").is_some();
            let body = res.text().await.unwrap_or_default();
            if status != expected(route, *kind) {
                wrong.push(format!("{route:?} × {kind:?}: {status} {body}"));
            } else if status == 401 {
                assert!(
                    challenged,
                    "{route:?} × {kind:?}: 401 without WWW-Authenticate"
                );
            }
            if let Route::Introspect = route {
                let body: Value = serde_json::from_str(&body).unwrap();
                let active = !matches!(kind, Kind::IdToken);
                assert_eq!(body["active"], active, "{kind:?}: {body}");
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(KINDS.len(), all.len(), "every kind walked");

    // The admin API's writes, last (each success makes a client).
    for (kind, token) in &all {
        let status = call(&app, &s, Route::AdminCreateClient, token)
            .await
            .status()
            .as_u16();
        assert_eq!(
            status,
            expected(Route::AdminCreateClient, *kind),
            "{kind:?}"
        );
        if status == 201 {
            let gone = app
                .client
                .delete(app.url("/admin/api/clients/evil"))
                .bearer_auth(&all[0].1)
                .send()
                .await
                .unwrap();
            assert_eq!(gone.status(), 204);
        }
    }
}

#[tokio::test]
async fn tokens_carry_the_audience_of_the_client_they_were_issued_to() {
    let (app, s) = setup().await;
    let all = tokens(&app, &s).await;
    let aud = |kind: Kind| {
        let token = &all.iter().find(|(k, _)| *k == kind).unwrap().1;
        crate::api::sso::claims(token)["aud"].clone()
    };
    assert_eq!(aud(Kind::Django), "tessera");
    assert_eq!(aud(Kind::ThirdParty), "partner");
    assert_eq!(aud(Kind::FirstParty), "web");
    assert_eq!(aud(Kind::Granted), json!(["granted", "tessera"]));
    assert_eq!(aud(Kind::Service), "tessera");
    // Introspection reports the token's own audience.
    let body: Value = call(&app, &s, Route::Introspect, &all[1].1)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["aud"], "partner");
}

#[tokio::test]
async fn the_admin_scope_is_for_first_party_clients_only() {
    let (app, _) = setup().await;
    let root = app.login("root").await.access;
    let refused = app
        .client
        .post(app.url("/admin/api/clients"))
        .bearer_auth(&root)
        .json(
            &json!({"client_id": "sneaky", "redirect_uris": [PARTNER_CB],
                      "scopes": ["openid", "tessera:admin"]}),
        )
        .send()
        .await
        .unwrap();
    crate::api::assert_error(refused, 400, "invalid").await;
}

/// Every way a user token is issued, for `alice`: `/auth/token/`, `GET /login` (no
/// refresh row), a code-flow token of a client without the refresh grant, a password
/// grant token, a token from a refresh rotation, and the refresh token itself.
async fn every_issued_token(app: &TestApp, s: &Secrets, no_refresh: &str) -> Vec<(String, String)> {
    let pair = app.login("alice").await;
    let flask = app
        .client
        .get(app.url("/login"))
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(flask.status(), 200);
    assert_eq!(flask.headers()["cache-control"], "no-store");
    let flask: Value = flask.json().await.unwrap();
    let code = code_flow(app, ("oneshot", no_refresh), PARTNER_CB, "alice", "openid").await;
    assert!(code.get("refresh_token").is_none() || code["refresh_token"].is_null());
    let password = app
        .post_form(
            "/oauth/token",
            Some(("web", &s.web)),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
                ("scope", "openid"),
            ],
        )
        .await;
    let password: Value = password.json().await.unwrap();
    let rotated: Value = app
        .post_json("/auth/token/refresh/", &json!({"refresh": pair.refresh}))
        .await
        .json()
        .await
        .unwrap();
    vec![
        ("/auth/token/".into(), pair.access),
        (
            "GET /login".into(),
            flask["token"].as_str().unwrap().to_owned(),
        ),
        ("code flow without refresh".into(), access(&code)),
        (
            "password grant".into(),
            password["access_token"].as_str().unwrap().to_owned(),
        ),
        (
            "password grant refresh".into(),
            password["refresh_token"].as_str().unwrap().to_owned(),
        ),
        (
            "rotated access".into(),
            rotated["access"].as_str().unwrap().to_owned(),
        ),
        (
            "rotated refresh".into(),
            rotated["refresh"].as_str().unwrap().to_owned(),
        ),
    ]
}

async fn active(app: &TestApp, s: &Secrets, token: &str) -> bool {
    let body: Value = call(app, s, Route::Introspect, token)
        .await
        .json()
        .await
        .unwrap();
    body["active"] == true
}

async fn setup_issuing() -> (TestApp, Secrets, String) {
    let (app, s) = setup().await;
    let no_refresh = app
        .create_client(NewClient {
            id: "oneshot".into(),
            redirect_uris: vec![PARTNER_CB.into()],
            grants: vec!["authorization_code".into()],
            scopes: vec!["openid".into()],
            first_party: true,
            ..NewClient::default()
        })
        .await
        .unwrap();
    // `web` may use the password grant for this test.
    let root = app.login("root").await.access;
    let gone = app
        .client
        .delete(app.url("/admin/api/clients/web"))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    app.clock.advance(Duration::from_secs(1));
    let web = app
        .create_client(NewClient {
            id: "web".into(),
            redirect_uris: vec![CB.into()],
            grants: vec!["password".into(), "refresh_token".into()],
            scopes: vec!["openid".into()],
            first_party: true,
            ..NewClient::default()
        })
        .await
        .unwrap();
    (app, Secrets { web, ..s }, no_refresh)
}

/// Ends alice's sessions by `how`, then checks that every token issued before is dead and
/// that a new login works.
async fn ends_every_token(how: &str) {
    let (app, s, no_refresh) = setup_issuing().await;
    let issued = every_issued_token(&app, &s, &no_refresh).await;
    for (path, token) in &issued {
        assert!(active(&app, &s, token).await, "{path}: live before");
    }
    let root = app.login("root").await.access;
    let alice_token = issued[0].1.clone();
    let res = match how {
        "admin logout" => {
            app.client
                .post(app.url("/admin/api/users/2/logout"))
                .bearer_auth(&root)
                .send()
                .await
        }
        "admin password" => {
            app.client
                .post(app.url("/admin/api/users/2/password"))
                .bearer_auth(&root)
                .json(&json!({"password": "another long passphrase"}))
                .send()
                .await
        }
        "own password" => {
            app.client
                .post(app.url("/auth/users/set_password/"))
                .bearer_auth(&alice_token)
                .json(&json!({"current_password": PASSWORD,
                              "new_password": "another long passphrase"}))
                .send()
                .await
        }
        "disable and enable" => {
            for active in [false, true] {
                let res = app
                    .client
                    .patch(app.url("/admin/api/users/2"))
                    .bearer_auth(&root)
                    .json(&json!({"is_active": active}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
            }
            app.client.get(app.url("/healthz")).send().await
        }
        other => panic!("{other}"),
    }
    .unwrap();
    assert!(res.status().is_success(), "{how}: {}", res.status());
    let mut alive = Vec::new();
    for (path, token) in &issued {
        if active(&app, &s, token).await {
            alive.push(path.clone());
        }
    }
    assert!(alive.is_empty(), "{how}: still live: {alive:?}");
    // The Django API refuses the old access token too, on every surface.
    for route in [Route::UsersMe, Route::Verify, Route::FlaskProfile] {
        let res = call(&app, &s, route, &alice_token).await;
        assert_eq!(res.status(), 401, "{how}: {route:?}");
    }
    // A new sign-in (in the same second) works.
    if how.ends_with("password") {
        return;
    }
    let fresh = app.login("alice").await.access;
    assert!(active(&app, &s, &fresh).await, "{how}: a new token works");
}

#[tokio::test]
async fn logging_a_user_out_everywhere_ends_tokens_from_every_issuing_path() {
    ends_every_token("admin logout").await;
}

#[tokio::test]
async fn an_admin_password_set_ends_tokens_from_every_issuing_path() {
    ends_every_token("admin password").await;
}

#[tokio::test]
async fn the_users_own_password_change_ends_tokens_from_every_issuing_path() {
    ends_every_token("own password").await;
}

#[tokio::test]
async fn disabling_then_enabling_a_user_does_not_revive_their_tokens() {
    ends_every_token("disable and enable").await;
}

#[tokio::test]
async fn ending_sessions_voids_codes_not_yet_redeemed() {
    let (app, s) = setup().await;
    let b = browser();
    let (verifier, challenge) = pkce();
    let page = b
        .get(authorize_url(&app, "web", CB, &challenge, &[]))
        .send()
        .await
        .unwrap();
    let mut form = hidden_inputs(&page.text().await.unwrap());
    form.push(("username".into(), "alice".into()));
    form.push(("password".into(), PASSWORD.into()));
    let res = b
        .post(app.url("/oauth/authorize/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let code = param(&location(&res), "code").unwrap();
    let root = app.login("root").await.access;
    let res = app
        .client
        .post(app.url("/admin/api/users/2/logout"))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = redeem(&app, ("web", &s.web), &code, CB, &verifier).await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
}

/// A browser in which alice signed in to `partner`, and the consent page it was shown.
async fn consent_page(app: &TestApp) -> (reqwest::Client, reqwest::Response) {
    let b = browser();
    let (_, challenge) = pkce();
    let page = b
        .get(authorize_url(app, "partner", PARTNER_CB, &challenge, &[]))
        .send()
        .await
        .unwrap();
    let mut form = hidden_inputs(&page.text().await.unwrap());
    form.push(("username".into(), "alice".into()));
    form.push(("password".into(), PASSWORD.into()));
    let consent = b
        .post(app.url("/oauth/authorize/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(consent.status(), 200, "the consent page");
    (b, consent)
}

#[tokio::test]
async fn the_consent_form_posted_directly_goes_through_prompt_login_and_max_age() {
    let (app, _) = setup().await;
    for extra in [("prompt", "login"), ("max_age", "60")] {
        let (b, _) = consent_page(&app).await;
        app.clock.advance(Duration::from_secs(3600));
        let (_, challenge) = pkce();
        // The page the attacker's link would show (a login page: the session is an hour old).
        let url = authorize_url(&app, "partner", PARTNER_CB, &challenge, &[extra]);
        let page = b.get(&url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("name=\"password\""),
            "{extra:?}: the login page"
        );
        // Posted straight to the consent form instead, with the same request and CSRF token.
        let mut form = hidden_inputs(&html);
        form.push(("decision".into(), "approve".into()));
        let res = b
            .post(app.url("/oauth/authorize/consent"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_ne!(
            res.status(),
            303,
            "{extra:?}: no code without signing in again"
        );
        let html = res.text().await.unwrap();
        assert!(
            html.contains("name=\"password\""),
            "{extra:?}: the login page again"
        );
    }
}

#[tokio::test]
async fn a_consent_ticket_is_bound_to_its_request() {
    let (app, _) = setup().await;
    let (b, consent) = consent_page(&app).await;
    let mut form = hidden_inputs(&consent.text().await.unwrap());
    assert!(
        form.iter().any(|(k, _)| k == "ticket"),
        "the page carries a ticket"
    );
    // The same ticket for another scope: the consent page again, not a code.
    for (k, v) in &mut form {
        if k == "scope" {
            *v = "openid".into();
        }
    }
    form.push(("decision".into(), "approve".into()));
    let res = b
        .post(app.url("/oauth/authorize/consent"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "asked again");
    // Its own ticket works.
    let mut form = hidden_inputs(&res.text().await.unwrap());
    form.push(("decision".into(), "approve".into()));
    let res = b
        .post(app.url("/oauth/authorize/consent"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(param(&location(&res), "code").is_some());
}

#[tokio::test]
async fn staff_cannot_grant_roles_groups_or_services() {
    let (app, _) = setup().await;
    app.create_user("staffer", true).await;
    let staff = app.login("staffer").await.access;
    let root = app.login("root").await.access;
    for extra in [
        json!({"roles": ["billing:admin"]}),
        json!({"groups": ["finance"]}),
        json!({"services": ["partner"]}),
    ] {
        let mut body = json!({"username": "mallory", "email": "m@example.com",
                              "password": "a long enough passphrase"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let res = app
            .client
            .post(app.url("/admin/api/users"))
            .bearer_auth(&staff)
            .json(&body)
            .send()
            .await
            .unwrap();
        crate::api::assert_error(res, 403, "permission_denied").await;
        let res = app
            .client
            .patch(app.url("/admin/api/users/2"))
            .bearer_auth(&staff)
            .json(&extra)
            .send()
            .await
            .unwrap();
        crate::api::assert_error(res, 403, "permission_denied").await;
        let res = app
            .client
            .patch(app.url("/admin/api/users/2"))
            .bearer_auth(&root)
            .json(&extra)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "a superuser may");
    }
    // alice now holds grants: staff may not touch her account any more (setting her
    // password would let them sign in with her roles).
    for (method, path, body) in [
        (
            "POST",
            "/admin/api/users/2/password",
            json!({"password": "staff chose this one"}),
        ),
        ("PATCH", "/admin/api/users/2", json!({"first_name": "Al"})),
        ("PATCH", "/admin/api/users/2", json!({"is_active": false})),
        ("POST", "/admin/api/users/2/logout", json!({})),
        ("DELETE", "/admin/api/users/2", json!({})),
    ] {
        let res = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .bearer_auth(&staff)
            .json(&body)
            .send()
            .await
            .unwrap();
        crate::api::assert_error(res, 403, "permission_denied").await;
    }
    // Staff still create plain users and edit names.
    let res = app
        .client
        .post(app.url("/admin/api/users"))
        .bearer_auth(&staff)
        .json(&json!({"username": "bob", "email": "bob@example.com",
                      "password": "a long enough passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

#[tokio::test]
async fn introspection_refuses_public_clients() {
    let (app, _) = setup().await;
    app.create_client(NewClient {
        id: "spa".into(),
        public: true,
        redirect_uris: vec![PARTNER_CB.into()],
        ..NewClient::default()
    })
    .await;
    let refresh = app.login("alice").await.refresh;
    let res = app
        .client
        .post(app.url("/oauth/introspect"))
        .form(&[("client_id", "spa"), ("token", refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().get("www-authenticate").is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(body.get("username").is_none());
}

#[tokio::test]
async fn client_ids_that_could_name_a_user_are_refused() {
    let (app, _) = setup().await;
    let root = app.login("root").await.access;
    for id in ["1", "007", "1_0", "1e3", "1.0", "0x1F", "-1"] {
        let res = app
            .client
            .post(app.url("/admin/api/clients"))
            .bearer_auth(&root)
            .json(&json!({"client_id": id, "grants": ["client_credentials"]}))
            .send()
            .await
            .unwrap();
        crate::api::assert_error(res, 400, "invalid").await;
    }
}

#[tokio::test]
async fn a_client_registered_again_does_not_revive_its_old_tokens() {
    let (app, s) = setup().await;
    let old = app.service_token("billing", &s.billing).await;
    let user_old = code_flow(&app, ("partner", &s.partner), PARTNER_CB, "alice", "openid").await;
    let root = app.login("root").await.access;
    for id in ["billing", "partner"] {
        let res = app
            .client
            .delete(app.url(&format!("/admin/api/clients/{id}")))
            .bearer_auth(&root)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
    }
    // Registered again within the same second as the deletion (and the old tokens' issue).
    let billing = app
        .create_client(NewClient {
            id: "billing".into(),
            grants: vec!["client_credentials".into()],
            scopes: vec!["read".into()],
            ..NewClient::default()
        })
        .await
        .unwrap();
    app.create_client(NewClient {
        id: "partner".into(),
        redirect_uris: vec![PARTNER_CB.into()],
        scopes: vec!["openid".into()],
        ..NewClient::default()
    })
    .await;
    assert!(!active(&app, &s, &old).await, "the old service token");
    assert_eq!(call(&app, &s, Route::Verify, &old).await.status(), 401);
    assert!(
        !active(&app, &s, &access(&user_old)).await,
        "the old user token"
    );
    let userinfo = call(&app, &s, Route::UserInfo, &access(&user_old)).await;
    assert_eq!(userinfo.status(), 401);
    // The new registration counts from the next second.
    app.clock.advance(Duration::from_secs(1));
    let new = app.service_token("billing", &billing).await;
    assert!(active(&app, &s, &new).await, "the new registration's token");
}

#[tokio::test]
async fn the_flask_login_alias_is_off_with_sign_up() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let res = app
        .client
        .get(app.url("/login"))
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    crate::api::assert_error(res, 404, "not_found").await;
}

#[tokio::test]
async fn django_api_token_answers_are_not_cached() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let res = app
        .post_json(
            "/auth/token/",
            &json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    let pair: Value = res.json().await.unwrap();
    let res = app
        .post_json("/auth/token/refresh/", &json!({"refresh": pair["refresh"]}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
}

/// The races of "end every session" with a browser sign-in, replayed in order: the session
/// row or the code row lands just after the user's sessions were ended, carrying the
/// epoch read before. Neither may give a token.
#[tokio::test]
async fn a_session_or_code_stored_just_after_the_sessions_ended_is_void() {
    let (app, s) = setup().await;
    let store = app.state.store.as_ref();
    let before = store.user_by_username("alice").await.unwrap().unwrap();
    let root = app.login("root").await.access;
    let res = app
        .client
        .post(app.url("/admin/api/users/2/logout"))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);

    // A sign-in that read the user before, and stores its session after.
    let (cookie, session) = tessera_server::service::sso::session::start(
        &app.state,
        &before,
        &tessera_server::domain::authn::Methods::one(
            tessera_server::domain::authn::Method::Password,
            0,
        ),
    )
    .await
    .unwrap();
    let (_, challenge) = pkce();
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(authorize_url(&app, "web", CB, &challenge, &[]))
        .header("cookie", format!("tessera_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the login page: that session is void");
    assert!(res.text().await.unwrap().contains("name=\"password\""));

    // A code issued from a session read before, stored after.
    let (verifier, challenge) = pkce();
    store
        .insert_code(&tessera_server::store::AuthCode {
            code_hash: tessera_server::domain::digest::sha256_hex("late-code"),
            client_id: "web".into(),
            user_id: before.id,
            redirect_uri: CB.into(),
            scope: "openid".into(),
            nonce: None,
            code_challenge: Some(challenge),
            sid: session.sid.clone(),
            auth_time: session.auth_time,
            expires_at: tessera_token::Clock::unix(app.clock.as_ref()) + 60,
            session_epoch: before.session_epoch,
            methods: String::new(),
        })
        .await
        .unwrap();
    let res = redeem(&app, ("web", &s.web), "late-code", CB, &verifier).await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
}

#[tokio::test]
async fn a_consent_ticket_does_not_carry_over_to_prompt_login_or_max_age() {
    let (app, _) = setup().await;
    let (b, consent) = consent_page(&app).await;
    let form = hidden_inputs(&consent.text().await.unwrap());
    app.clock.advance(Duration::from_secs(120));
    for extra in [("prompt", "login"), ("max_age", "0"), ("state", "other")] {
        let mut form = form.clone();
        form.retain(|(k, _)| k != extra.0);
        form.push((extra.0.into(), extra.1.into()));
        form.push(("decision".into(), "approve".into()));
        let res = b
            .post(app.url("/oauth/authorize/consent"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{extra:?}: decided again, no code");
    }
}

#[tokio::test]
async fn verify_takes_only_the_django_apis_own_refresh_tokens() {
    let app = TestApp::builder()
        .settings(|s| s.tokens.verify_accepts_refresh = true)
        .spawn()
        .await;
    app.create_user("alice", false).await;
    let web = app
        .create_client(NewClient {
            id: "thirdparty".into(),
            grants: vec!["password".into(), "refresh_token".into()],
            scopes: vec!["openid".into()],
            ..NewClient::default()
        })
        .await
        .unwrap();
    let pair: Value = app
        .post_form(
            "/oauth/token",
            Some(("thirdparty", &web)),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    for token in ["access_token", "refresh_token"] {
        let res = app
            .post_json("/auth/token/verify/", &json!({"token": pair[token]}))
            .await;
        crate::api::assert_verify_refusal(res).await;
    }
    let own = app.login("alice").await.refresh;
    let res = app
        .post_json("/auth/token/verify/", &json!({"token": own}))
        .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn no_client_takes_the_django_apis_audience_as_its_id() {
    let (app, _) = setup().await;
    let root = app.login("root").await.access;
    let res = app
        .client
        .post(app.url("/admin/api/clients"))
        .bearer_auth(&root)
        .json(&json!({"client_id": "tessera", "grants": ["client_credentials"]}))
        .send()
        .await
        .unwrap();
    crate::api::assert_error(res, 400, "invalid").await;
}

#[tokio::test]
async fn client_lifetimes_audiences_and_ticket_times_are_bounded() {
    let (app, _) = setup().await;
    let root = app.login("root").await.access;
    let res = app
        .client
        .post(app.url("/admin/api/clients"))
        .bearer_auth(&root)
        .json(
            &json!({"client_id": "big", "grants": ["client_credentials"],
                      "access_lifetime": i64::MAX}),
        )
        .send()
        .await
        .unwrap();
    crate::api::assert_error(res, 400, "invalid").await;
    let many: Vec<String> = (0..11).map(|i| format!("aud{i}")).collect();
    let res = app
        .client
        .post(app.url("/admin/api/clients"))
        .bearer_auth(&root)
        .json(
            &json!({"client_id": "wide", "grants": ["client_credentials"],
                      "audiences": many}),
        )
        .send()
        .await
        .unwrap();
    crate::api::assert_error(res, 400, "invalid").await;
    // A ticket whose time would overflow is refused like any other (the page again).
    let (b, consent) = consent_page(&app).await;
    let mut form = hidden_inputs(&consent.text().await.unwrap());
    for (k, v) in &mut form {
        if k == "ticket" {
            *v = format!("{}.AAAA", i64::MAX);
        }
    }
    form.push(("decision".into(), "approve".into()));
    let res = b
        .post(app.url("/oauth/authorize/consent"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the consent page again");
}

/// The README's `/oauth/logout` row: as `id_token_hint`, only an ID token (of the
/// session's user) ends the browser's session at once; every other kind of token, access
/// and refresh tokens included, is no proof and gets the confirmation page.
#[tokio::test]
async fn only_an_id_token_is_taken_as_a_logout_hint() {
    let (app, s) = setup().await;
    let all = tokens(&app, &s).await;
    let b = browser();
    // The browser's own session, and the ID token issued through it.
    let mine = app.code_flow(&b, ("web", &s.web), CB, "root").await;
    let mut ordered: Vec<(Kind, String)> = all
        .into_iter()
        .filter(|(kind, _)| *kind != Kind::IdToken)
        .collect();
    ordered.push((Kind::IdToken, mine["id_token"].as_str().unwrap().to_owned()));
    for (kind, token) in ordered {
        let res = b
            .get(app.url(&format!("/oauth/logout?id_token_hint={token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{kind:?}");
        let html = res.text().await.unwrap();
        let ended = html.contains("<h1>Signed out</h1>");
        let asked = html.contains("Sign out of Tessera?");
        assert_eq!(
            (ended, asked),
            if kind == Kind::IdToken {
                (true, false)
            } else {
                (false, true)
            },
            "{kind:?}"
        );
    }
}
