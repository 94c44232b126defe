//! PostgreSQL faults, with a real server: a database that is too slow answers 503
//! `temporarily_unavailable` with `Retry-After`, never a 500 or a hang; the JWKS keeps
//! answering from memory; a failed request leaves nothing half-written; the server
//! recovers by itself. Needs `TESSERA_TEST_POSTGRES_URL`.

use serde_json::{Value, json};
use sqlx::Connection as _;
use std::time::{Duration, Instant};
use tessera_test_support::{TestApp, fresh_postgres_schema, postgres_url};

async fn app_on_fresh_schema(statement_timeout: Duration) -> Option<(TestApp, String)> {
    if postgres_url().is_none() {
        eprintln!("skipped: TESSERA_TEST_POSTGRES_URL is not set");
        return None;
    }
    let url = fresh_postgres_schema().await.unwrap();
    // The schema's name as the server's application_name, so a test can find (and kill)
    // exactly this server's connections.
    let schema = url.rsplit('=').next().unwrap().to_owned();
    let url = format!("{url}&application_name={schema}");
    let app = TestApp::builder()
        .settings(|s| {
            s.database.url = Some(url.clone());
            s.database.statement_timeout = statement_timeout;
            s.database.acquire_timeout = Duration::from_secs(2);
        })
        .spawn()
        .await;
    Some((app, url))
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/auth/token/refresh/", &json!({"refresh": token}))
        .await
}

