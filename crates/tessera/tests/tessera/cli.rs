//! The `tessera` binary: user management, imports, configuration errors, `--output json`.

use crate::common;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn tessera(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let dir = dir.to_str().unwrap();
    common::run(&[&["--data-dir", dir], args].concat(), &[], stdin)
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn users_are_created_listed_and_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let create = [
        "user",
        "create",
        "--username",
        "user1",
        "--email",
        "user1@example.com",
        "--password-stdin",
        "--staff",
    ];
    let out = tessera(
        dir.path(),
        &[&["--output", "json"], &create[..]].concat(),
        "first password 1\n",
    );
    let user = json(&out);
    assert_eq!(user["email"], "user1@example.com");
    assert_eq!(user["is_staff"], true);

    let again = tessera(dir.path(), &create, "first password 1\n");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let short = tessera(
        dir.path(),
        &[
            "user",
            "create",
            "--username",
            "u2",
            "--email",
            "u2@example.com",
            "--password-stdin",
        ],
        "short\n",
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8"));

    let out = tessera(
        dir.path(),
        &["user", "disable", "user1", "--output", "json"],
        "",
    );
    assert_eq!(json(&out)["is_active"], false);
    let list = json(&tessera(
        dir.path(),
        &["user", "list", "--output", "json"],
        "",
    ));
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["is_active"], false);

    let out = tessera(
        dir.path(),
        &[
            "user",
            "set-password",
            "user1@example.com",
            "--password-stdin",
        ],
        "a new password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `tessera user import FILE --output json` → (created, skipped, refused).
fn import_counts(dir: &Path, file: &Path) -> (u64, u64, u64) {
    let summary = json(&tessera(
        dir,
        &["user", "import", file.to_str().unwrap(), "--output", "json"],
        "",
    ));
    let count = |k: &str| summary[k].as_u64().unwrap();
    (count("created"), count("skipped"), count("refused"))
}

#[test]
fn imports_report_created_skipped_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    let json_file = dir.path().join("users.json");
    std::fs::write(
        &json_file,
        r#"[
          {"username": "a", "email": "a@example.com", "password": "password-a", "is_staff": true},
          {"username": "b", "email": "b@example.com", "password": "password-b"},
          {"username": "a", "email": "a2@example.com", "password": "password-a"},
          {"username": "bad name", "email": "c@example.com", "password": "password-c"},
          {"username": "d", "email": "not-an-email", "password": "password-d"},
          {"username": "e", "email": "e@example.com"}
        ]"#,
    )
    .unwrap();
    assert_eq!(import_counts(dir.path(), &json_file), (2, 1, 3));

    let csv_file = dir.path().join("users.csv");
    std::fs::write(
        &csv_file,
        "username,email,password,first_name,last_name,is_staff,is_superuser\n\
         f,f@example.com,password-f,Fay,Doe,false,1\n\
         b,b@example.com,password-b,,,,\n\
         g,g@example.com,password-g,,,maybe,\n",
    )
    .unwrap();
    assert_eq!(import_counts(dir.path(), &csv_file), (1, 1, 1));
    let list = json(&tessera(
        dir.path(),
        &["user", "list", "--output", "json"],
        "",
    ));
    let f = list
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "f@example.com")
        .unwrap();
    assert_eq!(
        (f["first_name"].as_str(), f["is_superuser"].as_bool()),
        (Some("Fay"), Some(true))
    );
}

#[test]
fn unknown_configuration_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tessera.toml");
    std::fs::write(&config, "[tokens]\naccess_lifetim = \"5m\"\n").unwrap();
    let out = tessera(
        dir.path(),
        &["--config", config.to_str().unwrap(), "user", "list"],
        "",
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("access_lifetim"), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["--data-dir", dir.path().to_str().unwrap(), "user", "list"])
        .env("TESSERA_BOGUS", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bogus"));
}

#[test]
fn serve_help_documents_every_key() {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for key in [
        "issuer",
        "bind",
        "data_dir",
        "master_key",
        "log_format",
        "TESSERA_DATABASE__URL",
        "access_lifetime",
        "refresh_lifetime",
        "algorithm",
        "verify_accepts_refresh",
        "max_length",
    ] {
        assert!(help.contains(key), "serve --help lacks {key}");
    }
}

