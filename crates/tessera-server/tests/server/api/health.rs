use crate::api::assert_error;
use tessera_test_support::TestApp;

#[tokio::test]
async fn healthz_and_readyz_answer() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["signing_key"], app.state.keys.current().signer().kid());
    assert!(res_has_request_id(&app).await);
}

async fn res_has_request_id(app: &TestApp) -> bool {
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    res.headers().get("x-request-id").is_some()
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_json() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/nope")).send().await.unwrap();
    assert_error(res, 404, "not_found").await;
    let res = app
        .client
        .get(app.url("/auth/token/"))
        .send()
        .await
        .unwrap();
    assert_error(res, 405, "method_not_allowed").await;
}
