//! Crash safety on SQLite: `tessera serve` is killed with SIGKILL while clients refresh and
//! log in, then restarted, `TESSERA_TEST_CRASH_ROUNDS` times (20 by default; 100 for the
//! long run). After every kill: the database passes `PRAGMA integrity_check`, no refresh
//! family has two live tokens, no refresh token was ever answered 200 twice, and every
//! refresh token a client received (200) and has not presented since is still live: a
//! durable commit is never lost, and a token whose answer was lost in the crash is the only
//! one allowed to be rotated without the client knowing.

use crate::common;

use base64::Engine as _;
use common::Server;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WORKERS: usize = 4;

/// What one client knows.
#[derive(Debug, Default)]
struct Worker {
    /// The refresh token of its last 200 answer, not presented since.
    current: Option<String>,
    /// The token of the request on the wire, if one is.
    in_flight: Option<String>,
    /// Asked to stop before the crash (its last answer is then settled).
    settle: bool,
}

fn jti_of(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["jti"].as_str().unwrap().to_owned()
}

async fn work(
    url: String,
    user: String,
    state: Arc<Mutex<Worker>>,
    answered: Arc<Mutex<HashSet<String>>>,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    loop {
        if state.lock().unwrap().settle {
            return;
        }
        let presented = state.lock().unwrap().current.clone();
        let Some(token) = presented else {
            let Ok(res) = client
                .post(format!("{url}/auth/token/"))
                .json(&json!({"username": user, "password": common::PASSWORD}))
                .send()
                .await
            else {
                return;
            };
            if let Ok(pair) = res.json::<Value>().await
                && let Some(refresh) = pair["refresh"].as_str()
            {
                state.lock().unwrap().current = Some(refresh.to_owned());
            }
            continue;
        };
        state.lock().unwrap().in_flight = Some(token.clone());
        let Ok(res) = client
            .post(format!("{url}/auth/token/refresh/"))
            .json(&json!({"refresh": token}))
            .send()
            .await
        else {
            return; // the server is gone; the request stays "in flight"
        };
        let status = res.status().as_u16();
        let Ok(body) = res.json::<Value>().await else {
            return;
        };
        let mut s = state.lock().unwrap();
        s.in_flight = None;
        match (status, body["refresh"].as_str()) {
            (200, Some(next)) => {
                assert!(
                    answered.lock().unwrap().insert(jti_of(&token)),
                    "a refresh token was answered 200 twice"
                );
                s.current = Some(next.to_owned());
            }
            // Reuse detection after an answer lost in an earlier crash: log in again.
            _ => s.current = None,
        }
    }
}

/// Checks the invariants; returns how many received tokens were checked to be live.
async fn check_invariants(db: &str, workers: &[Arc<Mutex<Worker>>]) -> usize {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect(&format!("sqlite://{db}"))
        .await
        .unwrap();
    let (integrity,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
    let doubled: Vec<(String, i64)> = sqlx::query_as(
        "SELECT family, COUNT(*) FROM refresh_tokens WHERE state = 'active' \
         GROUP BY family HAVING COUNT(*) > 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        doubled.is_empty(),
        "families with two live tokens: {doubled:?}"
    );
    let mut checked = 0;
    for w in workers {
        let settled = {
            let w = w.lock().unwrap();
            match (&w.current, &w.in_flight) {
                (Some(current), None) => Some(current.clone()),
                _ => None, // its last answer may have been lost with the crash
            }
        };
        let Some(current) = settled else {
            continue;
        };
        let state: Option<(String,)> =
            sqlx::query_as("SELECT state FROM refresh_tokens WHERE jti = $1")
                .bind(jti_of(&current))
                .fetch_optional(&pool)
                .await
                .unwrap();
        assert_eq!(
            state.map(|(s,)| s).as_deref(),
            Some("active"),
            "a refresh token the client received was lost or changed"
        );
        checked += 1;
    }
    pool.close().await;
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_loses_nothing_committed() {
    let rounds: usize = std::env::var("TESSERA_TEST_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let users: Vec<String> = (0..WORKERS).map(|i| format!("crash{i}")).collect();
    let names: Vec<&str> = users.iter().map(String::as_str).collect();
    common::create_users(&["--data-dir", data], &[], &names);
    let db = dir.path().join("tessera.db");
    let workers: Vec<Arc<Mutex<Worker>>> = (0..WORKERS).map(|_| Arc::default()).collect();
    let answered = Arc::new(Mutex::new(HashSet::new()));
    let (mut refreshed, mut checked) = (0, 0);
    for round in 0..rounds {
        let server =
            Server::start(dir.path(), None, &[("TESSERA_THROTTLE__ENABLED", "false")]).await;
        let tasks: Vec<_> = workers
            .iter()
            .zip(&users)
            .map(|(w, user)| {
                tokio::spawn(work(
                    server.url.clone(),
                    user.clone(),
                    Arc::clone(w),
                    Arc::clone(&answered),
                ))
            })
            .collect();
        // Somewhere between 40 and 240 ms of load, differently each round; then half the
        // clients finish their request and stop (their last token must survive the
        // crash), the others are cut off mid-request.
        tokio::time::sleep(Duration::from_millis(40 + (round as u64 * 53) % 200)).await;
        for w in &workers[..WORKERS / 2] {
            w.lock().unwrap().settle = true;
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
        server.stop().await;
        for task in tasks {
            // Each ends on its first failed request; a panic is an invariant broken.
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("worker stops after the crash")
                .unwrap();
        }
        checked += check_invariants(db.to_str().unwrap(), &workers).await;
        for w in &workers {
            w.lock().unwrap().settle = false;
        }
        refreshed = answered.lock().unwrap().len();
    }
    eprintln!(
        "{rounds} crashes: {refreshed} refreshes answered, {checked} received tokens found live"
    );
    assert!(
        refreshed > rounds,
        "the load really refreshed ({refreshed} tokens)"
    );
    assert!(checked > 0, "some clients had a settled token at a crash");
}
