//! The SQLite file made unwritable under a running server: writes answer 503 (nothing
//! half-written, the refresh token not consumed), reads keep working, and after a restart
//! on the writable file everything works and the refused token is still good, once.
//! "Unwritable" is `chattr +i` (immutable), which binds root too (file modes do not);
//! without the capability the test says so and skips. PostgreSQL's equivalent (a
//! read-only database) is in `tests/postgres.rs`.
//!
//! Recovery needs the restart: pooled connections opened while the file was immutable
//! are read-only for good (SQLite falls back to read-only when it cannot open for
//! writing), and one whose COMMIT failed is left by sqlx inside a transaction; both keep
//! answering 503 until the process restarts.

use crate::{refresh, verify_status};
use std::path::PathBuf;
use std::process::Command;
use tessera_test_support::TestApp;

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

    drop(immutable);
    let restarted = TestApp::builder()
        .settings(|s| s.issuer = Some(ISSUER.into()))
        .data_dir_of(&app);
    app.stop().await;
    let app = restarted.spawn().await;
    // The refused refresh consumed nothing: the same token works now, once.
    let res = refresh(&app, &pair.refresh).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let again = refresh(&app, &pair.refresh).await;
    assert_eq!(again.status(), 401, "{}", again.text().await.unwrap());
    app.login("user1").await;
}
