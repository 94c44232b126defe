use tessera_test_support::TestApp;

const ISSUER: &str = "http://tessera.test";

#[tokio::test]
async fn keys_and_tokens_survive_a_restart() {
    let first = TestApp::builder()
        .settings(|s| s.issuer = Some(ISSUER.into()))
        .spawn()
        .await;
    first.create_user("user1", false).await;
    let pair = first.login("user1").await;
    let kid = first.state.keys.current().signer().kid().to_owned();
    let again = TestApp::builder()
        .settings(|s| s.issuer = Some(ISSUER.into()))
        .data_dir_of(&first);
    first.stop().await;
    let second = again.spawn().await;
    assert_eq!(second.state.keys.current().signer().kid(), kid);
    assert_eq!(crate::api::verify_status(&second, &pair.access).await, 200);
    assert_eq!(
        crate::api::refresh(&second, &pair.refresh).await.status(),
        200
    );
}

#[tokio::test]
async fn the_master_key_file_is_private_and_losing_it_stops_start_up() {
    let first = TestApp::spawn().await;
    let path = first.data_dir().join("master.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let again = TestApp::builder().data_dir_of(&first);
    let wrong = TestApp::builder().data_dir_of(&first).settings(|s| {
        s.master_key = Some(tessera_proto::Secret::new(
            tessera_server::keys::MasterKey::generate()
                .unwrap()
                .expose_base64()
                .as_str(),
        ))
    });
    first.stop().await;
    let message = wrong.try_spawn().await.unwrap_err().to_string();
    assert!(message.contains("does not open"), "{message}");
    std::fs::remove_file(&path).unwrap();
    let message = again.try_spawn().await.unwrap_err().to_string();
    assert!(message.contains("no master key"), "{message}");
    assert!(!path.exists(), "no new master key may be created silently");
}
