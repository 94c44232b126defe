//! Moving an installation from SQLite to PostgreSQL with `tessera export` / `import`,
//! between real servers: tokens issued before the move keep working after it, revoked
//! ones stay revoked, reuse detection still fires. Needs `TESSERA_TEST_POSTGRES_URL`.

use crate::common::{Server, create_users, login, post, run, tessera};
use serde_json::{Value, json};

fn snapshot_of(path: &std::path::Path) -> Value {
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc.as_object_mut().unwrap().remove("exported_at");
    doc
}

#[tokio::test]
async fn an_sqlite_installation_moves_to_postgres_with_its_sessions() {
    if tessera_test_support::postgres_url().is_none() {
        eprintln!("skipped: TESSERA_TEST_POSTGRES_URL is not set");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();
    create_users(&["--data-dir", data_arg], &[], &["u1", "u2"]);

    // Sessions on SQLite: a live family with a rotated ancestor, and a revoked family.
    let client = reqwest::Client::new();
    let sqlite = Server::start(&data, None, &[]).await;
    let (_, first) = login(&client, &sqlite.url, "u1").await;
    let (status, live) = post(
        &client,
        &sqlite.url,
        "/auth/token/refresh/",
        &json!({"refresh": first["refresh"]}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, ended) = login(&client, &sqlite.url, "u2").await;
    let (status, _) = post(
        &client,
        &sqlite.url,
        "/auth/token/blacklist/",
        &json!({"refresh": ended["refresh"]}),
    )
    .await;
    assert_eq!(status, 200);
    let jwks_before: Value =
        tessera_test_support::get_json(&client, &format!("{}/.well-known/jwks.json", sqlite.url))
            .await;
    sqlite.stop().await;

    let export = dir.path().join("export.json");
    let out = tessera(
        &[
            "--data-dir",
            data_arg,
            "--output",
            "json",
            "export",
            export.to_str().unwrap(),
        ],
        &[],
        "",
    );
    let counts: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(counts["exported"]["users"], 2);
    assert_eq!(counts["exported"]["live_families"], 1);
    assert_eq!(counts["exported"]["revoked_access"], 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&export).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the export holds password hashes");
    }
    let again = run(
        &["--data-dir", data_arg, "export", export.to_str().unwrap()],
        &[],
        "",
    );
    assert!(!again.status.success(), "an export never overwrites");

    let pg = tessera_test_support::fresh_postgres_schema().await.unwrap();
    // A wrong master key is refused before anything is written...
    let other_key = "b3RoZXItbWFzdGVyLWtleS1vdGhlci1tYXN0ZXIta2U=";
    let wrong = run(
        &[
            "--data-dir",
            data_arg,
            "--database-url",
            &pg,
            "import",
            export.to_str().unwrap(),
        ],
        &[("TESSERA_MASTER_KEY", other_key)],
        "",
    );
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("master key"));
    // ...so the right one then imports into the still-empty database.
    let out = tessera(
        &[
            "--data-dir",
            data_arg,
            "--database-url",
            &pg,
            "--output",
            "json",
            "import",
            export.to_str().unwrap(),
        ],
        &[],
        "",
    );
    let imported: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(imported["imported"], counts["exported"]);
    let twice = run(
        &[
            "--data-dir",
            data_arg,
            "--database-url",
            &pg,
            "import",
            export.to_str().unwrap(),
        ],
        &[],
        "",
    );
    assert!(String::from_utf8_lossy(&twice.stderr).contains("not empty"));

    // Nothing lost: the PostgreSQL installation exports to the same document.
    let re_export = dir.path().join("again.json");
    tessera(
        &[
            "--data-dir",
            data_arg,
            "--database-url",
            &pg,
            "export",
            re_export.to_str().unwrap(),
        ],
        &[],
        "",
    );
    assert_eq!(snapshot_of(&re_export), snapshot_of(&export));

    // And the sessions carry over.
    let server = Server::start(&data, Some(&pg), &[]).await;
    let jwks_after: Value =
        tessera_test_support::get_json(&client, &format!("{}/.well-known/jwks.json", server.url))
            .await;
    assert_eq!(jwks_after, jwks_before, "the same keys sign and verify");
    let verify = |token: &Value| json!({"token": token});
    let (status, _) = post(
        &client,
        &server.url,
        "/auth/token/verify/",
        &verify(&live["access"]),
    )
    .await;
    assert_eq!(status, 200, "an access token issued on SQLite verifies");
    let (status, _) = post(
        &client,
        &server.url,
        "/auth/token/verify/",
        &verify(&ended["access"]),
    )
    .await;
    assert_eq!(status, 401, "a revocation made on SQLite holds");
    let (status, _) = post(
        &client,
        &server.url,
        "/auth/token/refresh/",
        &json!({"refresh": live["refresh"]}),
    )
    .await;
    assert_eq!(status, 200, "the live family rotates on PostgreSQL");
    let (status, _) = post(
        &client,
        &server.url,
        "/auth/token/refresh/",
        &json!({"refresh": first["refresh"]}),
    )
    .await;
    assert_eq!(
        status, 401,
        "replaying the token rotated on SQLite is reuse"
    );
    let (status, _) = login(&client, &server.url, "u2").await;
    assert_eq!(status, 200);
    server.stop().await;
}
