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

/// An unauthenticated flood writes little: a login id longer than any account's is refused
/// before anything is counted or stored, throttled logins (answered before any hashing)
/// write one event per address a minute whatever the login ids, and every value an event
/// keeps is cut at 150 characters.
#[tokio::test]
async fn an_unauthenticated_flood_writes_little_to_the_audit_trail() {
    let app = TestApp::spawn().await;
    let count_rows = || async {
        let counts = app.state.store.table_counts().await.unwrap();
        let of = |t: &str| counts.iter().find(|(n, _)| *n == t).unwrap().1;
        (of("audit_events"), of("login_failures"))
    };
    let long_id = "x".repeat(60_000);
    for _ in 0..20 {
        let res = app
            .post_json(
                "/auth/token/",
                &json!({"username": long_id, "password": "wrong-password"}),
            )
            .await;
        assert_eq!(res.status(), 401);
    }
    assert_eq!(
        count_rows().await,
        (0, 0),
        "nothing stored for over-long ids"
    );

    // Two login ids throttled from one address: one throttled event for both.
    let id150 = |c: char| c.to_string().repeat(150);
    for name in [id150('a'), id150('b')] {
        for _ in 0..15 {
            app.post_json(
                "/auth/token/",
                &json!({"username": name, "password": "wrong-password"}),
            )
            .await;
        }
    }
    let events = app.state.store.audit_events(0, 1000).await.unwrap();
    let count = |kind: &str| events.iter().filter(|e| e.kind == kind).count();
    assert_eq!(
        count("login.failure"),
        10,
        "five each until the throttle starts"
    );
    assert_eq!(count("login.throttled"), 1, "{events:#?}");
    assert!(events.iter().all(|e| {
        e.subject
            .as_deref()
            .is_none_or(|s| s.chars().count() <= 151)
    }));
    // An id no account has is never stored as typed (it may be a password typed in the
    // wrong box): a keyed hash of it, the same for the same id.
    let failures: Vec<&str> = events
        .iter()
        .filter(|e| e.kind == "login.failure")
        .map(|e| e.subject.as_deref().unwrap())
        .collect();
    assert!(
        failures
            .iter()
            // (Not the id: 150 a's. A 12-digit hex tag may hold "aaa" by chance.)
            .all(|s| s.starts_with("unknown:") && !s.contains(&"a".repeat(20))),
        "{failures:?}"
    );
    assert_eq!(failures[0], failures[4], "one id, one subject");
    assert_ne!(failures[0], failures[5], "another id, another subject");
    // A minute later (the back-off over: one more failure, then throttled again) the next
    // throttled attempt is recorded again.
    app.clock.advance(std::time::Duration::from_secs(61));
    for _ in 0..3 {
        app.post_json(
            "/auth/token/",
            &json!({"username": id150('a'), "password": "wrong-password"}),
        )
        .await;
    }
    let events = app.state.store.audit_events(0, 1000).await.unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == "login.throttled")
            .count(),
        2
    );
}
