//! Real `tessera serve` processes for the binary's tests.

use serde_json::{Value, json};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The password every seeded user has.
pub const PASSWORD: &str = "correct horse battery staple";

/// A base64 master key shared by replicas (32 zero-free bytes; tests only).
pub const MASTER_KEY: &str = "dGVzc2VyYS1yZXBsaWNhLXRlc3QtbWFzdGVyLWtleSE=";

/// Runs the binary to completion; asserts it succeeded.
pub fn tessera(args: &[&str], env: &[(&str, &str)], stdin: &str) -> std::process::Output {
    let out = run(args, env, stdin);
    assert!(
        out.status.success(),
        "tessera {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs the binary to completion with the given environment.
pub fn run(args: &[&str], env: &[(&str, &str)], stdin: &str) -> std::process::Output {
    use std::io::Write as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .envs(env.iter().copied())
        .env_remove("TESSERA_DATABASE__URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A running `tessera serve` on a random port, killed on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
}

impl Server {
    /// Starts `tessera serve --bind 127.0.0.1:0` and waits for its listening line.
    pub async fn start(data_dir: &Path, database_url: Option<&str>, env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
        cmd.arg("--data-dir")
            .arg(data_dir)
            .args(["--output", "json", "serve", "--bind", "127.0.0.1:0"])
            .env_remove("TESSERA_DATABASE__URL")
            .env("TESSERA_LOG_FILTER", "warn")
            // One issuer whatever the port, as behind a load balancer.
            .env("TESSERA_ISSUER", "http://tessera.test")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(url) = database_url {
            cmd.args(["--database-url", url]);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("server start within 60 s")
            .unwrap()
            .expect("a listening line");
        let started: Value = serde_json::from_str(&line).unwrap();
        let url = started["listening"].as_str().unwrap().to_owned();
        Self { child, url }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// Stops the server (SIGKILL: a crash is the harder case for the store).
    pub async fn stop(mut self) {
        self.child.kill().await.unwrap();
    }

    /// Sends SIGTERM (what `systemctl stop` does) and waits for the process to exit.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().unwrap().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("exits within the drain timeout")
            .unwrap()
    }
}

/// Token pair from a login, or the status when it failed.
pub async fn login(client: &reqwest::Client, base: &str, user: &str) -> (u16, Value) {
    post(
        client,
        base,
        "/auth/token/",
        &json!({"username": user, "password": PASSWORD}),
    )
    .await
}

/// POSTs JSON, returns the status and the JSON body (`null` when not JSON).
pub async fn post(client: &reqwest::Client, base: &str, path: &str, body: &Value) -> (u16, Value) {
    let res = client
        .post(format!("{base}{path}"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Creates users `names` with [`PASSWORD`] through the CLI.
pub fn create_users(args: &[&str], env: &[(&str, &str)], names: &[&str]) {
    for name in names {
        let email = format!("{name}@example.com");
        let create = [
            "user",
            "create",
            "--username",
            name,
            "--email",
            &email,
            "--password-stdin",
        ];
        tessera(&[args, &create[..]].concat(), env, &format!("{PASSWORD}\n"));
    }
}
