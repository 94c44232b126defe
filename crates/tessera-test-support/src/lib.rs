//! Test harness for Tessera (not published).
//!
//! # Layout
//! - [`TestApp`]: a real server on `127.0.0.1:0` with its own SQLite file in a temporary
//!   directory, a [`FixedClock`] the test moves, and a `reqwest` client.
//! - [`TestAppBuilder`]: settings tweaks, reusing a data directory (restarts).
//! - [`postgres_url`], [`fresh_postgres_schema`]: a PostgreSQL database of its own for
//!   each test, as a schema in the database `TESSERA_TEST_POSTGRES_URL` names.
//! - [`bao::Bao`]: a real OpenBao dev server for the Vault key backends.
//! - [`smtp::Smtp`]: a real SMTP server (aiosmtpd) whose messages a test reads.
//! - [`ports`]: loopback ports for those child servers, never handed out twice.
//! - [`eventually`], [`stays`]: waiting for a condition, or checking that one keeps
//!   holding, instead of sleeping.
//!
//! Set `TEST_LOG=1` to see the server's logs. Set `TESSERA_TEST_BACKEND=postgres` (with
//! `TESSERA_TEST_POSTGRES_URL`) to run every [`TestApp`] on PostgreSQL instead of SQLite.
//!
//! Over 500 lines as one concept: [`TestApp`], the real server a test starts, and its
//! helpers; OpenBao, SMTP, ports and waiting have files of their own.

pub mod bao;
pub mod ports;
pub mod smtp;
pub mod wait;

pub use wait::{eventually, stays};

use std::path::Path;
use std::sync::Arc;
use tessera_proto::{Secret, TokenPair};
use tessera_server::Settings;
use tessera_server::service::user::{NewUserInput, PasswordInput, Users};
use tessera_server::state::AppState;
use tessera_server::store::User;
use tessera_token::FixedClock;
use tokio::sync::oneshot;

/// A password that satisfies the policy, for seeded users.
pub const PASSWORD: &str = "correct horse battery staple";

/// Builds a [`TestApp`].
#[derive(Debug)]
pub struct TestAppBuilder {
    settings: Settings,
    dir: Option<Arc<tempfile::TempDir>>,
}

impl TestAppBuilder {
    /// Changes the settings before start.
    pub fn settings(mut self, f: impl FnOnce(&mut Settings)) -> Self {
        f(&mut self.settings);
        self
    }

    /// Reuses the data directory and database of an earlier app (a restart).
    pub fn data_dir_of(mut self, other: &TestApp) -> Self {
        self.settings.data_dir = other.data_dir().to_owned();
        self.settings.database.url = other.state.settings.database.url.clone();
        self.dir = Some(other.dir.clone());
        self
    }

    /// Builds the server without starting it; the error, if any, is the start-up error.
    pub async fn try_spawn(self) -> Result<TestApp, Box<dyn std::error::Error + Send + Sync>> {
        init_logging();
        let dir = match self.dir {
            Some(d) => d,
            None => Arc::new(tempfile::tempdir()?),
        };
        let mut settings = self.settings;
        if settings.data_dir == Settings::default().data_dir {
            settings.data_dir = dir.path().to_owned();
        }
        if settings.database.url.is_none() && backend_is_postgres() {
            settings.database.url = Some(fresh_postgres_schema().await?);
        }
        // The tests' clock starts at the real time, then moves only when told to.
        let clock = Arc::new(FixedClock::new(tessera_token::Clock::now(
            &tessera_token::SystemClock,
        )));
        let scheme = if settings.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        let app = tessera_server::Application::build_with_clock(settings, clock.clone()).await?;
        let address = format!("{scheme}://{}", app.local_addr());
        let state = app.state();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(TestApp {
            address,
            state,
            clock,
            client,
            dir,
            stop: Some(stop),
            server: Some(server),
        })
    }

