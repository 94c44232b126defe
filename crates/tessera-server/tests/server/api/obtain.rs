use crate::api::assert_error;
use serde_json::{Value, json};
use tessera_test_support::{PASSWORD, TestApp};
use tessera_token::validate::verify_access;

#[tokio::test]
async fn login_by_username_or_email_gives_a_valid_pair() {
    let app = TestApp::spawn().await;
    let user = app.create_user("user1", false).await;
    for body in [
        json!({"username": "user1", "password": PASSWORD}),
        json!({"email": "USER1@example.com", "password": PASSWORD}),
        json!({"username": "user1@example.com", "password": PASSWORD}),
    ] {
        let res = app.post_json("/auth/token/", &body).await;
        assert_eq!(res.status(), 200, "{body}");
        assert_eq!(res.headers()["content-type"], "application/json");
        let pair: Value = res.json().await.unwrap();
        let access = pair["access"].as_str().unwrap();
        assert!(pair["refresh"].as_str().is_some());
        let claims = verify_access(
            access,
            app.state.keys.current().published(),
            &app.state.validation,
            app.clock_unix(),
        )
        .unwrap();
        assert_eq!(claims.user_id, Some(user.id));
        assert_eq!(claims.sub, user.id.to_string());
        assert_eq!(claims.iss, app.address);
        assert_eq!(claims.exp - claims.iat, 300, "access lifetime 5 min");
    }
}

trait ClockUnix {
    fn clock_unix(&self) -> i64;
}

impl ClockUnix for TestApp {
    fn clock_unix(&self) -> i64 {
        tessera_token::Clock::unix(self.clock.as_ref())
    }
}

#[tokio::test]
async fn form_and_multipart_bodies_work_like_curl() {
    let app = TestApp::spawn().await;
    app.create_user("user1", false).await;
    let res = app
        .client
        .post(app.url("/auth/token/"))
        .form(&[("username", "user1"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let form = reqwest::multipart::Form::new()
        .text("username", "user1")
        .text("password", PASSWORD);
    let res = app
        .client
        .post(app.url("/auth/token/"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let pair: Value = res.json().await.unwrap();
    let form = reqwest::multipart::Form::new().text(
        "refresh_token",
        pair["refresh"].as_str().unwrap().to_owned(),
    );
    let res = app
        .client
        .post(app.url("/auth/refresh/"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn unknown_user_wrong_password_and_disabled_account_look_the_same() {
    let app = TestApp::spawn().await;
    app.create_user("user1", false).await;
    app.create_user("gone", false).await;
    app.state.store.set_active(2, false, 0).await.unwrap();
    let mut bodies = Vec::new();
    for body in [
        json!({"username": "user1", "password": "wrong password"}),
        json!({"username": "nobody", "password": "wrong password"}),
        json!({"email": "nobody@example.com", "password": PASSWORD}),
        json!({"username": "gone", "password": PASSWORD}),
    ] {
        let res = app.post_json("/auth/token/", &body).await;
        bodies.push(assert_error(res, 401, "no_active_account").await);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
}

#[tokio::test]
async fn login_records_last_login() {
    let app = TestApp::spawn().await;
    let user = app.create_user("user1", false).await;
    assert!(user.last_login.is_none());
    app.login("user1").await;
    let user = app.state.store.user_by_id(user.id).await.unwrap().unwrap();
    assert!(user.last_login.is_some());
}

#[tokio::test]
async fn hashes_are_upgraded_on_login_when_parameters_rise() {
    let first = TestApp::spawn().await;
    let user = first.create_user("user1", false).await;
    assert!(
        user.password_hash.contains("m=19456"),
        "{}",
        user.password_hash
    );
    let stronger = TestApp::builder()
        .data_dir_of(&first)
        .settings(|s| s.passwords.memory_kib = 24_576);
    first.stop().await;
    let second = stronger.spawn().await;
    second.login("user1").await;
    let stored = second
        .state
        .store
        .user_by_id(user.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.password_hash.contains("m=24576"),
        "{}",
        stored.password_hash
    );
    // The upgraded hash still verifies, and the upgrade did not end the session family.
    let pair = second.login("user1").await;
    assert_eq!(
        crate::api::refresh(&second, &pair.refresh).await.status(),
        200
    );
}

/// A hash beyond the cost bounds, stored before they existed (an old import): a login
/// against it is refused like a wrong password, and the server lives on (4 TiB of Argon2
/// memory aborted the process, over and over after every restart).
#[tokio::test]
async fn a_stored_hash_beyond_the_cost_bounds_is_refused_not_hashed() {
    let app = TestApp::spawn().await;
    let huge = "argon2$argon2id$v=19$m=4294967295,t=1,p=1$M3pzNUs4Q2ZkTGoyUXBxY1RYd2Z4OQ$JLSKDcOJVJSrrzJuEVKPysHXDMTllGTvcXyhqV3Zwa8";
    app.state
        .store
        .create_user(&tessera_server::store::NewUser {
            id: None,
            username: "legacy".into(),
            email: "legacy@example.com".into(),
            password_hash: huge.into(),
            first_name: String::new(),
            last_name: String::new(),
            is_active: true,
            is_staff: false,
            is_superuser: false,
            date_joined: time::OffsetDateTime::UNIX_EPOCH,
            last_login: None,
            roles: Vec::new(),
            groups: Vec::new(),
            services: None,
            email_verified: true,
            imported_id: false,
        })
        .await
        .unwrap();
    for _ in 0..2 {
        let res = app
            .post_json(
                "/auth/token/",
                &serde_json::json!({"username": "legacy", "password": "anything at all"}),
            )
            .await;
        crate::api::assert_error(res, 401, "no_active_account").await;
    }
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
