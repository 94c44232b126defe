//! A real SMTP server for the self-service tests: Python's `aiosmtpd` (`pip install
//! aiosmtpd`) with its `Mailbox` handler, on a free loopback port, writing every message it
//! receives into a Maildir that the tests read to follow the links.
//!
//! `aiosmtpd` is found through `TESSERA_TEST_AIOSMTPD` (a path) or `PATH`. Without it the
//! tests that need it say so on stderr and pass, unless `TESSERA_TEST_REQUIRE_SMTP=1` (set
//! by `.ci/run`), which makes its absence a failure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `aiosmtpd`.
#[derive(Debug)]
pub struct Smtp {
    /// `smtp://127.0.0.1:PORT` for `[mail] smtp_url`.
    pub url: String,
    maildir: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

/// One received message.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The raw message.
    pub raw: String,
}

impl Mail {
    /// The `To:` header value.
    pub fn to(&self) -> String {
        self.header("to")
    }

    /// The `Subject:` header value.
    pub fn subject(&self) -> String {
        self.header("subject")
    }

    fn header(&self, name: &str) -> String {
        self.raw
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .find_map(|l| {
                let (key, value) = l.split_once(':')?;
                key.eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_owned())
            })
            .unwrap_or_default()
    }

    /// The body, quoted-printable soft breaks and `=3D` undone.
    pub fn body(&self) -> String {
        let body = self
            .raw
            .split_once("\n\n")
            .or_else(|| self.raw.split_once("\r\n\r\n"))
            .map_or("", |(_, b)| b);
        body.replace("=\r\n", "")
            .replace("=\n", "")
            .replace("=3D", "=")
    }

    /// The first `…/account/{page}?token=…` link's token.
    pub fn link_token(&self, page: &str) -> Option<String> {
        let body = self.body();
        let marker = format!("/account/{page}?token=");
        let start = body.find(&marker)? + marker.len();
        Some(
            body[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect(),
        )
    }
}

fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TESSERA_TEST_AIOSMTPD") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("aiosmtpd"))
            .find(|candidate| candidate.is_file())
    })
}

impl Smtp {
    /// Starts the server; `None` (after saying why) without `aiosmtpd`.
    ///
    /// # Panics
    /// When it is required but missing, or does not come up.
    #[expect(clippy::panic, reason = "test harness")]
    pub async fn start() -> Option<Self> {
        let Some(bin) = binary() else {
            assert!(
                std::env::var_os("TESSERA_TEST_REQUIRE_SMTP").is_none(),
                "TESSERA_TEST_REQUIRE_SMTP is set but no `aiosmtpd` was found"
            );
            eprintln!("SKIP: `aiosmtpd` not found (pip install aiosmtpd); mail test not run");
            return None;
        };
        for _ in 0..crate::ports::ATTEMPTS {
            let (mut smtp, port) = Self::spawn(&bin);
            if smtp.wait_listening(port).await {
                return Some(smtp);
            }
        }
        panic!(
            "aiosmtpd did not listen on any of {} ports",
            crate::ports::ATTEMPTS
        );
    }

    /// A server started on a free port, not yet listening, and the port.
    #[expect(clippy::expect_used, reason = "test harness")]
    fn spawn(bin: &Path) -> (Self, u16) {
        let dir = tempfile::tempdir().expect("temp dir");
        let maildir = dir.path().join("maildir");
        let port = crate::ports::free_port();
        let child = Command::new(bin)
            .arg("-n")
            .arg("-l")
            .arg(format!("127.0.0.1:{port}"))
            .arg("-c")
            .arg("aiosmtpd.handlers.Mailbox")
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let smtp = Self {
            url: format!("smtp://127.0.0.1:{port}"),
            maildir,
            child,
            _dir: dir,
        };
        (smtp, port)
    }

    /// Waits (up to 5 s) until this server listens on `port`; `false` when it exited first
    /// (the port was taken) or never listened.
    async fn wait_listening(&mut self, port: u16) -> bool {
        for _ in 0..200 {
            if !crate::ports::started(&mut self.child) {
                return false;
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return crate::ports::started(&mut self.child);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        false
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Mail> {
        read_maildir(&self.maildir.join("new"))
    }

    /// Waits (up to 10 s) until `count` messages were received to `to`, and returns them.
    ///
    /// # Panics
    /// When they do not arrive.
    #[expect(clippy::panic, reason = "test harness")]
    pub async fn wait_for(&self, to: &str, count: usize) -> Vec<Mail> {
        for _ in 0..400 {
            let found: Vec<Mail> = self
                .messages()
                .into_iter()
                .filter(|m| m.to().contains(to))
                .collect();
            if found.len() >= count {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{count} message(s) to {to} did not arrive");
    }
}

fn read_maildir(dir: &Path) -> Vec<Mail> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| {
            let modified = e
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            (modified, e.path())
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|(_, path)| std::fs::read_to_string(path).ok())
        .map(|raw| Mail { raw })
        .collect()
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
