//! The SQLite file made unwritable under a running server: writes answer 503 (nothing
//! half-written, the refresh token not consumed), reads keep working, and once the file
//! is writable again the same process recovers: the refused token is still good, once,
//! and logins work.
//! "Unwritable" is `chattr +i` (immutable), which binds root too (file modes do not);
//! without the capability the test says so and skips. PostgreSQL's equivalent (a
//! read-only database) is in `tests/postgres.rs`.
//!
//! Recovery without a restart is the pool's health watcher (`store/sqlite/health.rs`):
//! connections opened while the file was immutable are read-only for good, and one whose
//! COMMIT failed is left by sqlx inside a transaction; both are replaced.

use crate::api::{refresh, verify_status};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use tessera_test_support::{TestApp, eventually};

/// Makes files immutable, and writable again when dropped (also when a check fails).
struct Immutable(Vec<PathBuf>);

impl Immutable {
    fn set(files: Vec<PathBuf>) -> Option<Self> {
        let ok = Command::new("chattr")
            .arg("+i")
            .args(&files)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Self(files))
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").args(&self.0).status();
    }
}

#[tokio::test]
async fn an_unwritable_database_refuses_writes_with_503_and_recovers() {
    if tessera_test_support::backend_is_postgres() {
        return;
    }
    const ISSUER: &str = "http://tessera.unwritable.test";
    let app = TestApp::builder()
        .settings(|s| s.issuer = Some(ISSUER.into()))
        .spawn()
        .await;
    let user = app.create_user("user1", false).await;
    let pair = app.login("user1").await;
    let db = app.data_dir().join("tessera.db");
    let files = vec![db.with_extension("db-wal"), db];
    let Some(immutable) = Immutable::set(files) else {
        eprintln!("skipped: chattr +i is not permitted here");
        return;
    };

    let res = refresh(&app, &pair.refresh).await;
    assert_eq!(res.status(), 503, "a refresh needs a write");
    assert!(res.headers().contains_key("retry-after"));
    // Readiness says so (within the health watcher's probe interval), for a load
    // balancer to send writes elsewhere; liveness does not change. (Before: /readyz
    // answered 200 while logins and refreshes answered 503.)
    let ready_status = || async {
        reqwest::get(app.url("/readyz"))
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    eventually(
        "/readyz 503 while writes fail",
        Duration::from_secs(5),
        async || (ready_status().await == 503).then_some(()),
    )
    .await;
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        200
    );
    let res = app
        .post_json(
            "/auth/token/",
            &serde_json::json!({"username": "user1", "password": tessera_test_support::PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 503, "a login writes its refresh token");

    // Reads: verification and the user's own record.
    assert_eq!(verify_status(&app, &pair.access).await, 200);
    let res = app
        .get_bearer(&format!("/auth/users/{}/", user.id), &pair.access)
        .await;
    assert_eq!(res.status(), 200);

    // More writes during the outage, so that connections are opened read-only and
    // commits fail on several of the pool's connections.
    for _ in 0..8 {
        assert_eq!(refresh(&app, &pair.refresh).await.status(), 503);
    }

    drop(immutable);
    let writable = Instant::now();
    // The same process recovers within the health watcher's probe interval; a 503 in
    // between consumed nothing, so the same token may be presented again.
    let res = eventually(
        "an answer other than 503",
        Duration::from_secs(10),
        async || {
            let res = refresh(&app, &pair.refresh).await;
            (res.status() != 503).then_some(res)
        },
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    eprintln!(
        "writes recovered {:?} after the file became writable",
        writable.elapsed()
    );
    // The replay is a reuse: 401. Its detection writes too, possibly on a pooled
    // connection the health watcher has not yet replaced (its probe runs every 100 ms):
    // a 503 meanwhile consumed nothing and is retried, as a client would.
    let again = eventually(
        "an answer other than 503",
        Duration::from_secs(10),
        async || {
            let res = refresh(&app, &pair.refresh).await;
            (res.status() != 503).then_some(res)
        },
    )
    .await;
    assert_eq!(again.status(), 401, "{}", again.text().await.unwrap());
    // Every pooled connection writes again: more logins than the pool has connections
    // (8 by default; the pool hands idle connections out in turn).
    for _ in 0..10 {
        app.login("user1").await;
    }
    assert_eq!(ready_status().await, 200, "ready again");
}
