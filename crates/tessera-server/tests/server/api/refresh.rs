use crate::api::{assert_error, refresh, verify_status};
use serde_json::Value;
use std::time::Duration;
use tessera_proto::TokenPair;
use tessera_test_support::{TestApp, eventually, stays};

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = TestApp::spawn().await;
    app.create_user("user1", false).await;
    let first = app.login("user1").await;
    let res = refresh(&app, &first.refresh).await;
    assert_eq!(res.status(), 200);
    let second: TokenPair = res.json().await.unwrap();
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(verify_status(&app, &second.access).await, 200);

    // The thief replays the consumed token: refused, and the family is gone.
    assert_error(refresh(&app, &first.refresh).await, 401, "token_not_valid").await;
    assert_error(refresh(&app, &second.refresh).await, 401, "token_not_valid").await;
    // Every access token of the family is revoked with it.
    assert_eq!(verify_status(&app, &second.access).await, 401);
    assert_eq!(verify_status(&app, &first.access).await, 401);

    // Another login is a new family and works.
    let other = app.login("user1").await;
    assert_eq!(refresh(&app, &other.refresh).await.status(), 200);
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_have_exactly_one_winner() {
    let app = TestApp::spawn().await;
    app.create_user("user1", false).await;
    for round in 0..3 {
        let pair = app.login("user1").await;
        let attempts = (0..50).map(|_| {
            let client = app.client.clone();
            let url = app.url("/auth/token/refresh/");
            let token = pair.refresh.clone();
            tokio::spawn(async move {
                client
                    .post(url)
                    .json(&serde_json::json!({"refresh": token}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        });
        let statuses: Vec<u16> = futures_join(attempts).await;
        let wins = statuses.iter().filter(|s| **s == 200).count();
        assert_eq!(wins, 1, "round {round}: {statuses:?}");
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 401),
            "round {round}: {statuses:?}"
        );
    }
}

async fn futures_join(tasks: impl Iterator<Item = tokio::task::JoinHandle<u16>>) -> Vec<u16> {
    let mut out = Vec::new();
    for t in tasks.collect::<Vec<_>>() {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn the_legacy_refresh_path_takes_refresh_token() {
    let app = TestApp::spawn().await;
    app.create_user("user1", false).await;
    let pair = app.login("user1").await;
    let res = app
        .client
        .post(app.url("/auth/refresh/"))
        .form(&[("refresh_token", pair.refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert!(body["access"].is_string() && body["refresh"].is_string());
}

#[tokio::test]
async fn expired_refresh_tokens_and_disabled_users_cannot_refresh() {
    let app = TestApp::spawn().await;
    app.create_user("user1", false).await;
    let pair = app.login("user1").await;
    app.clock.advance(Duration::from_secs(24 * 3600 + 60));
    assert_error(refresh(&app, &pair.refresh).await, 401, "token_not_valid").await;

    let app = TestApp::spawn().await;
    let user = app.create_user("user1", false).await;
    let pair = app.login("user1").await;
    app.state.store.set_active(user.id, false, 0).await.unwrap();
    assert_error(refresh(&app, &pair.refresh).await, 401, "token_not_valid").await;
    // Enabling again does not bring the revoked family back.
    app.state.store.set_active(user.id, true, 0).await.unwrap();
    assert_error(refresh(&app, &pair.refresh).await, 401, "token_not_valid").await;
}

#[tokio::test]
async fn blacklist_ends_the_family() {
    let app = TestApp::spawn().await;
    app.create_user("user1", false).await;
    let pair = app.login("user1").await;
    let res = app
        .post_json(
            "/auth/token/blacklist/",
            &serde_json::json!({"refresh": pair.refresh}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), serde_json::json!({}));
    assert_error(refresh(&app, &pair.refresh).await, 401, "token_not_valid").await;
    assert_eq!(verify_status(&app, &pair.access).await, 401);
    // Blacklisting twice is refused like any dead token.
    let res = app
        .post_json(
            "/auth/token/blacklist/",
            &serde_json::json!({"refresh": pair.refresh}),
        )
        .await;
    assert_error(res, 401, "token_not_valid").await;
}

/// The running server removes refresh tokens once they and their access tokens have
/// expired (`[database] prune_interval`), and nothing before.
#[tokio::test]
async fn the_server_prunes_expired_refresh_tokens_by_itself() {
    let app = TestApp::builder()
        .settings(|s| s.database.prune_interval = Duration::from_millis(100))
        .spawn()
        .await;
    app.create_user("user1", false).await;
    app.login("user1").await;
    let refresh_rows = async || {
        let counts = app.state.store.table_counts().await.unwrap();
        counts
            .iter()
            .find(|(t, _)| *t == "refresh_tokens")
            .unwrap()
            .1
    };
    // Several prune ticks pass: the live token stays.
    stays(
        "the live token is kept",
        Duration::from_millis(350),
        async || refresh_rows().await == 1,
    )
    .await;
    app.clock.advance(Duration::from_secs(24 * 3600 + 1));
    eventually(
        "the expired refresh token pruned",
        Duration::from_secs(5),
        async || (refresh_rows().await == 0).then_some(()),
    )
    .await;
}