    /// Builds and starts the server.
    ///
    /// # Panics
    /// When the server cannot start.
    #[expect(clippy::panic, reason = "test harness")]
    pub async fn spawn(self) -> TestApp {
        match self.try_spawn().await {
            Ok(app) => app,
            Err(e) => panic!("test server failed to start: {e}"),
        }
    }
}

/// A running server.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    /// The server's state (to seed data through the services).
    pub state: AppState,
    /// The server's clock.
    pub clock: Arc<FixedClock>,
    /// An HTTP client that does not follow redirects.
    pub client: reqwest::Client,
    dir: Arc<tempfile::TempDir>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    /// A builder with test defaults.
    pub fn builder() -> TestAppBuilder {
        let mut settings = Settings {
            bind: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            ..Settings::default()
        };
        // The tests' back-channel receivers listen on loopback.
        settings.sso.backchannel_allow_loopback = true;
        TestAppBuilder {
            settings,
            dir: None,
        }
    }

    /// Starts a server with the defaults.
    pub async fn spawn() -> Self {
        Self::builder().spawn().await
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.state.settings.data_dir.as_path()
    }

    /// `address` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    /// Creates a user with [`PASSWORD`] through the user service.
    ///
    /// # Panics
    /// When creation fails.
    pub async fn create_user(&self, username: &str, staff: bool) -> User {
        self.create_user_with(username, staff, false).await
    }

    /// Creates a superuser with [`PASSWORD`].
    ///
    /// # Panics
    /// When creation fails.
    pub async fn create_superuser(&self, username: &str) -> User {
        self.create_user_with(username, false, true).await
    }

    /// Creates a user with [`PASSWORD`] as an import keeping its old system's `id` does
    /// (`tessera import django`): its legacy tokens may name it.
    ///
    /// # Panics
    /// When creation fails.
    pub async fn create_imported_user(&self, username: &str, id: i64) -> User {
        self.create_user_as(username, false, false, Some(id)).await
    }

    async fn create_user_with(&self, username: &str, staff: bool, superuser: bool) -> User {
        self.create_user_as(username, staff, superuser, None).await
    }

    #[expect(clippy::expect_used, reason = "test harness")]
    async fn create_user_as(
        &self,
        username: &str,
        staff: bool,
        superuser: bool,
        id: Option<i64>,
    ) -> User {
        let users = Users {
            store: self.state.store.as_ref(),
            hasher: &self.state.hasher,
            clock: self.state.clock.as_ref(),
            min_password_len: 8,
        };
        users
            .create(
                NewUserInput {
                    username: username.into(),
                    email: format!("{username}@example.com"),
                    password: PasswordInput::Clear(Secret::new(PASSWORD)),
                    first_name: "First".into(),
                    last_name: "Last".into(),
                    is_staff: staff,
                    is_superuser: superuser,
                    is_active: true,
                    date_joined: None,
                    last_login: None,
                    access: Default::default(),
                    email_verified: true,
                    id,
                },
                tessera_server::service::audit::Actor::Cli,
            )
            .await
            .expect("create user")
    }

    /// Registers an OAuth client through the client service; returns its secret (none for
    /// a public client).
    ///
    /// # Panics
    /// When registration fails.
    #[expect(clippy::expect_used, reason = "test harness")]
    pub async fn create_client(
        &self,
        input: tessera_server::service::client::NewClient,
    ) -> Option<String> {
        let created = tessera_server::service::client::create(
            self.state.store.as_ref(),
            input,
            tessera_token::Clock::unix(self.state.clock.as_ref()),
            &self.state.settings.tokens.audience,
            tessera_server::service::audit::Actor::Cli,
        )
        .await
        .expect("create client");
        created.secret.map(|s| s.expose().to_owned())
    }

    /// POSTs a form (`application/x-www-form-urlencoded`), optionally with HTTP Basic
    /// client credentials.
    ///
    /// # Panics
    /// When the request cannot be sent.
    #[expect(clippy::expect_used, reason = "test harness")]
    pub async fn post_form(
        &self,
        path: &str,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = self.client.post(self.url(path)).form(form);
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        req.send().await.expect("request")
    }

    /// POSTs a JSON body.
    ///
    /// # Panics
    /// When the request cannot be sent.
    #[expect(clippy::expect_used, reason = "test harness")]
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// GETs with a bearer token.
    ///
    /// # Panics
    /// When the request cannot be sent.
    #[expect(clippy::expect_used, reason = "test harness")]
    pub async fn get_bearer(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// Runs one key reload now, as the reload task would, without activating staged keys
    /// (stored keys read again; Vault re-read). Returns whether the keyring changed.
    ///
    /// # Panics
    /// When the reload fails.
    #[expect(clippy::panic, reason = "test harness")]
    pub async fn reload_keys(&self) -> bool {
        let schedule = tessera_server::service::key_schedule::Schedule {
            publish_delay: i64::MAX / 2,
            retire_after: 0,
            rotate_every: None,
        };
        let now = tessera_token::Clock::unix(self.clock.as_ref());
        match tessera_server::service::key_schedule::run_once(
            &self.state.keys,
            self.state.store.as_ref(),
            schedule,
            now,
        )
        .await
        {
            Ok(swapped) => swapped,
            Err(e) => panic!("reloading keys: {e}"),
        }
    }

    /// A `client_credentials` access token of client `id`.
    ///
    /// # Panics
    /// When the grant is refused.
    #[expect(clippy::panic, reason = "test harness")]
    pub async fn service_token(&self, id: &str, secret: &str) -> String {
        let res = self
            .post_form(
                "/oauth/token",
                Some((id, secret)),
                &[("grant_type", "client_credentials")],
            )
            .await;
        let body: serde_json::Value = match res.json().await {
            Ok(b) => b,
            Err(e) => panic!("token endpoint: {e}"),
        };
        match body["access_token"].as_str() {
            Some(t) => t.to_owned(),
            None => panic!("no access token: {body}"),
        }
    }

    /// Logs in through `/auth/token/` and returns the pair.
    ///
    /// # Panics
    /// When login fails.
    #[expect(clippy::expect_used, reason = "test harness")]
    pub async fn login(&self, username: &str) -> TokenPair {
        let res = self
            .post_json(
                "/auth/token/",
                &serde_json::json!({"username": username, "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status(), 200, "login of {username}");
        res.json().await.expect("token pair")
    }

    /// Signs `username` in through the authorization code flow of `client_id` in
    /// `browser` (which must keep cookies and not follow redirects): the login page, its
    /// form, the code with PKCE, the token request. Returns the token response.
    ///
    /// # Panics
    /// When a step fails.
    #[expect(clippy::expect_used, reason = "test harness")]
    pub async fn code_flow(
        &self,
        browser: &reqwest::Client,
        (client_id, secret): (&str, &str),
        redirect_uri: &str,
        username: &str,
    ) -> serde_json::Value {
        use base64::Engine as _;
        let verifier = "v".repeat(50);
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()),
        );
        let mut url = url::Url::parse(&self.url("/oauth/authorize")).expect("url");
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "openid")
            .append_pair("state", "s")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        let first = browser.get(url).send().await.expect("login page");
        // Signed in already (SSO): straight back with a code.
        let done = if first.status().is_redirection() {
            first
        } else {
            self.post_login_form(browser, first, username).await
        };
        let back = done
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| url::Url::parse(l).ok())
            .expect("redirect back");
        let code = back
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("a code");
        let res = self
            .post_form(
                "/oauth/token",
                Some((client_id, secret)),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", redirect_uri),
                    ("code_verifier", &verifier),
                ],
            )
            .await;
        assert_eq!(res.status(), 200, "token request");
        res.json().await.expect("token response")
    }

    /// Posts the login page's form as `username`.
    #[expect(clippy::expect_used, reason = "test harness")]
    async fn post_login_form(
        &self,
        browser: &reqwest::Client,
        page: reqwest::Response,
        username: &str,
    ) -> reqwest::Response {
        let page = page.text().await.expect("login page");
        let mut form: Vec<(String, String)> = page
            .split("<input type=\"hidden\" ")
            .skip(1)
            .map(|rest| {
                let attr = |name: &str| {
                    rest.split(&format!("{name}=\""))
                        .nth(1)
                        .and_then(|v| v.split('"').next())
                        .unwrap_or_default()
                        .replace("&#38;", "&")
                        .replace("&amp;", "&")
                };
                (attr("name"), attr("value"))
            })
            .collect();
        form.push(("username".into(), username.into()));
        form.push(("password".into(), PASSWORD.into()));
        browser
            .post(self.url("/oauth/authorize/login"))
            .form(&form)
            .send()
            .await
            .expect("login form")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn init_logging() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug")
            .with_test_writer()
            .try_init();
    }
}