#[test]
fn clients_are_registered_shown_rotated_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let created = json(&tessera(
        dir.path(),
        &[
            "--output",
            "json",
            "client",
            "create",
            "--id",
            "web",
            "--name",
            "Web App",
            "--redirect-uri",
            "https://app.example.com/cb",
            "--scope",
            "openid",
            "--first-party",
        ],
        "",
    ));
    assert_eq!(created["client_id"], "web");
    let first = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(first.len(), 43, "256 bits, base64url");
    let public = json(&tessera(
        dir.path(),
        &[
            "--output",
            "json",
            "client",
            "create",
            "--id",
            "spa",
            "--public",
            "--redirect-uri",
            "http://localhost:3000/cb",
        ],
        "",
    ));
    assert!(public["client_secret"].is_null());

    let shown = json(&tessera(
        dir.path(),
        &["--output", "json", "client", "show", "web"],
        "",
    ));
    assert_eq!(shown["name"], "Web App");
    assert_eq!(shown["type"], "confidential");
    assert_eq!(shown["scopes"], serde_json::json!(["openid"]));
    assert!(
        shown.get("secret_hash").is_none(),
        "the hash is never printed"
    );
    let listed = json(&tessera(
        dir.path(),
        &["--output", "json", "client", "list"],
        "",
    ));
    assert_eq!(listed.as_array().unwrap().len(), 2);

    let rotated = json(&tessera(
        dir.path(),
        &["--output", "json", "client", "rotate-secret", "web"],
        "",
    ));
    assert_ne!(rotated["client_secret"], first.as_str());
    let refused = tessera(dir.path(), &["client", "rotate-secret", "spa"], "");
    assert!(!refused.status.success(), "a public client has no secret");

    for bad in [
        &["client", "create", "--id", "x y"][..],
        &[
            "client",
            "create",
            "--id",
            "evil",
            "--redirect-uri",
            "http://evil.example.com/cb",
        ],
        &["client", "create", "--id", "nocb"],
        &[
            "client",
            "create",
            "--id",
            "svc",
            "--public",
            "--grant",
            "client_credentials",
        ],
        &[
            "client",
            "create",
            "--id",
            "web",
            "--redirect-uri",
            "https://a.example/cb",
        ],
    ] {
        let out = tessera(dir.path(), bad, "");
        assert!(!out.status.success(), "{bad:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
    }

    json(&tessera(
        dir.path(),
        &["--output", "json", "client", "delete", "web"],
        "",
    ));
    let gone = tessera(dir.path(), &["client", "show", "web"], "");
    assert!(!gone.status.success());
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn keys_are_imported_rotated_retired_revoked_and_exported() {
    let dir = tempfile::tempdir().unwrap();
    // Create the installation's first key, as a first start would.
    json(&tessera(
        dir.path(),
        &["--output", "json", "keys", "rotate", "--now"],
        "",
    ));
    let list = |d: &Path| json(&tessera(d, &["--output", "json", "keys", "list"], ""));
    let first = list(dir.path());
    assert_eq!(first.as_array().unwrap().len(), 1);
    let first_kid = first[0]["kid"].as_str().unwrap().to_owned();
    assert_eq!(first[0]["state"], "active");

    // The original design's key: `openssl genrsa` (PKCS#1), imported as the next key.
    let pem = dir.path().join("django.pem");
    openssl(&[
        "genrsa",
        "-traditional",
        "-out",
        pem.to_str().unwrap(),
        "2048",
    ]);
    assert!(
        std::fs::read_to_string(&pem)
            .unwrap()
            .starts_with("-----BEGIN RSA PRIVATE KEY")
    );
    let imported = json(&tessera(
        dir.path(),
        &["--output", "json", "keys", "import", pem.to_str().unwrap()],
        "",
    ));
    assert_eq!(imported["state"], "next");
    let imported_kid = imported["kid"].as_str().unwrap().to_owned();
    // A second staged key of the same algorithm is refused.
    let twice = tessera(dir.path(), &["keys", "rotate"], "");
    assert!(!twice.status.success());
    assert!(String::from_utf8_lossy(&twice.stderr).contains("already staged"));

    // Short RSA keys are refused.
    let short = dir.path().join("short.pem");
    openssl(&["genrsa", "-out", short.to_str().unwrap(), "1024"]);
    let refused = tessera(dir.path(), &["keys", "import", short.to_str().unwrap()], "");
    assert!(!refused.status.success());

    // The JWKS export lists both, public parts only.
    let jwks = tessera(dir.path(), &["keys", "export-public"], "");
    let jwks: Value = serde_json::from_slice(&jwks.stdout).unwrap();
    let kids: Vec<_> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert!(kids.contains(&first_kid) && kids.contains(&imported_kid));
    assert!(jwks["keys"][0].get("d").is_none());

    // Retiring the active key activates the staged one.
    json(&tessera(
        dir.path(),
        &["--output", "json", "keys", "retire", &first_kid],
        "",
    ));
    let states: Vec<(String, String)> = list(dir.path())
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().to_owned(),
                k["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(states.contains(&(first_kid.clone(), "retired".into())));
    assert!(states.contains(&(imported_kid.clone(), "active".into())));

    // Revoking the active key replaces it at once and removes it.
    let revoked = json(&tessera(
        dir.path(),
        &["--output", "json", "keys", "revoke", &imported_kid],
        "",
    ));
    let replacement = revoked["active"].as_str().unwrap().to_owned();
    let after = list(dir.path());
    let kids: Vec<_> = after
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(!kids.contains(&imported_kid.as_str()));
    assert!(
        after
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == replacement.as_str() && k["state"] == "active")
    );
    let unknown = tessera(dir.path(), &["keys", "revoke", "nope"], "");
    assert!(!unknown.status.success());
}

/// `tessera keys …` with the keys in a real OpenBao: push-vault, list, rotate, revoke,
/// export-public for KV; rotate (which creates the key first) and list for transit; then
/// a server that signs with what the CLI put there.
#[tokio::test]
async fn keys_in_vault_are_pushed_listed_rotated_and_revoked() {
    let Some(bao) = tessera_test_support::bao::Bao::start().await else {
        return;
    };
    bao.enable_transit().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_owned();
    let run = |backend: &str, args: &[&str]| {
        common::run(
            &[
                &["--data-dir", data.as_str(), "--output", "json", "keys"],
                args,
            ]
            .concat(),
            &[
                ("TESSERA_KEYS__BACKEND", backend),
                ("TESSERA_VAULT__ADDR", bao.addr.as_str()),
                ("TESSERA_VAULT__TOKEN", bao.root_token.as_str()),
            ],
            "",
        )
    };

    // push-vault works before the backend is switched (migrating from local keys).
    let first = json(&run("local", &["push-vault"]));
    assert_eq!(first["version"], 1);
    let kid1 = first["kid"].as_str().unwrap().to_owned();
    let list = json(&run("vault-kv", &["list"]));
    assert_eq!(list[0]["kid"], kid1.as_str());
    assert_eq!(list[0]["state"], "active");

    let rotated = json(&run("vault-kv", &["rotate"]));
    assert!(
        rotated["done"].as_str().unwrap().contains("version 2"),
        "{rotated}"
    );
    let list = json(&run("vault-kv", &["list"]));
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(
        list[1]["state"], "next",
        "published, not signing yet: {list}"
    );
    let kid2 = list[1]["kid"].as_str().unwrap().to_owned();
    let now = run("vault-kv", &["rotate", "--now"]);
    assert!(!now.status.success(), "--now is refused for Vault keys");

    let revoked = json(&run("vault-kv", &["revoke", &kid2]));
    assert_eq!(revoked["version"], 2);
    let jwks = json(&run("vault-kv", &["export-public"]));
    let kids: Vec<_> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kids, vec![kid1.clone()]);

    // Transit: the first rotate creates the key; then it is listed.
    let created = json(&run("vault-transit", &["rotate"]));
    assert!(
        created["done"].as_str().unwrap().contains("created"),
        "{created}"
    );
    let list = json(&run("vault-transit", &["list"]));
    assert_eq!(list[0]["state"], "active");
    assert_eq!(list[0]["alg"], "RS256");
    let retire = run(
        "vault-transit",
        &["retire", list[0]["kid"].as_str().unwrap()],
    );
    assert!(!retire.status.success());
    assert!(String::from_utf8_lossy(&retire.stderr).contains("rotate"));

    // A server with vault-kv signs with version 1.
    let server = common::Server::start(
        dir.path(),
        None,
        &[
            ("TESSERA_KEYS__BACKEND", "vault-kv"),
            ("TESSERA_VAULT__ADDR", bao.addr.as_str()),
            ("TESSERA_VAULT__TOKEN", bao.root_token.as_str()),
        ],
    )
    .await;
    let jwks: Value = reqwest::get(format!("{}/.well-known/jwks.json", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kid"], kid1.as_str());
}

/// `tessera keys rewrap`: a new master key, the same signing keys; the old master key no
/// longer opens them; a server starts with the new one.
#[tokio::test]
async fn rewrap_changes_the_master_key_and_keeps_the_signing_keys() {
    let dir = tempfile::tempdir().unwrap();
    let keys = |args: &[&str], env: &[(&str, &str)]| {
        common::run(
            &[
                &[
                    "--data-dir",
                    dir.path().to_str().unwrap(),
                    "--output",
                    "json",
                    "keys",
                ],
                args,
            ]
            .concat(),
            env,
            "",
        )
    };
    // A first start makes the active key and the refresh MAC key; rotate stages another.
    common::Server::start(dir.path(), None, &[])
        .await
        .stop()
        .await;
    json(&keys(&["rotate"], &[]));
    let before = json(&keys(&["export-public"], &[]));
    let old_key = std::fs::read_to_string(dir.path().join("master.key")).unwrap();

    let done = json(&keys(&["rewrap"], &[]));
    assert_eq!(
        done["resealed"], 3,
        "two signing keys and the refresh MAC key: {done}"
    );
    let new_key = std::fs::read_to_string(dir.path().join("master.key")).unwrap();
    assert_ne!(new_key, old_key);
    assert!(!dir.path().join("master.key.new").exists());
    assert_eq!(
        json(&keys(&["export-public"], &[])),
        before,
        "same signing keys"
    );

    let with_old = keys(
        &["export-public"],
        &[("TESSERA_MASTER_KEY", old_key.trim())],
    );
    assert!(!with_old.status.success());
    assert!(String::from_utf8_lossy(&with_old.stderr).contains("does not open"));

    // With the key in the environment, the new one goes to a file of your choosing.
    let file = dir.path().join("next.key");
    let env = [("TESSERA_MASTER_KEY", new_key.trim())];
    let refused = keys(&["rewrap"], &env);
    assert!(!refused.status.success(), "no place to put the new key");
    let done = json(&keys(
        &["rewrap", "--new-key-file", file.to_str().unwrap()],
        &env,
    ));
    assert_eq!(done["replaced"], false);
    let next = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        json(&keys(
            &["export-public"],
            &[("TESSERA_MASTER_KEY", next.trim())]
        )),
        before
    );
    let server =
        common::Server::start(dir.path(), None, &[("TESSERA_MASTER_KEY", next.trim())]).await;
    let jwks: Value = reqwest::get(format!("{}/.well-known/jwks.json", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
}

/// `tessera db stats` counts rows; `tessera db prune` removes only what has expired.
#[test]
fn db_stats_and_prune() {
    let dir = tempfile::tempdir().unwrap();
    let create = [
        "user",
        "create",
        "--username",
        "u1",
        "--email",
        "u1@example.com",
        "--password-stdin",
    ];
    json(&tessera(
        dir.path(),
        &[&["--output", "json"], &create[..]].concat(),
        "first password 1\n",
    ));
    let stats = json(&tessera(
        dir.path(),
        &["--output", "json", "db", "stats"],
        "",
    ));
    assert_eq!(stats["users"], 1);
    assert_eq!(stats["refresh_tokens"], 0);
    let pruned = json(&tessera(
        dir.path(),
        &["--output", "json", "db", "prune"],
        "",
    ));
    assert_eq!(pruned["refresh_tokens"], 0);
    assert_eq!(pruned["sessions"], 0);
}

/// SIGTERM under load: requests already accepted are answered (200, not a reset), then
/// the process exits cleanly.
#[tokio::test]
async fn sigterm_drains_in_flight_requests() {
    let dir = tempfile::tempdir().unwrap();
    common::create_users(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[],
        &["alice"],
    );
    let server = common::Server::start(dir.path(), None, &[]).await;
    let http = reqwest::Client::new();
    // Twenty logins: Argon2id with two hashing slots keeps them in flight for a while.
    let logins: Vec<_> = (0..20)
        .map(|_| {
            let (http, url) = (http.clone(), server.url.clone());
            tokio::spawn(async move { common::login(&http, &url, "alice").await.0 })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let status = server.terminate().await;
    assert!(status.success(), "clean exit: {status}");
    for login in logins {
        assert_eq!(
            login.await.unwrap(),
            200,
            "an accepted request was answered"
        );
    }
}

/// (niceness, scheduling policy) of each of the server's hashing threads, from
/// `/proc/PID/task/TID/stat` (fields 19 and 41).
fn hashing_threads(pid: u32) -> Vec<(i64, u32)> {
    let mut found = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let task = task.unwrap().path();
        let comm = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
        if !comm.starts_with("tessera-hash") {
            continue;
        }
        let stat = stat_fields(&task.join("stat"));
        found.push((stat[19 - 3].parse().unwrap(), stat[41 - 3].parse().unwrap()));
    }
    found
}

/// The fields of a `/proc/…/stat` file after the command name (field 3 onwards).
fn stat_fields(path: &Path) -> Vec<String> {
    let stat = std::fs::read_to_string(path).unwrap();
    stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The hashing threads once they are as `expected` says, or as last seen after 10 s: the
/// threads lower themselves as they start, which may be after the listening line.
async fn settled_hashing_threads(
    pid: u32,
    expected: impl Fn(&[(i64, u32)]) -> bool,
) -> Vec<(i64, u32)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let threads = hashing_threads(pid);
        if expected(&threads) || std::time::Instant::now() > deadline {
            return threads;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn hashing_threads_run_at_the_configured_priority() {
    const SCHED_OTHER: u32 = 0;
    const SCHED_IDLE: u32 = 5;
    let dir = tempfile::tempdir().unwrap();
    let own: i64 = stat_fields(Path::new("/proc/self/stat"))[19 - 3]
        .parse()
        .unwrap();
    let lowered = vec![((own + 10).min(19), SCHED_OTHER); 2];
    let server = common::Server::start(dir.path(), None, &[]).await;
    assert_eq!(
        settled_hashing_threads(server.pid(), |t| t == lowered.as_slice()).await,
        lowered,
        "default: two threads 10 steps nicer than the server"
    );
    server.stop().await;
    let server = common::Server::start(
        dir.path(),
        None,
        &[("TESSERA_PASSWORDS__HASH_SCHED_IDLE", "true")],
    )
    .await;
    let idle = |t: &[(i64, u32)]| t.len() == 2 && t.iter().all(|&(_, policy)| policy == SCHED_IDLE);
    let threads = settled_hashing_threads(server.pid(), idle).await;
    assert!(idle(&threads), "{threads:?}");
}

#[test]
fn django_imports_keep_ids_unless_one_is_taken_by_someone_else() {
    let dir = tempfile::tempdir().unwrap();
    let admin = tessera(
        dir.path(),
        &[
            "user",
            "create",
            "--username",
            "admin",
            "--email",
            "admin@example.com",
            "--password-stdin",
        ],
        "first password 1\n",
    );
    assert!(admin.status.success());
    let dump = dir.path().join("users.json");
    std::fs::write(
        &dump,
        r#"[{"model": "auth.user", "pk": 1, "fields": {"username": "ann", "email": "ann@example.com",
             "password": "pbkdf2_sha256$1000$salt$aGFzaA==", "is_active": true}},
            {"model": "auth.user", "pk": 7, "fields": {"username": "bob", "email": "bob@example.com",
             "password": "pbkdf2_sha256$1000$salt$aGFzaA==", "is_active": true}}]"#,
    )
    .unwrap();
    let from_json = dump.to_str().unwrap();
    let args = [
        "--output",
        "json",
        "import",
        "django",
        "--from-json",
        from_json,
    ];
    let first = json(&tessera(dir.path(), &args, ""));
    assert_eq!(first["created"], 1, "{first}");
    assert_eq!(first["refused"], 1, "{first}");
    assert!(
        first["errors"][0]
            .as_str()
            .unwrap()
            .contains("id 1 is taken by \"admin\""),
        "{first}"
    );
    // Running it again skips bob (his id is his own) and still refuses ann.
    let again = json(&tessera(dir.path(), &args, ""));
    assert_eq!(
        (again["created"].as_u64(), again["skipped"].as_u64()),
        (Some(0), Some(1))
    );
    let renumbered = json(&tessera(
        dir.path(),
        &[&args[..], &["--new-ids"]].concat(),
        "",
    ));
    assert_eq!(renumbered["created"], 1, "{renumbered}");
    let users = json(&tessera(
        dir.path(),
        &["--output", "json", "user", "list"],
        "",
    ));
    let ids: Vec<(String, i64)> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["username"].as_str().unwrap().to_owned(),
                u["id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(ids.contains(&("bob".into(), 7)), "{ids:?}");
    assert!(
        ids.contains(&("ann".into(), 8)),
        "the next free id: {ids:?}"
    );
}

/// Work that runs after the answer (here the password-reset mail, which cannot be sent:
/// nothing listens on the SMTP port) logs with the request id of the request that
/// started it, so its failure can be traced to that request.
#[tokio::test]
async fn background_work_logs_with_its_request_id() {
    use tokio::io::AsyncBufReadExt as _;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    common::create_users(&["--data-dir", data], &[], &["alice"]);
    let log = dir.path().join("server.log");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["--data-dir", data, "--output", "json", "serve"])
        .args(["--bind", "127.0.0.1:0", "--log-format", "json"])
        .env_remove("TESSERA_DATABASE__URL")
        .env("TESSERA_LOG_FILTER", "warn")
        .env("TESSERA_MAIL__SMTP_URL", "smtp://127.0.0.1:9")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let started: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    let url = started["listening"].as_str().unwrap().to_owned();
    let res = reqwest::Client::new()
        .post(format!("{url}/auth/users/reset_password/"))
        .json(&serde_json::json!({"email": "alice@example.com"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let line = tessera_test_support::eventually(
        "the failed mail logged",
        Duration::from_secs(10),
        async || {
            std::fs::read_to_string(&log)
                .unwrap()
                .lines()
                .find(|l| l.contains("password reset could not be completed"))
                .map(str::to_owned)
        },
    )
    .await;
    assert!(line.contains(&id), "no request id {id} in {line}");
    child.kill().await.unwrap();
}

#[test]
fn django_imports_refuse_hashes_beyond_the_cost_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("users.json");
    let salt_hash = "M3pzNUs4Q2ZkTGoyUXBxY1RYd2Z4OQ$JLSKDcOJVJSrrzJuEVKPysHXDMTllGTvcXyhqV3Zwa8";
    let bcrypt_rest = "Y7OX26nIlcGaunmRgEdSxuD//RD3oK/JOV/OnQ5JH5w/G9nP3wljm";
    // Each of these crashed the server (4 TiB of memory) or pinned a hashing thread for
    // minutes to days on one login, after an import that took them.
    let costly = [
        format!("argon2$argon2id$v=19$m=4294967295,t=1,p=1${salt_hash}"),
        format!("argon2$argon2id$v=19$m=19456,t=4294967295,p=1${salt_hash}"),
        format!("argon2$argon2id$v=19$m=19456,t=2,p=1,t=4000000000${salt_hash}"),
        "pbkdf2_sha256$2000000000$salt$aGFzaA==".to_owned(),
        format!("bcrypt$$2b$31${bcrypt_rest}"),
    ];
    let mut users: Vec<serde_json::Value> = costly
        .iter()
        .enumerate()
        .map(|(i, hash)| {
            serde_json::json!({"model": "auth.user", "pk": i + 1, "fields": {
                "username": format!("u{i}"), "email": format!("u{i}@example.com"),
                "password": hash, "is_active": true}})
        })
        .collect();
    users.push(
        serde_json::json!({"model": "auth.user", "pk": 9, "fields": {
        "username": "fine", "email": "fine@example.com",
        "password": "pbkdf2_sha256$1000000$salt$aGFzaA==", "is_active": true}}),
    );
    std::fs::write(&dump, serde_json::to_string(&users).unwrap()).unwrap();
    let args = [
        "--output",
        "json",
        "import",
        "django",
        "--from-json",
        dump.to_str().unwrap(),
    ];
    let summary = json(&tessera(dir.path(), &args, ""));
    assert_eq!(summary["created"], 1, "{summary}");
    assert_eq!(summary["refused"], 5, "{summary}");
}

#[test]
fn an_export_file_with_a_hash_above_the_cost_ceiling_is_not_imported() {
    let source = tempfile::tempdir().unwrap();
    let created = tessera(
        source.path(),
        &[
            "user",
            "create",
            "--username",
            "ann",
            "--email",
            "ann@example.com",
            "--password-stdin",
        ],
        "a first password 1\n",
    );
    assert!(created.status.success());
    let file = source.path().join("export.json");
    let exported = tessera(source.path(), &["export", file.to_str().unwrap()], "");
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    // The file is data from outside: a hash edited in it must meet the ceiling like any
    // imported hash (this one stored 4 TiB of Argon2 memory).
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let users = doc["users"].as_array_mut().unwrap();
    users[0]["password_hash"] = Value::from(
        "$argon2id$v=19$m=4294967295,t=1,p=1$M3pzNUs4Q2ZkTGoyUXBxY1RYd2Z4OQ$JLSKDcOJVJSrrzJuEVKPysHXDMTllGTvcXyhqV3Zwa8",
    );
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let target = tempfile::tempdir().unwrap();
    let out = tessera(target.path(), &["import", file.to_str().unwrap()], "");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cost ceiling") && err.contains("ann"), "{err}");
    let list = json(&tessera(
        target.path(),
        &["user", "list", "--output", "json"],
        "",
    ));
    assert_eq!(list.as_array().map(Vec::len), Some(0), "nothing imported");

    // The users themselves are checked as creation checks them (before: restored as
    // written, a username with spaces or a thousand roles included).
    for (field, value, why) in [
        ("username", Value::from("ann with spaces"), "username"),
        ("email", Value::from("not an address"), "email"),
        ("roles", Value::from(vec!["r"; 101]), "roles"),
        ("first_name", Value::from("x".repeat(151)), "first_name"),
    ] {
        let mut doc: Value =
            serde_json::from_slice(&std::fs::read(source.path().join("export.json")).unwrap())
                .unwrap();
        doc["users"][0]["password_hash"] = Value::from("!");
        doc["users"][0][field] = value;
        let edited = target.path().join(format!("{field}.json"));
        std::fs::write(&edited, serde_json::to_vec(&doc).unwrap()).unwrap();
        let out = tessera(target.path(), &["import", edited.to_str().unwrap()], "");
        assert!(!out.status.success(), "{field}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(why) && err.contains("nothing was imported"),
            "{field}: {err}"
        );
    }
}

/// Clients in an export file are checked as registration checks them: a logout URI the
/// worker would POST to must be a web address (before: restored as written).
#[test]
fn an_export_file_with_a_bad_client_uri_is_not_imported() {
    let source = tempfile::tempdir().unwrap();
    let created = tessera(
        source.path(),
        &[
            "client",
            "create",
            "--id",
            "shop",
            "--redirect-uri",
            "https://shop.example.com/cb",
            "--backchannel-logout-uri",
            "https://shop.example.com/bc",
        ],
        "",
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let shown = json(&tessera(
        source.path(),
        &["--output", "json", "client", "show", "shop"],
        "",
    ));
    assert_eq!(
        shown["backchannel_logout_uri"],
        "https://shop.example.com/bc"
    );
    assert_eq!(shown["post_logout_redirect_uris"], serde_json::json!([]));
    let file = source.path().join("export.json");
    assert!(
        tessera(source.path(), &["export", file.to_str().unwrap()], "")
            .status
            .success()
    );
    for (field, value) in [
        ("backchannel_logout_uri", Value::from("file:///etc/passwd")),
        (
            "frontchannel_logout_uri",
            Value::from("javascript:alert(1)"),
        ),
        (
            "post_logout_redirect_uris",
            Value::from(vec!["https://x.example.com/#f"]),
        ),
    ] {
        let mut doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        doc["clients"][0][field] = value;
        let target = tempfile::tempdir().unwrap();
        let edited = target.path().join("edited.json");
        std::fs::write(&edited, serde_json::to_vec(&doc).unwrap()).unwrap();
        let out = tessera(target.path(), &["import", edited.to_str().unwrap()], "");
        assert!(!out.status.success(), "{field}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("shop") && err.contains("nothing was imported"),
            "{field}: {err}"
        );
    }
}

#[test]
fn django_imports_with_new_ids_are_refused_during_a_legacy_token_window() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tessera.toml");
    std::fs::write(
        &config,
        "[tokens]\nlegacy_until = \"2099-01-01T00:00:00Z\"\nlegacy_hs256_secret = \"old django secret\"\n",
    )
    .unwrap();
    let dump = dir.path().join("users.json");
    std::fs::write(
        &dump,
        r#"[{"model": "auth.user", "pk": 7, "fields": {"username": "bob", "email": "bob@example.com",
             "password": "pbkdf2_sha256$1000$salt$aGFzaA==", "is_active": true}}]"#,
    )
    .unwrap();
    let out = tessera(
        dir.path(),
        &[
            "--config",
            config.to_str().unwrap(),
            "import",
            "django",
            "--new-ids",
            "--from-json",
            dump.to_str().unwrap(),
        ],
        "",
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--new-ids"), "{err}");
}

#[test]
fn an_import_that_hands_out_admin_rights_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.json");
    std::fs::write(
        &file,
        r#"[
          {"username": "boss", "email": "boss@example.com", "password": "password-boss", "is_superuser": true},
          {"username": "helper", "email": "helper@example.com", "password": "password-helper", "is_staff": true},
          {"username": "plain", "email": "plain@example.com", "password": "password-plain"}
        ]"#,
    )
    .unwrap();
    let summary = json(&tessera(
        dir.path(),
        &["user", "import", file.to_str().unwrap(), "--output", "json"],
        "",
    ));
    assert_eq!(
        summary["privileged"],
        serde_json::json!(["boss (superuser)", "helper (staff)"]),
        "{summary}"
    );
    let text = tessera(dir.path(), &["audit", "tail", "--output", "json"], "");
    let events = String::from_utf8_lossy(&text.stdout);
    assert!(events.contains("boss (superuser)"), "{events}");
    assert!(events.contains("helper (staff)"), "{events}");
}

/// Request-object keys from the command line: `--jwks-file` registers the JWKS (shown
/// back as an object), with `--request-object-signing-alg` and
/// `--require-signed-request-object`; a file without a usable key is refused; an export
/// keeps them, and an export whose `jwks_uri` was edited into no web address is not
/// imported.
#[test]
fn request_object_keys_are_registered_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = tessera_token::SigningKey::generate(tessera_token::Algorithm::ES256).unwrap();
    let jwks = serde_json::json!({ "keys": [key.public_key().jwk()] });
    let file = dir.path().join("jwks.json");
    std::fs::write(&file, jwks.to_string()).unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#).unwrap();
    let create = |id: &str, jwks: &std::path::Path| {
        tessera(
            dir.path(),
            &[
                "client",
                "create",
                "--id",
                id,
                "--redirect-uri",
                "https://shop.example.com/cb",
                "--jwks-file",
                jwks.to_str().unwrap(),
                "--request-object-signing-alg",
                "ES256",
                "--require-signed-request-object",
            ],
            "",
        )
    };
    let refused = create("bad", &bad);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no usable signing key"));
    let created = create("shop", &file);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let shown = json(&tessera(
        dir.path(),
        &["--output", "json", "client", "show", "shop"],
        "",
    ));
    assert_eq!(shown["jwks"], jwks);
    assert_eq!(shown["request_object_signing_alg"], "ES256");
    assert_eq!(shown["require_signed_request_object"], true);
    let export = dir.path().join("export.json");
    assert!(
        tessera(dir.path(), &["export", export.to_str().unwrap()], "")
            .status
            .success()
    );
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    doc["clients"][0]["jwks"] = Value::Null;
    doc["clients"][0]["jwks_uri"] = Value::from("file:///etc/passwd");
    let target = tempfile::tempdir().unwrap();
    let edited = target.path().join("edited.json");
    std::fs::write(&edited, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = tessera(target.path(), &["import", edited.to_str().unwrap()], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was imported"));
}
