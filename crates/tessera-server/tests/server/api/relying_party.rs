//! A real relying party, the `openidconnect` crate, through every flow: discovery →
//! authorize → login form → code → token → ID token verification (signature, nonce,
//! at_hash) → userinfo → refresh → revoke → introspect → logout. Only the login form is
//! posted by hand (the crate has no browser).

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IntrospectionUrl,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope,
    TokenIntrospectionResponse, TokenResponse,
};
use tessera_server::service::client::NewClient;
use tessera_test_support::{PASSWORD, TestApp};

const CB: &str = "http://127.0.0.1:9/callback";

#[tokio::test]
async fn the_openidconnect_crate_completes_every_flow() {
    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    let secret = app
        .create_client(NewClient {
            id: "rp".into(),
            name: Some("Relying Party".into()),
            redirect_uris: vec![CB.into()],
            post_logout_redirect_uris: vec![CB.into()],
            first_party: true,
            ..NewClient::default()
        })
        .await
        .unwrap();
    // The crate's own advice: an HTTP client that does not follow redirects.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.address.clone()).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("rp".into()),
        Some(ClientSecret::new(secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(CB.into()).unwrap())
    .set_introspection_url(IntrospectionUrl::new(app.url("/oauth/introspect")).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();

    // The browser: the login page, then its form.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let back = browser_login(&app, &browser, auth_url.as_str()).await;

    let get = |k: &str| {
        back.query_pairs()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(get("state").as_deref(), Some(csrf.secret().as_str()));
    let code = get("code").unwrap();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let id_token = tokens.id_token().unwrap();
    let id_token_hint = id_token.to_string();
    let verifier = client.id_token_verifier();
    let claims = id_token.claims(&verifier, &nonce).unwrap();
    assert_eq!(claims.subject().as_str(), "1");
    assert_eq!(claims.preferred_username().unwrap().as_str(), "alice");
    assert_eq!(claims.email().unwrap().as_str(), "alice@example.com");
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(info.subject().as_str(), "1");
    assert_eq!(info.email().unwrap().as_str(), "alice@example.com");

    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );
    // OpenID Connect Core §12.2: the refresh of an `openid` grant brings a new ID token
    // of the same sign-in, verified by the crate (no nonce: it answered the first request).
    let again = refreshed.id_token().expect("an ID token on refresh");
    let again_claims = again
        .claims(&verifier, |n: Option<&Nonce>| {
            n.is_none()
                .then_some(())
                .ok_or_else(|| "a nonce on refresh".to_owned())
        })
        .unwrap();
    assert_eq!(again_claims.subject(), claims.subject());
    assert_eq!(again_claims.audiences(), claims.audiences());
    assert_eq!(again_claims.issuer(), claims.issuer());
    assert_eq!(again_claims.auth_time(), claims.auth_time());
    assert_eq!(again_claims.authorized_party(), claims.authorized_party());
    assert!(again_claims.authorized_party().is_some());
    let expected_hash = AccessTokenHash::from_token(
        refreshed.access_token(),
        again.signing_alg().unwrap(),
        again.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(again_claims.access_token_hash(), Some(&expected_hash));
    let sid = |t: &str| crate::api::sso::claims(t)["sid"].clone();
    assert_eq!(sid(&again.to_string()), sid(&id_token_hint));
    assert!(sid(&id_token_hint).is_string());

    let live = client
        .introspect(refreshed.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(live.active());
    assert_eq!(live.client_id().map(|c| c.as_str()), Some("rp"));

    // The crate refuses to revoke over plain http (RFC 7009 asks for TLS), and the test
    // server has none: the same request by hand, client_secret_basic as the crate sends it.
    let revoked = app
        .post_form(
            "/oauth/revoke",
            Some(("rp", &secret)),
            &[
                ("token", refreshed.refresh_token().unwrap().secret()),
                ("token_type_hint", "refresh_token"),
            ],
        )
        .await;
    assert_eq!(revoked.status(), 200);
    let ended = client
        .introspect(refreshed.access_token())
        .set_token_type_hint("access_token")
        .request_async(&http)
        .await
        .unwrap();
    assert!(
        !ended.active(),
        "revoking the refresh token ended its family's access token"
    );

    // RP-initiated logout with the ID token as hint ends the SSO session at once: the next
    // authorize shows the login page.
    let out = browser
        .get(app.url(&format!(
            "/oauth/logout?id_token_hint={}&post_logout_redirect_uri={}",
            id_token_hint,
            url::form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 302);
    let again = browser.get(auth_url.as_str()).send().await.unwrap();
    assert_eq!(again.status(), 200);
}

/// `tessera keys rotate --alg ES256 --now`: an active ES256 key beside the RS256 one.
pub(crate) async fn activate_es256(app: &TestApp) {
    use tessera_server::keys::{MasterKey, stage_new_key};
    use tessera_token::Clock as _;
    let master = MasterKey::obtain(None, app.data_dir(), true).unwrap();
    let now = app.clock.unix();
    stage_new_key(
        app.state.store.as_ref(),
        &master,
        tessera_token::Algorithm::ES256,
        tessera_token::key::RsaBits::B2048,
        Some(now + 330),
        now,
    )
    .await
    .unwrap();
    app.reload_keys().await;
}

/// Opens `auth_url` in `browser` (Tessera's login page), posts its form as alice, and
/// returns where Tessera sent the browser back.
async fn browser_login(app: &TestApp, browser: &reqwest::Client, auth_url: &str) -> url::Url {
    let page = browser
        .get(auth_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut form: Vec<(String, String)> = page
        .split("<input type=\"hidden\" ")
        .skip(1)
        .map(|rest| {
            let field = |attr: &str| {
                rest.split(&format!("{attr}=\""))
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
                    .replace("&amp;", "&")
                    .replace("&quot;", "\"")
                    .replace("&#x27;", "'")
            };
            (field("name"), field("value"))
        })
        .collect();
    form.push(("username".into(), "alice".into()));
    form.push(("password".into(), PASSWORD.into()));
    let back = browser
        .post(app.url("/oauth/authorize/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), 303);
    url::Url::parse(back.headers()["location"].to_str().unwrap()).unwrap()
}

/// A client that registered `id_token_signed_response_alg = ES256` gets ES256 ID tokens
/// (from the active ES256 key) while access tokens stay RS256; the crate verifies the ID
/// token with ES256 as the only allowed algorithm.
#[tokio::test]
async fn a_client_gets_id_tokens_in_the_algorithm_it_registered() {
    use openidconnect::core::CoreJwsSigningAlgorithm;

    let app = TestApp::spawn().await;
    app.create_user("alice", false).await;
    activate_es256(&app).await;
    let secret = app
        .create_client(NewClient {
            id: "rp-es".into(),
            redirect_uris: vec![CB.into()],
            first_party: true,
            id_token_alg: Some(tessera_token::Algorithm::ES256),
            ..NewClient::default()
        })
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.address.clone()).unwrap(), &http)
            .await
            .unwrap();
    let advertised: Vec<_> = metadata
        .id_token_signing_alg_values_supported()
        .iter()
        .map(|a| serde_json::to_value(a).unwrap())
        .collect();
    assert_eq!(
        advertised,
        vec![serde_json::json!("RS256"), serde_json::json!("ES256")]
    );
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("rp-es".into()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(RedirectUrl::new(CB.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, _csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let back = browser_login(&app, &browser, auth_url.as_str()).await;
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let id_token = tokens.id_token().unwrap();
    let es_only = client
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let claims = id_token.claims(&es_only, &nonce).unwrap();
    assert_eq!(claims.subject().as_str(), "1");
    assert_eq!(
        id_token.signing_alg().unwrap(),
        &CoreJwsSigningAlgorithm::EcdsaP256Sha256
    );
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&es_only).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));
    let access_header = tokens
        .access_token()
        .secret()
        .split('.')
        .next()
        .unwrap()
        .to_owned();
    let access_header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            access_header,
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        access_header["alg"], "RS256",
        "access tokens keep tokens.algorithm"
    );
}