/// `TESSERA_TEST_POSTGRES_URL`: a PostgreSQL database the tests may create schemas in.
pub fn postgres_url() -> Option<String> {
    std::env::var("TESSERA_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Whether `TESSERA_TEST_BACKEND=postgres` asks for every [`TestApp`] on PostgreSQL.
pub fn backend_is_postgres() -> bool {
    std::env::var("TESSERA_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// Creates an empty schema `t_<random>` in the database of [`postgres_url`] and returns a
/// URL whose connections use it (`options[search_path]`), so each test has its own tables.
/// The schemas go when the CI run drops its database.
///
/// # Errors
/// When `TESSERA_TEST_POSTGRES_URL` is unset or the database unreachable.
pub async fn fresh_postgres_schema() -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    use sqlx::Connection as _;
    let base =
        postgres_url().ok_or("TESSERA_TEST_BACKEND=postgres needs TESSERA_TEST_POSTGRES_URL")?;
    let schema = format!("t_{}", tessera_token::claims::random_hex::<8>()?);
    let mut conn = sqlx::PgConnection::connect(&base).await?;
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(format!("{base}{sep}options[search_path]={schema}"))
}

/// Asserts the store invariants that concurrency or faults could break, on the PostgreSQL
/// database at `url`: no refresh family has two live tokens, every consumed (rotated)
/// token's successor was stored, and each algorithm has at most one active key.
///
/// # Panics
/// When an invariant is broken or the database is unreachable.
#[expect(clippy::expect_used, reason = "test harness")]
pub async fn assert_postgres_invariants(url: &str) {
    let db = sqlx::PgPool::connect(url).await.expect("connect");
    let checks = [
        (
            "families with two live tokens",
            "SELECT COUNT(*) FROM (SELECT family FROM refresh_tokens WHERE state = 'active' \
             GROUP BY family HAVING COUNT(*) > 1) d",
        ),
        (
            "rotated tokens without a stored successor",
            "SELECT COUNT(*) FROM refresh_tokens r WHERE r.state = 'rotated' \
             AND NOT EXISTS (SELECT 1 FROM refresh_tokens n WHERE n.jti = r.replaced_by)",
        ),
        (
            "algorithms with two active keys",
            "SELECT COUNT(*) FROM (SELECT alg FROM signing_keys WHERE state = 'active' \
             GROUP BY alg HAVING COUNT(*) > 1) d",
        ),
    ];
    for (what, sql) in checks {
        let broken: i64 = sqlx::query_scalar(sql)
            .fetch_one(&db)
            .await
            .expect("invariant query");
        assert_eq!(broken, 0, "{what}");
    }
    db.close().await;
}

/// GETs `url` and returns its JSON body.
///
/// # Panics
/// When the request fails or the body is not JSON.
#[expect(clippy::expect_used, reason = "test harness")]
pub async fn get_json(client: &reqwest::Client, url: &str) -> serde_json::Value {
    client
        .get(url)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("a JSON body")
}
