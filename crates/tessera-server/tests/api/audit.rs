//! The audit trail records logins (success, failure, throttled) with the client address,
//! refresh-token reuse, logouts and user changes; never a password or token.

use serde_json::json;
use tessera_test_support::{PASSWORD, TestApp};

#[tokio::test]
async fn security_events_are_recorded_in_order() {
    let app = TestApp::spawn().await;
    let user = app.create_user("alice", false).await;
    let pair = app.login("alice").await;
    for _ in 0..5 {
        app.post_json(
            "/auth/token/",
            &json!({"username": "alice", "password": "wrong-password"}),
        )
        .await;
    }
    let throttled = app
        .post_json(
            "/auth/token/",
            &json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(throttled.status(), 429);
    let next = app
        .post_json("/auth/token/refresh/", &json!({"refresh": pair.refresh}))
        .await;
    assert_eq!(next.status(), 200);
    let next: tessera_proto::TokenPair = next.json().await.unwrap();
    let reused = app
        .post_json("/auth/token/refresh/", &json!({"refresh": pair.refresh}))
        .await;
    assert_eq!(reused.status(), 401);
    let _ = app
        .post_json("/auth/token/blacklist/", &json!({"refresh": next.refresh}))
        .await;

    let events = app.state.store.audit_events(0, 100).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "user.created",
            "login.success",
            "login.failure",
            "login.failure",
            "login.failure",
            "login.failure",
            "login.failure",
            "login.throttled",
            "token.reuse_detected",
        ],
        "{events:#?}"
    );
    let success = &events[1];
    assert_eq!(success.actor.as_deref(), Some(user.id.to_string().as_str()));
    assert_eq!(success.subject.as_deref(), Some("alice"));
    assert_eq!(success.ip.as_deref(), Some("127.0.0.1"));
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));
    let everything = format!("{events:?}");
    for secret in [
        PASSWORD,
        "wrong-password",
        pair.access.as_str(),
        pair.refresh.as_str(),
    ] {
        assert!(
            !everything.contains(secret),
            "no secrets in the audit trail"
        );
    }
    // Paging: after the last id there is nothing more.
    let last = events.last().unwrap().id;
    assert!(
        app.state
            .store
            .audit_events(last, 10)
            .await
            .unwrap()
            .is_empty()
    );
}
