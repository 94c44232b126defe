//! Self-service against a real SMTP server (aiosmtpd): sign-up with e-mail verification,
//! password reset by link, change of password and e-mail, the pages the links open, and
//! the Flask-style aliases. Links are followed from the messages the server received.

use crate::api::assert_error;
use serde_json::{Value, json};
use tessera_proto::Secret;
use tessera_test_support::smtp::Smtp;
use tessera_test_support::{PASSWORD, TestApp};

async fn app_with_mail(smtp: &Smtp, signup: bool) -> TestApp {
    let url = smtp.url.clone();
    TestApp::builder()
        .settings(move |s| {
            s.mail.smtp_url = Some(Secret::new(url));
            s.signup.enabled = signup;
        })
        .spawn()
        .await
}

/// The CSRF field of a page's form.
pub(crate) fn csrf_of(html: &str) -> String {
    crate::api::sso::hidden_inputs(html)
        .into_iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v)
        .expect("a CSRF field")
}

/// Opens the page of a verification or e-mail change link in a browser and posts its form
/// (with `password` for a sign-up's link).
pub(crate) async fn follow_verify(
    app: &TestApp,
    token: &str,
    password: Option<&str>,
) -> reqwest::Response {
    let b = crate::api::browser();
    let page = b
        .get(app.url(&format!("/account/verify?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "the link's page");
    let csrf = csrf_of(&page.text().await.unwrap());
    let mut form = vec![("token", token.to_owned()), ("csrf", csrf)];
    if let Some(p) = password {
        form.push(("password", p.to_owned()));
    }
    b.post(app.url("/account/verify"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    reqwest::get(app.url(path)).await.unwrap()
}

async fn login_status(app: &TestApp, username: &str, password: &str) -> u16 {
    app.post_json(
        "/auth/token/",
        &json!({"username": username, "password": password}),
    )
    .await
    .status()
    .as_u16()
}

#[tokio::test]
async fn sign_up_is_off_by_default() {
    let app = TestApp::spawn().await;
    let res = app
        .post_json(
            "/auth/users/",
            &json!({"email": "a@example.com", "password": "a fine long password"}),
        )
        .await;
    assert_error(res, 404, "not_found").await;
    let res = app
        .post_json(
            "/user",
            &json!({"email": "a@example.com", "name": "A", "password": "a fine long password"}),
        )
        .await;
    assert_error(res, 404, "not_found").await;
    assert_eq!(get(&app, "/account/signup").await.status(), 404);
    assert_eq!(
        get(&app, "/account/forgot").await.status(),
        404,
        "no mail, no reset"
    );
}

#[tokio::test]
async fn sign_up_verifies_the_address_before_the_first_login() {
    let Some(smtp) = Smtp::start().await else {
        return;
    };
    let app = app_with_mail(&smtp, true).await;

    for (password, why) in [
        ("short", "at least"),
        ("iloveyou1", "too common"),
        ("1234567890123", "numeric"),
        ("newcomer@example.com", "username or e-mail"),
    ] {
        let res = app
            .post_json(
                "/auth/users/",
                &json!({"email": "newcomer@example.com", "password": password}),
            )
            .await;
        let body = assert_error(res, 400, "invalid").await;
        assert!(body["detail"].as_str().unwrap().contains(why), "{body}");
    }
    let res = app
        .post_json(
            "/auth/users/",
            &json!({"username": "newcomer", "email": "newcomer@example.com",
                    "password": "a fine long password"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let mail = smtp.wait_for("newcomer@example.com", 1).await.remove(0);
    assert_eq!(mail.subject(), "Confirm your e-mail address");
    let token = mail.link_token("verify").expect("a verification link");
    assert_eq!(
        login_status(&app, "newcomer", "a fine long password").await,
        401,
        "not before the address is confirmed"
    );

    // Opening the link changes nothing (mail scanners fetch links): its page asks for the
    // password chosen at sign-up.
    let page = get(&app, &format!("/account/verify?token={token}")).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Enter the password you chose")
    );
    assert_eq!(
        login_status(&app, "newcomer", "a fine long password").await,
        401,
        "a GET of the link confirms nothing"
    );
    let wrong = follow_verify(&app, &token, Some("another long password")).await;
    assert_eq!(wrong.status(), 400);
    let done = follow_verify(&app, &token, Some("a fine long password")).await;
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("confirmed"));
    assert_eq!(
        login_status(&app, "newcomer", "a fine long password").await,
        200
    );
    let again = get(&app, &format!("/account/verify?token={token}")).await;
    assert_eq!(again.status(), 400, "single use");
    let json_again = app
        .post_json("/auth/users/activation/", &json!({"token": token}))
        .await;
    assert_error(json_again, 400, "invalid").await;

    // Signing up again with the address answers the same, and mails a note, not a link.
    let res = app
        .post_json(
            "/auth/users/",
            &json!({"username": "someone", "email": "newcomer@example.com",
                    "password": "another long password"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let note = smtp.wait_for("newcomer@example.com", 2).await.remove(1);
    assert_eq!(note.subject(), "You already have an account");
    assert!(note.link_token("verify").is_none());

    // The page form works too (with the page's CSRF token), and the login page links to it.
    let b = crate::api::browser();
    let page = b.get(app.url("/account/signup")).send().await.unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let form = b
        .post(app.url("/account/signup"))
        .form(&[
            ("email", "paged@example.com"),
            ("password", "a fine long password"),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    let mail = smtp.wait_for("paged@example.com", 1).await.remove(0);
    let token = mail.link_token("verify").unwrap();
    let bare = app
        .post_json("/auth/users/activation/", &json!({"token": token}))
        .await;
    assert_error(bare, 400, "invalid").await;
    let ok = app
        .post_json(
            "/auth/users/activation/",
            &json!({"token": token, "password": "a fine long password"}),
        )
        .await;
    assert_eq!(ok.status(), 204);
    assert_eq!(
        login_status(&app, "paged@example.com", "a fine long password").await,
        200,
        "the e-mail is the username when none is given"
    );
}

#[tokio::test]
async fn sign_up_can_be_limited_to_domains() {
    let Some(smtp) = Smtp::start().await else {
        return;
    };
    let url = smtp.url.clone();
    let app = TestApp::builder()
        .settings(move |s| {
            s.mail.smtp_url = Some(Secret::new(url));
            s.signup.enabled = true;
            s.signup.allowed_domains = vec!["corp.example".into()];
        })
        .spawn()
        .await;
    let refused = app
        .post_json(
            "/auth/users/",
            &json!({"email": "x@gmail.example", "password": "a fine long password"}),
        )
        .await;
    let body = assert_error(refused, 400, "invalid").await;
    assert!(body["detail"].as_str().unwrap().contains("domain"));
    let ok = app
        .post_json(
            "/auth/users/",
            &json!({"email": "x@CORP.example", "password": "a fine long password"}),
        )
        .await;
    assert_eq!(ok.status(), 202);
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_and_ends_every_session() {
    let Some(smtp) = Smtp::start().await else {
        return;
    };
    let app = app_with_mail(&smtp, false).await;
    app.create_user("resetter", false).await;
    let pair = app.login("resetter").await;

    let known = app
        .post_json(
            "/auth/users/reset_password/",
            &json!({"email": "resetter@example.com"}),
        )
        .await;
    let unknown = app
        .post_json(
            "/auth/users/reset_password/",
            &json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(known.status(), 202);
    assert_eq!(unknown.status(), 202);
    assert_eq!(
        known.text().await.unwrap(),
        unknown.text().await.unwrap(),
        "the same answer whether the account exists"
    );
    let mail = smtp.wait_for("resetter@example.com", 1).await.remove(0);
    let token = mail.link_token("reset").expect("a reset link");

    let page = get(&app, &format!("/account/reset?token={token}")).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(page.text().await.unwrap().contains("resetter"));
    // A refused password does not use the link up.
    let weak = reqwest::Client::new()
        .post(app.url("/account/reset"))
        .form(&[("token", token.as_str()), ("password", "password123")])
        .send()
        .await
        .unwrap();
    assert_eq!(weak.status(), 400);
    assert!(weak.text().await.unwrap().contains("too common"));
    let done = reqwest::Client::new()
        .post(app.url("/account/reset"))
        .form(&[
            ("token", token.as_str()),
            ("password", "a brand new password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);

    let me = app.get_bearer("/auth/users/me/", &pair.access).await;
    assert_error(me, 401, "token_not_valid").await;
    let refresh = app
        .post_json("/auth/token/refresh/", &json!({"refresh": pair.refresh}))
        .await;
    assert_error(refresh, 401, "token_not_valid").await;
    assert_eq!(login_status(&app, "resetter", PASSWORD).await, 401);
    assert_eq!(
        login_status(&app, "resetter", "a brand new password").await,
        200
    );

    let reused = app
        .post_json(
            "/auth/users/reset_password_confirm/",
            &json!({"token": token, "new_password": "yet another password"}),
        )
        .await;
    assert_error(reused, 400, "invalid").await;
    assert_eq!(
        get(&app, &format!("/account/reset?token={token}"))
            .await
            .status(),
        400
    );
    assert!(smtp.messages().iter().all(|m| !m.to().contains("nobody@")));
}

#[tokio::test]
async fn a_logged_in_user_changes_password_and_email() {
    let Some(smtp) = Smtp::start().await else {
        return;
    };
    let app = app_with_mail(&smtp, false).await;
    app.create_user("mover", false).await;
    let pair = app.login("mover").await;
    let client = reqwest::Client::new();

    let wrong = client
        .post(app.url("/auth/users/set_email/"))
        .bearer_auth(&pair.access)
        .json(&json!({"current_password": "not it", "new_email": "moved@example.com"}))
        .send()
        .await
        .unwrap();
    assert_error(wrong, 400, "invalid").await;
    let moved = client
        .post(app.url("/auth/users/set_email/"))
        .bearer_auth(&pair.access)
        .json(&json!({"current_password": PASSWORD, "new_email": "moved@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 202);
    let mail = smtp.wait_for("moved@example.com", 1).await.remove(0);
    let token = mail.link_token("verify").unwrap();
    assert_eq!(follow_verify(&app, &token, None).await.status(), 200);
    // The move ended every session (the old token is refused) and told the old address.
    let me = app.get_bearer("/auth/users/me/", &pair.access).await;
    assert_error(me, 401, "token_not_valid").await;
    let notice = smtp.wait_for("mover@example.com", 1).await.remove(0);
    assert!(
        notice.body().contains("moved@example.com"),
        "{}",
        notice.body()
    );
    let pair = app.login("mover").await;
    let me: Value = app
        .get_bearer("/auth/users/me/", &pair.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "moved@example.com");

    let unauthenticated = client
        .post(app.url("/auth/users/set_password/"))
        .json(&json!({"current_password": PASSWORD, "new_password": "a brand new password"}))
        .send()
        .await
        .unwrap();
    assert_error(unauthenticated, 401, "not_authenticated").await;
    let changed = client
        .post(app.url("/auth/users/set_password/"))
        .bearer_auth(&pair.access)
        .json(&json!({"current_password": PASSWORD, "new_password": "a brand new password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 204);
    let me = app.get_bearer("/auth/users/me/", &pair.access).await;
    assert_error(me, 401, "token_not_valid").await;
    assert_eq!(
        login_status(&app, "mover", "a brand new password").await,
        200
    );
}

#[tokio::test]
async fn the_flask_style_aliases_work_over_the_real_endpoints() {
    let Some(smtp) = Smtp::start().await else {
        return;
    };
    let app = app_with_mail(&smtp, true).await;
    let res = app
        .post_json(
            "/user",
            &json!({"email": "flask@example.com", "name": "Flask User",
                    "password": "a fine long password"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let mail = smtp.wait_for("flask@example.com", 1).await.remove(0);
    let token = mail.link_token("verify").unwrap();
    assert_eq!(
        follow_verify(&app, &token, Some("a fine long password"))
            .await
            .status(),
        200
    );

    let client = reqwest::Client::new();
    let login: Value = client
        .get(app.url("/login"))
        .basic_auth("flask@example.com", Some("a fine long password"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().expect("token");
    let profile: Value = app
        .get_bearer("/user/profile", token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        profile,
        json!({"user": {"email": "flask@example.com", "name": "Flask User"}})
    );
    let wrong = client
        .get(app.url("/login"))
        .basic_auth("flask@example.com", Some("wrong password"))
        .send()
        .await
        .unwrap();
    assert_error(wrong, 401, "no_active_account").await;
    let none = client.get(app.url("/login")).send().await.unwrap();
    assert_error(none, 401, "not_authenticated").await;

    // Its token has no refresh row; a password reset through the mailed link still ends it.
    let asked = app
        .post_json(
            "/auth/users/reset_password/",
            &json!({"email": "flask@example.com"}),
        )
        .await;
    assert_eq!(asked.status(), 202);
    let mail = smtp.wait_for("flask@example.com", 2).await.remove(1);
    let reset = mail.link_token("reset").expect("a reset link");
    let done = client
        .post(app.url("/account/reset"))
        .form(&[
            ("token", reset.as_str()),
            ("password", "a brand new password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let after = app.get_bearer("/user/profile", token).await;
    assert_error(after, 401, "token_not_valid").await;
}

#[tokio::test]
async fn mail_sending_requests_back_off_per_client_address() {
    let Some(smtp) = Smtp::start().await else {
        return;
    };
    let url = smtp.url.clone();
    let app = TestApp::builder()
        .settings(move |s| {
            s.mail.smtp_url = Some(Secret::new(url));
            s.signup.enabled = true;
            s.throttle.mail_free = 2;
        })
        .spawn()
        .await;
    let reset = |email: &'static str| {
        let app = &app;
        async move {
            app.post_json("/auth/users/reset_password/", &json!({"email": email}))
                .await
        }
    };
    assert_eq!(reset("a@example.com").await.status(), 202);
    let signup = app
        .post_json(
            "/auth/users/",
            &json!({"email": "b@example.com", "password": "a fine long password"}),
        )
        .await;
    assert_eq!(signup.status(), 202, "sign-ups count in the same allowance");
    let third = reset("c@example.com").await;
    assert_eq!(third.status(), 429);
    assert!(third.headers().contains_key("retry-after"));
    assert_error(third, 429, "throttled").await;
    // Invalid requests are refused before counting, and say why.
    let invalid = app
        .post_json(
            "/auth/users/",
            &json!({"email": "not an address", "password": "a fine long password"}),
        )
        .await;
    assert_error(invalid, 400, "invalid").await;
}

/// A link mailed for the account as it was is void once the account changed: a reset link
/// after a disable, after an admin set the password, or sent to the address the account
/// moved away from.
#[tokio::test]
async fn pending_links_die_with_the_state_they_were_issued_for() {
    let Some(smtp) = Smtp::start().await else {
        return;
    };
    let app = app_with_mail(&smtp, false).await;
    app.create_superuser("root").await;
    let root = app.login("root").await.access;
    let reset_link = |email: &'static str, n: usize| {
        let app = &app;
        let smtp = &smtp;
        async move {
            let asked = app
                .post_json("/auth/users/reset_password/", &json!({"email": email}))
                .await;
            assert_eq!(asked.status(), 202);
            smtp.wait_for(email, n)
                .await
                .remove(n - 1)
                .link_token("reset")
                .expect("a reset link")
        }
    };
    let use_link = |token: String| {
        let app = &app;
        async move {
            app.post_json(
                "/auth/users/reset_password_confirm/",
                &json!({"token": token, "new_password": "the attacker's choice"}),
            )
            .await
        }
    };

    // Disabled (and enabled again): the link mailed before is void.
    let u = app.create_user("first", false).await;
    let link = reset_link("first@example.com", 1).await;
    for active in [false, true] {
        let res = app
            .client
            .patch(app.url(&format!("/admin/api/users/{}", u.id)))
            .bearer_auth(&root)
            .json(&json!({"is_active": active}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    assert_error(use_link(link).await, 400, "invalid").await;

    // An admin set the password: void.
    let u = app.create_user("second", false).await;
    let link = reset_link("second@example.com", 1).await;
    let res = app
        .client
        .post(app.url(&format!("/admin/api/users/{}/password", u.id)))
        .bearer_auth(&root)
        .json(&json!({"password": "set by the admin 1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_error(use_link(link).await, 400, "invalid").await;

    // The account moved to another address: the link at the old one is void.
    app.create_user("third", false).await;
    let link = reset_link("third@example.com", 1).await;
    let pair = app.login("third").await;
    let moved = app
        .client
        .post(app.url("/auth/users/set_email/"))
        .bearer_auth(&pair.access)
        .json(&json!({"current_password": PASSWORD, "new_email": "third-new@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 202);
    let confirm = smtp.wait_for("third-new@example.com", 1).await.remove(0);
    let token = confirm.link_token("verify").unwrap();
    assert_eq!(follow_verify(&app, &token, None).await.status(), 200);
    assert_error(use_link(link).await, 400, "invalid").await;
    assert_eq!(login_status(&app, "third", PASSWORD).await, 200);
}
