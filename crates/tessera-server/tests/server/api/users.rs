use crate::api::assert_error;
use serde_json::Value;
use tessera_proto::UserField;
use tessera_test_support::TestApp;

const DRF_KEYS: [&str; 9] = [
    "id",
    "email",
    "first_name",
    "last_name",
    "date_joined",
    "last_login",
    "is_active",
    "is_staff",
    "is_superuser",
];

#[tokio::test]
async fn me_and_own_id_return_exactly_the_drf_remotejwt_fields() {
    let app = TestApp::spawn().await;
    let user = app.create_user("user1", false).await;
    let pair = app.login("user1").await;
    for path in [
        "/auth/users/me/".to_owned(),
        format!("/auth/users/{}/", user.id),
    ] {
        let res = app.get_bearer(&path, &pair.access).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/json");
        let body: Value = res.json().await.unwrap();
        let keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = DRF_KEYS.to_vec();
        expected.sort_unstable();
        let mut got = keys.clone();
        got.sort_unstable();
        assert_eq!(got, expected);
        assert_eq!(body["id"], user.id);
        assert_eq!(body["email"], "user1@example.com");
        assert!(body["last_login"].as_str().unwrap().ends_with('Z'));
        time::OffsetDateTime::parse(
            body["date_joined"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
    }
}

#[tokio::test]
async fn users_read_themselves_and_staff_read_anyone() {
    let app = TestApp::spawn().await;
    let alice = app.create_user("alice", false).await;
    let bob = app.create_user("bob", false).await;
    let staff = app.create_user("admin", true).await;
    let alice_token = app.login("alice").await.access;
    let res = app
        .get_bearer(&format!("/auth/users/{}/", bob.id), &alice_token)
        .await;
    assert_error(res, 403, "permission_denied").await;
    let res = app.get_bearer("/auth/users/9999/", &alice_token).await;
    assert_error(res, 403, "permission_denied").await;

    let staff_token = app.login("admin").await.access;
    let res = app
        .get_bearer(&format!("/auth/users/{}/", alice.id), &staff_token)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["id"], alice.id);
    let res = app.get_bearer("/auth/users/9999/", &staff_token).await;
    assert_error(res, 404, "not_found").await;
    let res = app.get_bearer("/auth/users/abc/", &staff_token).await;
    assert_error(res, 404, "not_found").await;
    assert!(staff.is_staff);
}

#[tokio::test]
async fn missing_or_bad_credentials_get_401() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let res = app
        .client
        .get(app.url("/auth/users/me/"))
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "not_authenticated").await;
    let res = app
        .client
        .get(app.url("/auth/users/me/"))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "not_authenticated").await;
    let res = app.get_bearer("/auth/users/me/", "not-a-token").await;
    assert_error(res, 401, "token_not_valid").await;
    let refresh = app.login("alice").await.refresh;
    let res = app.get_bearer("/auth/users/me/", &refresh).await;
    assert_error(res, 401, "token_not_valid").await;
}

#[tokio::test]
async fn the_field_set_is_configurable() {
    let app = TestApp::builder()
        .settings(|s| s.users.fields = vec![UserField::Id, UserField::Username, UserField::Email])
        .spawn()
        .await;
    app.create_user("alice", false).await;
    let token = app.login("alice").await.access;
    let body: Value = app
        .get_bearer("/auth/users/me/", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        body,
        serde_json::json!({"id": 1, "username": "alice", "email": "alice@example.com"})
    );
}