#[tokio::test]
async fn a_locked_database_answers_503_then_recovers_with_nothing_half_written() {
    let Some((app, url)) = app_on_fresh_schema(Duration::from_millis(300)).await else {
        return;
    };
    app.create_user("user1", false).await;
    let pair = app.login("user1").await;

    // Another session holds every token table: the server's statements hit their timeout.
    let mut blocker = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut tx = blocker.begin().await.unwrap();
    sqlx::query("LOCK TABLE refresh_tokens, revoked_access IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .unwrap();

    let started = Instant::now();
    let res = refresh(&app, &pair.refresh).await;
    assert!(started.elapsed() < Duration::from_secs(5), "no hang");
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "5");
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "temporarily_unavailable", "{body}");

    let verify = app
        .post_json("/auth/token/verify/", &json!({"token": pair.access}))
        .await;
    assert_eq!(
        verify.status(),
        503,
        "revocation cannot be checked: refuse to vouch"
    );

    // The JWKS answers from memory meanwhile.
    let jwks = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.status(), 200);

    tx.rollback().await.unwrap();
    // The failed rotation changed nothing: the same token still rotates, once.
    let res = refresh(&app, &pair.refresh).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        refresh(&app, &pair.refresh).await.status(),
        401,
        "and only once"
    );
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_killed_during_load_leave_no_half_rotated_family() {
    let Some((app, url)) = app_on_fresh_schema(Duration::from_secs(5)).await else {
        return;
    };
    let app = std::sync::Arc::new(app);
    let name = url.rsplit('=').next().unwrap().to_owned();
    let admin_url = url.rsplit_once('&').unwrap().0.to_owned();
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    app.create_user("user1", false).await;
    let mut pairs = Vec::new();
    for _ in 0..4 {
        pairs.push(app.login("user1").await);
    }

    // Four refresh chains run while every connection of this server (and no other
    // test's: they are found by application_name) is killed every 30 ms.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let killer = tokio::spawn({
        let stop = stop.clone();
        async move {
            let mut killed = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let n: Vec<bool> = sqlx::query_scalar(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE pid <> pg_backend_pid() AND application_name = $1",
                )
                .bind(&name)
                .fetch_all(&mut admin)
                .await
                .unwrap();
                killed += n.len();
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
            killed
        }
    });
    let chains: Vec<_> = pairs
        .into_iter()
        .map(|pair| {
            let app = app.clone();
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                let mut token = pair.refresh;
                for _ in 0..40 {
                    let res = refresh(&app, &token).await;
                    let status = res.status().as_u16();
                    statuses.push(status);
                    match status {
                        200 => {
                            let body: Value = res.json().await.unwrap();
                            token = body["refresh"].as_str().unwrap().to_owned();
                        }
                        // Retry the same token: the failed attempt must have changed nothing,
                        // unless it committed and only the answer was lost (then the retry is
                        // a reuse, 401, and the chain ends).
                        503 => {}
                        _ => break,
                    }
                }
                statuses
            })
        })
        .collect();
    let mut all = Vec::new();
    for c in chains {
        all.extend(c.await.unwrap());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let killed = killer.await.unwrap();
    assert!(killed > 0, "connections were killed");
    eprintln!(
        "killed {killed}; 200: {}, 401: {}, 503: {}",
        all.iter().filter(|s| **s == 200).count(),
        all.iter().filter(|s| **s == 401).count(),
        all.iter().filter(|s| **s == 503).count()
    );
    assert!(
        all.iter().all(|s| matches!(s, 200 | 401 | 503)),
        "never a 500: {all:?}"
    );
    assert!(all.iter().filter(|s| **s == 200).count() > 10, "{all:?}");

    // Nothing half-written.
    tessera_test_support::assert_postgres_invariants(&url).await;

    // Recovered without a restart.
    let pair = app.login("user1").await;
    assert_eq!(refresh(&app, &pair.refresh).await.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

/// Two replicas on one database share the login throttle: failures counted by one make
/// the other answer 429.
#[tokio::test]
async fn replicas_share_the_login_throttle() {
    let Some((first, url)) = app_on_fresh_schema(Duration::from_secs(5)).await else {
        return;
    };
    first.create_user("alice", false).await;
    // A second replica: same database and master key.
    let second = TestApp::builder().data_dir_of(&first).spawn().await;
    assert_eq!(
        second.state.settings.database.url.as_deref(),
        Some(url.as_str())
    );
    // One time for both (each test server has its own fixed clock).
    second
        .clock
        .set(tessera_token::Clock::now(first.clock.as_ref()));
    let login = |app: &TestApp, password: &str| {
        let req = app
            .client
            .post(app.url("/auth/token/"))
            .json(&json!({"username": "alice", "password": password}));
        async move { req.send().await.unwrap().status().as_u16() }
    };
    for _ in 0..5 {
        assert_eq!(login(&first, "wrong-password").await, 401);
    }
    assert_eq!(login(&second, tessera_test_support::PASSWORD).await, 429);
}

/// Terminates the server's connections (found by application_name) so its pool reconnects
/// with the role's current settings.
async fn reconnect_server(admin: &mut sqlx::PgConnection, app_name: &str) {
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(app_name)
    .execute(&mut *admin)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_read_only_database_refuses_writes_with_503_serves_reads_and_recovers() {
    // What a failover to a read-only standby looks like: every new transaction is read-only.
    let Some(base) = postgres_url() else {
        eprintln!("skipped: TESSERA_TEST_POSTGRES_URL is not set");
        return;
    };
    let url = fresh_postgres_schema().await.unwrap();
    let schema = url.rsplit('=').next().unwrap().to_owned();
    let role = format!("{schema}_r");
    let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
    for sql in [
        format!("CREATE ROLE {role} LOGIN"),
        format!("GRANT ALL ON SCHEMA {schema} TO {role}"),
    ] {
        sqlx::query(&sql).execute(&mut admin).await.unwrap();
    }
    let as_role = url.replacen("://postgres@", &format!("://{role}@"), 1);
    assert_ne!(as_role, url, "the test URL names the postgres user");
    let server_url = format!("{as_role}&application_name={role}");
    let app = TestApp::builder()
        .settings(|s| {
            s.database.url = Some(server_url.clone());
            s.database.acquire_timeout = Duration::from_secs(2);
        })
        .spawn()
        .await;
    app.create_user("user1", false).await;
    let pair = app.login("user1").await;

    sqlx::query(&format!(
        "ALTER ROLE {role} SET default_transaction_read_only = on"
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    reconnect_server(&mut admin, &role).await;

    // Writes: 503 with Retry-After, never a 500; the refresh token is not consumed.
    let refused = refresh(&app, &pair.refresh).await;
    assert_eq!(refused.status(), 503, "{:?}", refused.text().await);
    let login = app
        .post_json(
            "/auth/token/",
            &json!({"username": "user1", "password": tessera_test_support::PASSWORD}),
        )
        .await;
    assert_eq!(login.status(), 503);
    assert!(login.headers().contains_key("retry-after"));
    // Reads keep working: JWKS from memory, verification and the user from the database.
    let jwks = reqwest::get(app.url("/.well-known/jwks.json"))
        .await
        .unwrap();
    assert_eq!(jwks.status(), 200);
    let me = app.get_bearer("/auth/users/me/", &pair.access).await;
    assert_eq!(me.status(), 200);

    sqlx::query(&format!(
        "ALTER ROLE {role} RESET default_transaction_read_only"
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    reconnect_server(&mut admin, &role).await;
    let recovered = refresh(&app, &pair.refresh).await;
    assert_eq!(recovered.status(), 200, "the token survived the outage");
    tessera_test_support::assert_postgres_invariants(&url).await;

    drop(app);
    for sql in [
        format!("DROP SCHEMA {schema} CASCADE"),
        format!("DROP OWNED BY {role} CASCADE"),
        format!("DROP ROLE {role}"),
    ] {
        let _ = sqlx::query(&sql).execute(&mut admin).await;
    }
}
