//! Accounts that nobody else can take or shadow (issue 17 §2–§4, §6): a pending sign-up
//! activates what the mailbox owner chose; usernames are normalised and unique without
//! regard to case, cannot be someone else's address, and one account has one throttle
//! budget; the audit trail names who did what; CSRF tokens are bound to the server.

use crate::api::self_service::csrf_of;
use crate::api::{assert_error, browser};
use reqwest::Method;
use serde_json::{Value, json};
use tessera_proto::Secret;
use tessera_test_support::smtp::Smtp;
use tessera_test_support::{PASSWORD, TestApp};

async fn app_with_signup(smtp: &Smtp) -> TestApp {
    let url = smtp.url.clone();
    TestApp::builder()
        .settings(move |s| {
            s.mail.smtp_url = Some(Secret::new(url));
            s.signup.enabled = true;
        })
        .spawn()
        .await
}

async fn login(app: &TestApp, username: &str, password: &str) -> u16 {
    app.post_json(
        "/auth/token/",
        &json!({"username": username, "password": password}),
    )
    .await
    .status()
    .as_u16()
}

async fn signup(app: &TestApp, username: &str, email: &str, password: &str) {
    let res = app
        .post_json(
            "/auth/users/",
            &json!({"username": username, "email": email, "password": password}),
        )
        .await;
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Value,
) -> reqwest::Response {
    reqwest::Client::new()
        .request(method, app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// §2: an attacker signs up first with the owner's address and their own password. The
/// owner's later sign-up mails the owner a link carrying the owner's choices; following it
/// activates the owner's password and username, never the attacker's, and the attacker's
/// link dies with it. (Before: the owner's password was discarded, the link verified the
/// attacker's pending account, and the attacker's password logged in to it.)
#[tokio::test]
async fn the_mailbox_owner_decides_what_a_pending_sign_up_activates() {
    let Some(smtp) = Smtp::start().await else {
        return;
    };
    let app = app_with_signup(&smtp).await;
    signup(
        &app,
        "mallory",
        "owner@example.com",
        "the attackers password",
    )
    .await;
    let first = smtp.wait_for("owner@example.com", 1).await.remove(0);
    let attackers_link = first.link_token("verify").unwrap();
    assert_eq!(
        login(&app, "owner@example.com", "the attackers password").await,
        401,
        "a pending account logs nobody in"
    );

    signup(
        &app,
        "owner",
        "owner@example.com",
        "the owners own password",
    )
    .await;
    let second = smtp.wait_for("owner@example.com", 2).await.remove(1);
    assert_eq!(second.subject(), "Confirm your e-mail address");
    let owners_link = second.link_token("verify").unwrap();
    assert_ne!(owners_link, attackers_link);
    // Opening a link (a mail scanner, a preview) activates nothing.
    for link in [&attackers_link, &owners_link] {
        let page = reqwest::get(app.url(&format!("/account/verify?token={link}")))
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
    }
    assert_eq!(
        login(&app, "owner@example.com", "the attackers password").await,
        401
    );
    // The attacker's link needs the attacker's password, which the owner does not know
    // (and the attacker never sees the link).
    let res = app
        .post_json(
            "/auth/users/activation/",
            &json!({"token": attackers_link, "password": "the owners own password"}),
        )
        .await;
    assert_error(res, 400, "invalid").await;
    assert_eq!(
        crate::api::self_service::follow_verify(
            &app,
            &owners_link,
            Some("the owners own password")
        )
        .await
        .status(),
        200
    );

    assert_eq!(
        login(&app, "owner@example.com", "the attackers password").await,
        401,
        "the attacker's password does not open the owner's account"
    );
    assert_eq!(login(&app, "mallory", "the attackers password").await, 401);
    assert_eq!(
        login(&app, "owner@example.com", "the owners own password").await,
        200
    );
    assert_eq!(login(&app, "owner", "the owners own password").await, 200);
    let res = app
        .post_json(
            "/auth/users/activation/",
            &json!({"token": attackers_link, "password": "the attackers password"}),
        )
        .await;
    assert_error(res, 400, "invalid").await;
    assert_eq!(
        login(&app, "owner", "the owners own password").await,
        200,
        "the attacker's link died with the owner's"
    );
}

/// §3: `Root`, `ROOT` and full-width `ｒｏｏｔ` are all `root`: no second account under
/// them, and each logs in as root. (Before: each made a new account.)
#[tokio::test]
async fn usernames_are_one_whatever_their_case_or_width() {
    let app = TestApp::spawn().await;
    app.create_superuser("root").await;
    let admin = app.login("root").await.access;
    for name in ["Root", "ROOT", "ｒｏｏｔ", "ｒoot"] {
        let res = call(
            &app,
            Method::POST,
            "/admin/api/users",
            &admin,
            json!({"username": name, "email": format!("{}@example.org", name.len()), "password": "a fine long password"}),
        )
        .await;
        let body: Value = res.json().await.unwrap();
        assert!(body.to_string().contains("username"), "{name}: {body}");
    }
    for name in ["Root", "ROOT", "ｒｏｏｔ"] {
        assert_eq!(login(&app, name, PASSWORD).await, 200, "{name}");
    }
    // Stored as NFKC: the full-width form of a new name is kept in its plain form.
    let res = call(
        &app,
        Method::POST,
        "/admin/api/users",
        &admin,
        json!({"username": "ｗｉｄｅ", "email": "wide@example.com", "password": "a fine long password"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["username"], "wide");
}

/// §3: a username that is an e-mail address must be the account's own; and a login by an
/// address reaches the account with that address even when another's username (kept from
/// before, e.g. its old address) spells it. (Before: sign-up took `alice@example.com` as
/// the username of an account with another address, and logins by alice's address hit it.)
#[tokio::test]
async fn a_username_never_shadows_someone_elses_address() {
    let Some(smtp) = Smtp::start().await else {
        return;
    };
    let app = app_with_signup(&smtp).await;
    app.create_superuser("root").await;
    let admin = app.login("root").await.access;
    let res = app
        .post_json(
            "/auth/users/",
            &json!({"username": "alice@example.com", "email": "mallory@example.com",
                    "password": "a fine long password"}),
        )
        .await;
    let body = assert_error(res, 400, "invalid").await;
    assert!(
        body["detail"].as_str().unwrap().contains("e-mail address"),
        "{body}"
    );
    let res = call(
        &app,
        Method::POST,
        "/admin/api/users",
        &admin,
        json!({"username": "alice@example.com", "email": "mallory@example.com", "password": "a fine long password"}),
    )
    .await;
    assert_eq!(res.status(), 400);

    // dave's username is his old address; erin gets that address later.
    let dave = call(
        &app,
        Method::POST,
        "/admin/api/users",
        &admin,
        json!({"username": "dave@example.com", "email": "dave@example.com", "password": "daves long password"}),
    )
    .await;
    assert_eq!(dave.status(), 201);
    let dave: Value = dave.json().await.unwrap();
    let moved = call(
        &app,
        Method::PATCH,
        &format!("/admin/api/users/{}", dave["id"]),
        &admin,
        json!({"email": "dave@example.net"}),
    )
    .await;
    assert_eq!(moved.status(), 200);
    let erin = call(
        &app,
        Method::POST,
        "/admin/api/users",
        &admin,
        json!({"username": "erin", "email": "dave@example.com", "password": "erins long password"}),
    )
    .await;
    assert_eq!(erin.status(), 201);
    assert_eq!(
        login(&app, "dave@example.com", "erins long password").await,
        200,
        "the address's owner"
    );
    assert_eq!(
        login(&app, "dave@example.com", "daves long password").await,
        401
    );
    assert_eq!(
        login(&app, "dave@example.net", "daves long password").await,
        200
    );
}

/// Review finding: a pending sign-up for an address does not hide the account whose
/// username that address is (an import keeps such usernames), and an admin's e-mail change
/// takes a username that was the old address along.
#[tokio::test]
async fn a_pending_sign_up_hides_no_one_and_usernames_follow_their_address() {
    let Some(smtp) = Smtp::start().await else {
        return;
    };
    let app = app_with_signup(&smtp).await;
    let greg = app.create_imported_user("greg", 100).await;
    app.create_superuser("root").await;
    let admin = app.login("root").await.access;
    // As an import would keep it: greg's username is an address he no longer has.
    sqlx_free_rename(&app, greg.id, "greg@example.com").await;
    assert_eq!(login(&app, "greg@example.com", PASSWORD).await, 200);
    signup(
        &app,
        "gregsquat",
        "greg@example.com",
        "a squatters password",
    )
    .await;
    smtp.wait_for("greg@example.com", 1).await;
    assert_eq!(
        login(&app, "greg@example.com", PASSWORD).await,
        200,
        "a pending account for the address hides nobody"
    );

    let erin = call(
        &app,
        Method::POST,
        "/admin/api/users",
        &admin,
        json!({"username": "erin@example.com", "email": "erin@example.com", "password": "erins long password"}),
    )
    .await;
    let erin: Value = erin.json().await.unwrap();
    let moved: Value = call(
        &app,
        Method::PATCH,
        &format!("/admin/api/users/{}", erin["id"]),
        &admin,
        json!({"email": "erin@corp.example"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(moved["username"], "erin@corp.example", "{moved}");
}

/// Gives `id` a username as an import might have (no check that it fits the address).
async fn sqlx_free_rename(app: &TestApp, id: i64, username: &str) {
    let mut user = app.state.store.user_by_id(id).await.unwrap().unwrap();
    user.username = username.into();
    assert!(app.state.store.update_user_profile(&user, 0).await.unwrap());
}

/// §3: one account, one budget: failures by username count against logins by address and
/// in another case. (Before: `root` and `root@example.com` were two budgets.)
#[tokio::test]
async fn an_account_has_one_throttle_budget_whatever_it_is_called() {
    let app = TestApp::builder()
        .settings(|s| {
            s.throttle.account_ip_free = 3;
        })
        .spawn()
        .await;
    app.create_user("alice", false).await;
    for _ in 0..3 {
        assert_eq!(login(&app, "alice", "wrong password").await, 401);
    }
    for id in ["alice@example.com", "ALICE", "Alice@Example.com"] {
        assert_eq!(login(&app, id, PASSWORD).await, 429, "{id}");
    }
}

/// §4: admin actions name their actor, and an update says what changed (rights with old and
/// new values). (Before: no actor on create, password set, disable, enable or
/// client.created; `user.updated` said nothing of what changed.)
#[tokio::test]
async fn the_audit_trail_names_who_did_what() {
    let app = TestApp::spawn().await;
    let root = app.create_superuser("root").await;
    let admin = app.login("root").await.access;
    let created = call(
        &app,
        Method::POST,
        "/admin/api/users",
        &admin,
        json!({"username": "bob", "email": "bob@example.com", "password": "a fine long password"}),
    )
    .await;
    let bob: Value = created.json().await.unwrap();
    let path = format!("/admin/api/users/{}", bob["id"]);
    for (method, path, body) in [
        (
            Method::PATCH,
            path.clone(),
            json!({"is_superuser": true, "first_name": "Robert"}),
        ),
        (
            Method::POST,
            format!("{path}/password"),
            json!({"password": "another fine password"}),
        ),
        (Method::PATCH, path.clone(), json!({"is_active": false})),
        (Method::PATCH, path.clone(), json!({"is_active": true})),
    ] {
        let res = call(&app, method, &path, &admin, body).await;
        assert!(res.status().is_success(), "{path}: {}", res.status());
    }
    let res = call(
        &app,
        Method::POST,
        "/admin/api/clients",
        &admin,
        json!({"client_id": "svc", "grants": ["client_credentials"], "scopes": ["read"]}),
    )
    .await;
    assert_eq!(res.status(), 201);

    let events = app.state.store.audit_events(0, 100).await.unwrap();
    let me = root.id.to_string();
    for kind in [
        "user.created",
        "user.updated",
        "user.password_set",
        "user.disabled",
        "user.enabled",
        "client.created",
    ] {
        let event = events
            .iter()
            .rev()
            .find(|e| e.kind == kind)
            .unwrap_or_else(|| panic!("{kind}: {events:#?}"));
        assert_eq!(
            event.actor.as_deref(),
            Some(me.as_str()),
            "{kind}: {event:?}"
        );
    }
    let updated = events.iter().find(|e| e.kind == "user.updated").unwrap();
    let detail = updated.detail.as_deref().unwrap();
    assert!(detail.contains("is_superuser: false → true"), "{detail}");
    assert!(detail.contains("first_name"), "{detail}");
    assert!(
        !detail.contains("Robert"),
        "names of fields, not their values: {detail}"
    );
}

/// §6: a CSRF cookie and field the sender chose (a sibling subdomain or a network attacker
/// can set the cookie) are refused on every form; the sign-up and forgot-password forms
/// need the token too. (Before: any equal pair passed, and those two forms had none.)
#[tokio::test]
async fn csrf_tokens_are_the_servers_not_the_senders() {
    let Some(smtp) = Smtp::start().await else {
        return;
    };
    let app = app_with_signup(&smtp).await;
    app.create_user("alice", false).await;
    let chosen = "A".repeat(43);
    let tossed = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (path, fields) in [
        (
            "/account/login",
            vec![("username", "alice"), ("password", PASSWORD)],
        ),
        (
            "/account/signup",
            vec![
                ("email", "x@example.com"),
                ("password", "a fine long password"),
            ],
        ),
        ("/account/forgot", vec![("email", "alice@example.com")]),
    ] {
        let mut form = fields.clone();
        form.push(("csrf", chosen.as_str()));
        let res = tossed
            .post(app.url(path))
            .header("cookie", format!("tessera_csrf={chosen}"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path}");
        let res = tossed
            .post(app.url(path))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path} without a token");
    }
    // A token from one browser's page is worthless in another's session.
    let b = browser();
    let page = b.get(app.url("/account")).send().await.unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let signed_in = b
        .post(app.url("/account/login"))
        .form(&[
            ("username", "alice"),
            ("password", PASSWORD),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let stale = b
        .post(app.url("/account/logout-everywhere"))
        .form(&[("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        stale.status(),
        403,
        "the token of the page before signing in is not this session's"
    );
    let page = b.get(app.url("/account")).send().await.unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let done = b
        .post(app.url("/account/logout-everywhere"))
        .form(&[("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    // No mail went out for the refused forms.
    tessera_test_support::stays(
        "no mail for the refused forms",
        std::time::Duration::from_millis(300),
        async || {
            smtp.messages()
                .iter()
                .all(|m| m.to() != "x@example.com" && m.to() != "alice@example.com")
        },
    )
    .await;
    assert!(
        smtp.messages()
            .iter()
            .all(|m| m.to() != "x@example.com" && m.to() != "alice@example.com"),
        "no mail for a refused form"
    );
}

/// §6: on https the nonce cookie and the session cookie are `__Host-` (no sibling
/// subdomain can set them: neither a chosen nonce nor the attacker's own session), Secure,
/// for path `/`; a plain `tessera_session` cookie means nothing there. (Before: the
/// session cookie was `tessera_session` on https too, so a sibling could sign a browser in
/// as the attacker.)
#[tokio::test]
async fn on_https_the_csrf_and_session_cookies_are_host_only() {
    let app = TestApp::builder()
        .settings(|s| s.issuer = Some("https://login.example.com".into()))
        .spawn()
        .await;
    app.create_user("alice", false).await;
    let set_cookies = |res: &reqwest::Response| -> Vec<String> {
        res.headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    };
    let page = reqwest::get(app.url("/account")).await.unwrap();
    let cookie = set_cookies(&page)
        .into_iter()
        .find(|c| c.contains("csrf"))
        .unwrap();
    assert!(cookie.starts_with("__Host-tessera_csrf="), "{cookie}");
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
    // Sign in by hand (reqwest keeps no Secure cookie over plain http).
    let nonce = cookie.split(';').next().unwrap().to_owned();
    let csrf = csrf_of(&page.text().await.unwrap());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed_in = client
        .post(app.url("/account/login"))
        .header("cookie", &nonce)
        .form(&[
            ("username", "alice"),
            ("password", PASSWORD),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let session = set_cookies(&signed_in)
        .into_iter()
        .find(|c| c.contains("session"))
        .unwrap();
    assert!(session.starts_with("__Host-tessera_session="), "{session}");
    assert!(
        session.contains("Secure") && session.contains("Path=/"),
        "{session}"
    );
    let value = session
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let account = |cookie: String| {
        let client = client.clone();
        let url = app.url("/account");
        async move {
            client
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    assert!(
        account(format!("__Host-tessera_session={value}"))
            .await
            .contains("Log out everywhere")
    );
    assert!(
        !account(format!("tessera_session={value}"))
            .await
            .contains("Log out everywhere"),
        "the unprefixed name is not the session on https"
    );
}

/// Second review: guesses at a sign-up's password through its link count like failed
/// logins (before: unlimited, and a flood of them filled the hashing queue).
#[tokio::test]
async fn guessing_a_sign_ups_password_through_its_link_is_throttled() {
    let Some(smtp) = Smtp::start().await else {
        return;
    };
    let app = app_with_signup(&smtp).await;
    signup(&app, "bob", "bob@example.com", "bobs long password").await;
    let link = smtp.wait_for("bob@example.com", 1).await.remove(0);
    let token = link.link_token("verify").unwrap();
    let attempt = |password: String| {
        let (app, token) = (&app, token.clone());
        async move {
            app.post_json(
                "/auth/users/activation/",
                &json!({"token": token, "password": password}),
            )
            .await
        }
    };
    for i in 0..5 {
        assert_eq!(attempt(format!("guess {i} of many")).await.status(), 400);
    }
    let res = attempt("bobs long password".into()).await;
    assert_eq!(
        res.status(),
        429,
        "throttled, even the right one, until the wait is over"
    );
    assert!(res.headers().contains_key("retry-after"));
}

/// Second review: an admin's e-mail change voids what was mailed to the old address and
/// ends every session, as the self-service change does (before: a reset link at the old
/// address still set the moved account's password).
#[tokio::test]
async fn an_admin_e_mail_change_voids_the_old_addresses_links() {
    let Some(smtp) = Smtp::start().await else {
        return;
    };
    let app = app_with_signup(&smtp).await;
    let sam = app.create_user("sam", false).await;
    app.create_superuser("root").await;
    let admin = app.login("root").await.access;
    let pair = app.login("sam").await;
    let res = app
        .post_json(
            "/auth/users/reset_password/",
            &json!({"email": "sam@example.com"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let reset = smtp.wait_for("sam@example.com", 1).await.remove(0);
    let token = reset.link_token("reset").unwrap();
    let moved = call(
        &app,
        Method::PATCH,
        &format!("/admin/api/users/{}", sam.id),
        &admin,
        json!({"email": "sam@elsewhere.example"}),
    )
    .await;
    assert_eq!(moved.status(), 200);
    let res = app
        .post_json(
            "/auth/users/reset_password_confirm/",
            &json!({"token": token, "new_password": "the old mailbox owns it"}),
        )
        .await;
    assert_error(res, 400, "invalid").await;
    let me = app.get_bearer("/auth/users/me/", &pair.access).await;
    assert_error(me, 401, "token_not_valid").await;
    assert_eq!(login(&app, "sam@elsewhere.example", PASSWORD).await, 200);
}

/// Second review: a sign-up nobody confirms reserves no username (its account holds a
/// placeholder until a link applies the chosen one) and does not block a move to its
/// address; a name taken between mailing and confirming is a 400, not a 500.
#[tokio::test]
async fn an_unconfirmed_sign_up_holds_no_name_and_conflicts_are_400() {
    let Some(smtp) = Smtp::start().await else {
        return;
    };
    let app = app_with_signup(&smtp).await;
    signup(&app, "ceo", "squat@nowhere.example", "a squatters password").await;
    smtp.wait_for("squat@nowhere.example", 1).await;
    signup(&app, "CEO", "ceo@example.com", "the real ceos password").await;
    let mail = smtp.wait_for("ceo@example.com", 1).await.remove(0);
    assert_eq!(
        mail.subject(),
        "Confirm your e-mail address",
        "not 'username taken'"
    );
    let res = app
        .post_json(
            "/auth/users/activation/",
            &json!({"token": mail.link_token("verify").unwrap(), "password": "the real ceos password"}),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(login(&app, "CEO", "the real ceos password").await, 200);

    // The squatter's own link now meets a taken name: 400, nothing changed.
    let squat = smtp.wait_for("squat@nowhere.example", 1).await.remove(0);
    let res = app
        .post_json(
            "/auth/users/activation/",
            &json!({"token": squat.link_token("verify").unwrap(), "password": "a squatters password"}),
        )
        .await;
    let body = assert_error(res, 400, "invalid").await;
    assert!(
        body["detail"].as_str().unwrap().contains("username"),
        "{body}"
    );

    // A move to the squatted address goes through; the unconfirmed sign-up gives way.
    app.create_user("walt", false).await;
    let pair = app.login("walt").await;
    let res = app
        .client
        .post(app.url("/auth/users/set_email/"))
        .bearer_auth(&pair.access)
        .json(&json!({"current_password": PASSWORD, "new_email": "squat@nowhere.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let confirm = smtp.wait_for("squat@nowhere.example", 2).await.remove(1);
    let token = confirm.link_token("verify").unwrap();
    assert_eq!(
        crate::api::self_service::follow_verify(&app, &token, None)
            .await
            .status(),
        200
    );
    assert_eq!(login(&app, "squat@nowhere.example", PASSWORD).await, 200);
}
