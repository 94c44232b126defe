//! The account page with a cookie-keeping client: its own sign-in form (CSRF checked),
//! the list of browser sessions and apps holding refresh tokens, and "log out everywhere"
//! ending all of them.

use crate::api::{assert_error, browser};
use serde_json::json;
use tessera_test_support::{PASSWORD, TestApp};

fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    html[start..].split('"').next().unwrap().to_owned()
}

async fn sign_in(app: &TestApp, browser: &reqwest::Client) {
    let page = browser.get(app.url("/account")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    assert!(html.contains("action=\"/account/login\""));
    let res = browser
        .post(app.url("/account/login"))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("username", "erin"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/account");
}

#[tokio::test]
async fn the_account_page_lists_sessions_and_logs_out_everywhere() {
    let app = TestApp::spawn().await;
    app.create_user("erin", false).await;
    let api = app.login("erin").await;

    // A form posted without the CSRF cookie's value is refused.
    let forged = reqwest::Client::new()
        .post(app.url("/account/login"))
        .form(&[("csrf", "x"), ("username", "erin"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    let laptop = browser();
    let phone = browser();
    sign_in(&app, &laptop).await;
    sign_in(&app, &phone).await;
    let wrong = browser();
    let html = wrong
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let refused = wrong
        .post(app.url("/account/login"))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("username", "erin"),
            ("password", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let html = laptop
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("erin@example.com"));
    let sessions = html
        .split("id=\"sessions\"")
        .nth(1)
        .unwrap()
        .split("</ul>")
        .next()
        .unwrap();
    assert_eq!(sessions.matches("<li>").count(), 2, "{sessions}");
    assert_eq!(sessions.matches("(this browser)").count(), 1);
    let families = html
        .split("id=\"families\"")
        .nth(1)
        .unwrap()
        .split("</ul>")
        .next()
        .unwrap();
    assert!(families.contains("API (/auth/token/)"), "{families}");

    let out = laptop
        .post(app.url("/account/logout-everywhere"))
        .form(&[("csrf", csrf_of(&html).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 200);

    // Both browsers are signed out, and the API tokens are dead.
    for browser in [&laptop, &phone] {
        let html = browser
            .get(app.url("/account"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("action=\"/account/login\""), "signed out");
    }
    let me = app.get_bearer("/auth/users/me/", &api.access).await;
    assert_error(me, 401, "token_not_valid").await;
    let refresh = app
        .post_json("/auth/token/refresh/", &json!({"refresh": api.refresh}))
        .await;
    assert_error(refresh, 401, "token_not_valid").await;
}
