//! Three `tessera serve` processes on one PostgreSQL database, behind no balancer but a
//! client that spreads its requests round-robin: logins, refreshes (the same token sent
//! to two replicas at once), logouts and a key rotation made with the CLI. Afterwards the
//! invariants: every family has at most one live token, every revoked token is refused by
//! every replica, all replicas publish and use the new key, nothing answered 5xx.
//! Needs `TESSERA_TEST_POSTGRES_URL`.

use crate::common::{MASTER_KEY, Server, create_users, login, post, tessera};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const USERS: [&str; 6] = ["r0", "r1", "r2", "r3", "r4", "r5"];

/// Everything the run observed, checked at the end.
#[derive(Default)]
struct Observed {
    statuses: Vec<u16>,
    revoked_refresh: Vec<String>,
    revoked_access: Vec<String>,
}

struct Cluster {
    urls: Vec<String>,
    client: reqwest::Client,
    seen: Mutex<Observed>,
}

impl Cluster {
    async fn post(&self, replica: usize, path: &str, body: &Value) -> (u16, Value) {
        let url = &self.urls[replica % self.urls.len()];
        let (status, body) = post(&self.client, url, path, body).await;
        self.seen.lock().unwrap().statuses.push(status);
        (status, body)
    }

    async fn login(&self, replica: usize, user: &str) -> Value {
        let url = &self.urls[replica % self.urls.len()];
        let (status, pair) = login(&self.client, url, user).await;
        self.seen.lock().unwrap().statuses.push(status);
        assert_eq!(status, 200, "login of {user} at replica {replica}");
        pair
    }

    async fn jwks_kids(&self, replica: usize) -> Vec<String> {
        let jwks: Value = tessera_test_support::get_json(
            &self.client,
            &format!("{}/.well-known/jwks.json", self.urls[replica]),
        )
        .await;
        let mut kids: Vec<String> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect();
        kids.sort();
        kids
    }

    /// One user's session: a login, rotations across replicas, a refresh token raced to
    /// two replicas at once, then a second session ended by logout.
    async fn session(&self, worker: usize, user: &str) {
        let mut pair = self.login(worker, user).await;
        let mut family = vec![pair.clone()];
        for step in 1..=4 {
            let (status, next) = self
                .post(
                    worker + step,
                    "/auth/token/refresh/",
                    &json!({"refresh": pair["refresh"]}),
                )
                .await;
            assert_eq!(status, 200, "rotation {step} of {user}");
            pair = next;
            family.push(pair.clone());
        }
        let body = json!({"refresh": pair["refresh"]});
        let (a, b) = tokio::join!(
            self.post(worker, "/auth/token/refresh/", &body),
            self.post(worker + 1, "/auth/token/refresh/", &body),
        );
        let mut statuses = [a.0, b.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 401], "one winner of the race for {user}");
        // The loser's attempt was a reuse: the whole family, the winner's new pair
        // included, is over.
        family.push(if a.0 == 200 { a.1 } else { b.1 });
        {
            let mut seen = self.seen.lock().unwrap();
            for p in &family {
                seen.revoked_refresh
                    .push(p["refresh"].as_str().unwrap().to_owned());
                seen.revoked_access
                    .push(p["access"].as_str().unwrap().to_owned());
            }
        }

        let second = self.login(worker + 2, user).await;
        let (status, _) = self
            .post(
                worker,
                "/auth/token/blacklist/",
                &json!({"refresh": second["refresh"]}),
            )
            .await;
        assert_eq!(status, 200, "logout of {user}");
        let mut seen = self.seen.lock().unwrap();
        seen.revoked_refresh
            .push(second["refresh"].as_str().unwrap().to_owned());
        seen.revoked_access
            .push(second["access"].as_str().unwrap().to_owned());
    }
}

