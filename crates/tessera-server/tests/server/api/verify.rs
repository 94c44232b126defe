use crate::api::verify_status;
use serde_json::{Value, json};
use std::time::Duration;
use tessera_test_support::{TestApp, eventually};

#[tokio::test]
async fn a_valid_access_token_verifies_with_an_empty_object() {
    let app = TestApp::spawn().await;
    app.create_user("user1", false).await;
    let pair = app.login("user1").await;
    let res = app
        .post_json("/auth/token/verify/", &json!({"token": pair.access}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.json::<Value>().await.unwrap(), json!({}));
}

#[tokio::test]
async fn expiry_is_enforced_with_leeway() {
    let app = TestApp::spawn().await;
    app.create_user("user1", false).await;
    let pair = app.login("user1").await;
    app.clock.advance(Duration::from_secs(300 + 20));
    assert_eq!(
        verify_status(&app, &pair.access).await,
        200,
        "inside the 30 s leeway"
    );
    app.clock.advance(Duration::from_secs(20));
    let res = app
        .post_json("/auth/token/verify/", &json!({"token": pair.access}))
        .await;
    let www = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(www.contains("invalid_token"), "{www}");
    crate::api::assert_verify_refusal(res).await;
}

#[tokio::test]
async fn refresh_tokens_verify_only_when_enabled() {
    let app = TestApp::spawn().await;
    app.create_user("user1", false).await;
    let pair = app.login("user1").await;
    assert_eq!(verify_status(&app, &pair.refresh).await, 401);

    let app = TestApp::builder()
        .settings(|s| s.tokens.verify_accepts_refresh = true)
        .spawn()
        .await;
    app.create_user("user1", false).await;
    let pair = app.login("user1").await;
    assert_eq!(verify_status(&app, &pair.refresh).await, 200);
    assert_eq!(verify_status(&app, &pair.access).await, 200);
    crate::api::refresh(&app, &pair.refresh).await;
    assert_eq!(
        verify_status(&app, &pair.refresh).await,
        401,
        "a rotated refresh token is dead"
    );
}

#[tokio::test]
async fn tokens_of_disabled_users_fail_verification() {
    let app = TestApp::spawn().await;
    let user = app.create_user("user1", false).await;
    let pair = app.login("user1").await;
    app.state.store.set_active(user.id, false, 0).await.unwrap();
    assert_eq!(verify_status(&app, &pair.access).await, 401);
}

/// The SQLite store remembers its hottest reads (users, clients, revocations). A change
/// made through the server is seen at once (every other test here relies on that); one
/// written by another process on the same file (the CLI; here a second connection) is
/// found by the store's poll of `PRAGMA data_version` and reaches the answers shortly
/// after.
#[tokio::test]
async fn verification_sees_a_user_disabled_by_another_process() {
    if tessera_test_support::backend_is_postgres() {
        return; // PostgreSQL has no read cache; the edit below is of the SQLite file.
    }
    let app = TestApp::spawn().await;
    app.create_user("user1", false).await;
    let pair = app.login("user1").await;
    assert_eq!(verify_status(&app, &pair.access).await, 200);
    assert_eq!(
        verify_status(&app, &pair.access).await,
        200,
        "now from memory"
    );
    let url = format!("sqlite://{}", app.data_dir().join("tessera.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE users SET is_active = FALSE WHERE username = 'user1'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let status = eventually(
        "verification to change",
        Duration::from_secs(2),
        async || {
            let status = verify_status(&app, &pair.access).await;
            (status != 200).then_some(status)
        },
    )
    .await;
    assert_eq!(
        status, 401,
        "still verified 2 s after another process disabled the user"
    );
}
