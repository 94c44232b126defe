//! Shadow users against a live Tessera: created on first sight with the caller's token,
//! read locally afterwards, refreshed when the token's `uv` says the user changed or the
//! copy is too old, kept when the authority is down, refused when the authority refuses.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use tessera_client::Verifier;
use tessera_client::shadow::{RemoteUser, Shadow, ShadowError, ShadowUsers, UserSync};
use tessera_test_support::TestApp;

/// A service's user: what it copies.
#[derive(Debug, Clone, PartialEq)]
struct Local {
    email: String,
    first_name: String,
}

#[derive(Default)]
struct Memory(Mutex<HashMap<i64, Shadow<Local>>>);

impl UserSync for Memory {
    type User = Local;
    type Error = std::convert::Infallible;

    async fn load(&self, id: i64) -> Result<Option<Shadow<Local>>, Self::Error> {
        Ok(self.0.lock().unwrap().get(&id).cloned())
    }

    async fn save(
        &self,
        id: i64,
        user: &RemoteUser,
        version: Option<&str>,
        synced_at: SystemTime,
    ) -> Result<Local, Self::Error> {
        let local = Local {
            email: user["email"].as_str().unwrap().to_owned(),
            first_name: user["first_name"].as_str().unwrap().to_owned(),
        };
        let shadow = Shadow {
            user: local.clone(),
            version: version.map(str::to_owned),
            synced_at,
        };
        self.0.lock().unwrap().insert(id, shadow);
        Ok(local)
    }
}

/// Changes a user from another process's connection to the SQLite file (as the CLI
/// would), then waits out the server's poll for such changes (its read cache looks every
/// 100 ms).
async fn rename(app: &TestApp, id: i64, first_name: &str) {
    let url = format!("sqlite://{}", app.data_dir().join("tessera.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE users SET first_name = ? WHERE id = ?")
        .bind(first_name)
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
}

#[tokio::test]
async fn a_user_is_copied_once_and_refreshed_when_the_token_says_it_changed() {
    if tessera_test_support::backend_is_postgres() {
        return; // `rename` edits the SQLite file; the logic under test is the client's.
    }
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let verifier = Verifier::builder(app.address.clone(), "tessera")
        .discover()
        .await
        .unwrap();
    let shadows = ShadowUsers::new(&app.address, Memory::default());

    let first = app.login("alice").await;
    let claims = verifier.verify(&first.access).await.unwrap();
    let version = claims.uv.clone().expect("user tokens carry uv");
    let user = shadows.user(&claims, &first.access).await.unwrap();
    assert_eq!(user.email, "alice@example.com");
    assert_eq!(shadows.stats().fetches, 1, "first sight fetches");

    shadows.user(&claims, &first.access).await.unwrap();
    let second = app.login("alice").await;
    let claims2 = verifier.verify(&second.access).await.unwrap();
    assert_eq!(
        claims2.uv.as_deref(),
        Some(version.as_str()),
        "nothing changed"
    );
    shadows.user(&claims2, &second.access).await.unwrap();
    assert_eq!(shadows.stats().fetches, 1, "later calls read the copy");

    rename(&app, 1, "Alicia").await;
    let third = app.login("alice").await;
    let claims3 = verifier.verify(&third.access).await.unwrap();
    assert_ne!(
        claims3.uv.as_deref(),
        Some(version.as_str()),
        "uv follows the user"
    );
    let user = shadows.user(&claims3, &third.access).await.unwrap();
    assert_eq!(user.first_name, "Alicia");
    assert_eq!(shadows.stats().fetches, 2, "a new version fetches once");

    // The authority goes away: the copy still serves, an unseen user cannot be made.
    app.create_user("bob", false).await;
    let bob = app.login("bob").await;
    let bob_claims = verifier.verify(&bob.access).await.unwrap();
    let old = claims.clone(); // alice's first token: older version than the copy
    app.stop().await;
    let user = shadows.user(&old, &first.access).await.unwrap();
    assert_eq!(
        user.first_name, "Alicia",
        "stale copy served while unreachable"
    );
    assert!(matches!(
        shadows.user(&bob_claims, &bob.access).await,
        Err(ShadowError::Unavailable)
    ));
}

#[tokio::test]
async fn copies_expire_and_refusals_and_service_tokens_make_no_user() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice", false).await;
    let verifier = Verifier::builder(app.address.clone(), "tessera")
        .discover()
        .await
        .unwrap();
    let shadows = ShadowUsers::new(&app.address, Memory::default()).max_age(Duration::ZERO);
    let pair = app.login("alice").await;
    let claims = verifier.verify(&pair.access).await.unwrap();
    shadows.user(&claims, &pair.access).await.unwrap();
    shadows.user(&claims, &pair.access).await.unwrap();
    assert_eq!(shadows.stats().fetches, 2, "max_age 0 refetches every time");

    let mut service = claims.clone();
    service.user_id = None;
    assert!(matches!(
        shadows.user(&service, &pair.access).await,
        Err(ShadowError::NotAUser)
    ));

    // Disabled at the authority: the copy is not handed out any more.
    app.state
        .store
        .set_active(alice.id, false, 0)
        .await
        .unwrap();
    assert!(matches!(
        shadows.user(&claims, &pair.access).await,
        Err(ShadowError::Refused(401))
    ));
}
