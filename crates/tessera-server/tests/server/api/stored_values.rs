//! Values in the database this version does not know (typed in by hand, or written by a
//! newer version): a grant type, a key algorithm, a link purpose. They read as "nothing" or
//! "unknown", so the rows around them keep working and the odd row can still be listed and
//! removed; none of them turns a list or a page into an error. SQLite only: the rows are
//! written into the server's file behind its back.

use serde_json::Value;
use tessera_server::service::client::NewClient;
use tessera_server::store::KeyAlg;
use tessera_test_support::TestApp;

/// Runs `sql` on the server's SQLite file.
async fn write(app: &TestApp, sql: &str) {
    let url = format!("sqlite://{}", app.data_dir().join("tessera.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

async fn admin_token(app: &TestApp) -> String {
    app.create_superuser("root").await;
    app.login("root").await.access
}

#[tokio::test]
async fn an_unknown_grant_type_grants_nothing_and_the_client_still_lists() {
    if tessera_test_support::backend_is_postgres() {
        return;
    }
    let app = TestApp::spawn().await;
    app.create_client(NewClient {
        id: "svc".into(),
        redirect_uris: vec!["https://svc.example/cb".into()],
        ..NewClient::default()
    })
    .await
    .unwrap();
    write(
        &app,
        r#"UPDATE clients SET grants = '["authorization_code","refresh_token","implicit"]' WHERE client_id = 'svc'"#,
    )
    .await;
    let root = admin_token(&app).await;
    let res = app
        .client
        .get(app.url("/admin/api/clients"))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body[0]["grants"],
        serde_json::json!(["authorization_code", "refresh_token"]),
        "{body}"
    );
}

#[tokio::test]
async fn a_key_of_an_unknown_algorithm_still_lists_and_can_be_removed() {
    if tessera_test_support::backend_is_postgres() {
        return;
    }
    let app = TestApp::spawn().await;
    write(
        &app,
        "INSERT INTO signing_keys (kid, alg, state, created_at, activated_at, retire_after, sealed_private) \
         VALUES ('odd', 'XX256', 'retired', 1, 1, 4102444800, x'00')",
    )
    .await;
    let stored = app.state.store.signing_keys().await.unwrap();
    let odd = stored.iter().find(|k| k.kid == "odd").unwrap();
    assert_eq!(odd.alg, KeyAlg::Other("XX256".into()));
    assert_eq!(odd.alg.as_str(), "XX256");
    let root = admin_token(&app).await;
    let res = app
        .client
        .get(app.url("/admin/api/keys"))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the admin key list still answers");
    assert!(app.state.store.delete_signing_key("odd").await.unwrap());
}

#[tokio::test]
async fn a_link_of_an_unknown_purpose_is_a_bad_link_not_an_outage() {
    if tessera_test_support::backend_is_postgres() {
        return;
    }
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let token = "an-invitation-from-a-newer-version";
    let hash = tessera_server::domain::digest::sha256_hex(token);
    write(
        &app,
        &format!(
            "INSERT INTO user_links (token_hash, user_id, purpose, expires_at) \
             VALUES ('{hash}', 1, 'invite', 4102444800)"
        ),
    )
    .await;
    for page in ["verify", "reset"] {
        let res = reqwest::get(app.url(&format!("/account/{page}?token={token}")))
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "/account/{page}: the bad-link page");
    }
}