fn kid_of(token: &Value) -> String {
    let header = token.as_str().unwrap().split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_on_one_database_keep_the_invariants() {
    if tessera_test_support::postgres_url().is_none() {
        eprintln!("skipped: TESSERA_TEST_POSTGRES_URL is not set");
        return;
    }
    let pg = tessera_test_support::fresh_postgres_schema().await.unwrap();
    let env = [
        ("TESSERA_MASTER_KEY", MASTER_KEY),
        ("TESSERA_DATABASE__KEY_RELOAD_INTERVAL", "200ms"),
    ];
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let dir0 = dirs[0].path().to_str().unwrap();
    // `tessera migrate` creates the schema, and is idempotent.
    for _ in 0..2 {
        let out = tessera(
            &["--data-dir", dir0, "--database-url", &pg, "migrate"],
            &env,
            "",
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"));
    }
    create_users(&["--data-dir", dir0, "--database-url", &pg], &env, &USERS);

    // All three start at once on the empty key table: one generates the key, the others
    // lose the race on the one-active-key index and load the winner's.
    let (a, b, c) = tokio::join!(
        Server::start(dirs[0].path(), Some(&pg), &env),
        Server::start(dirs[1].path(), Some(&pg), &env),
        Server::start(dirs[2].path(), Some(&pg), &env),
    );
    let servers = [a, b, c];
    let cluster = Arc::new(Cluster {
        urls: servers.iter().map(|s| s.url.clone()).collect(),
        client: reqwest::Client::new(),
        seen: Mutex::new(Observed::default()),
    });
    let first_kids = cluster.jwks_kids(0).await;
    assert_eq!(first_kids.len(), 1, "one key was generated: {first_kids:?}");
    for r in 1..3 {
        assert_eq!(cluster.jwks_kids(r).await, first_kids, "replica {r}");
    }
    let old_pair = cluster.login(0, "r0").await;

    // The first half of the sessions, concurrently.
    let run = |range: std::ops::Range<usize>| {
        let tasks: Vec<_> = range
            .map(|w| {
                let cluster = cluster.clone();
                tokio::spawn(async move { cluster.session(w, USERS[w]).await })
            })
            .collect();
        futures_util::future::join_all(tasks)
    };
    for t in run(0..3).await {
        t.unwrap();
    }

    // Rotate the key with the CLI, from outside every replica, while the second half runs.
    let rotate = tokio::task::spawn_blocking({
        let pg = pg.clone();
        let dir = dir0.to_owned();
        move || {
            let out = tessera(
                &[
                    "--data-dir",
                    &dir,
                    "--database-url",
                    &pg,
                    "--output",
                    "json",
                    "keys",
                    "rotate",
                    "--now",
                ],
                &env,
                "",
            );
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            v["kid"].as_str().unwrap().to_owned()
        }
    });
    let sessions = run(3..6);
    let (new_kid, results) = tokio::join!(rotate, sessions);
    let new_kid = new_kid.unwrap();
    for t in results {
        t.unwrap();
    }

    // Within a bounded time every replica publishes both keys and signs with the new one.
    let deadline = Instant::now() + Duration::from_secs(10);
    for r in 0..3 {
        loop {
            let kids = cluster.jwks_kids(r).await;
            let ready: Value = tessera_test_support::get_json(
                &cluster.client,
                &format!("{}/readyz", cluster.urls[r]),
            )
            .await;
            if kids.contains(&new_kid) && kids.len() == 2 && ready["signing_key"] == *new_kid {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "replica {r} never saw {new_kid}: {kids:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let pair = cluster.login(r, "r1").await;
        assert_eq!(
            kid_of(&pair["access"]),
            new_kid,
            "replica {r} signs with the new key"
        );
    }
    // Tokens of the retired key still verify everywhere (it stays published).
    for r in 0..3 {
        let (status, _) = cluster
            .post(
                r,
                "/auth/token/verify/",
                &json!({"token": old_pair["access"]}),
            )
            .await;
        assert_eq!(status, 200, "old-key token at replica {r}");
    }

    // Every revoked token is refused by every replica.
    let (revoked_refresh, revoked_access) = {
        let seen = cluster.seen.lock().unwrap();
        (seen.revoked_refresh.clone(), seen.revoked_access.clone())
    };
    assert!(revoked_refresh.len() >= 6 * 7);
    for r in 0..3 {
        for token in &revoked_refresh {
            let (status, _) = cluster
                .post(r, "/auth/token/refresh/", &json!({"refresh": token}))
                .await;
            assert_eq!(status, 401, "revoked refresh token at replica {r}");
        }
        for token in &revoked_access {
            let (status, _) = cluster
                .post(r, "/auth/token/verify/", &json!({"token": token}))
                .await;
            assert_eq!(status, 401, "revoked access token at replica {r}");
        }
    }

    // The database agrees.
    tessera_test_support::assert_postgres_invariants(&pg).await;
    let active_keys = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM signing_keys WHERE alg = 'RS256' AND state = 'active'",
    )
    .fetch_one(&sqlx::PgPool::connect(&pg).await.unwrap())
    .await
    .unwrap();
    assert_eq!(active_keys, 1);

    let statuses = cluster.seen.lock().unwrap().statuses.clone();
    assert!(
        statuses.iter().all(|s| *s < 500),
        "a 5xx was answered: {statuses:?}"
    );
    for s in servers {
        s.stop().await;
    }
}
