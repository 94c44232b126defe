//! Configuration: one typed tree, layered defaults → `tessera.toml` → `TESSERA_*`
//! environment → command-line flags, validated before the server starts.
//!
//! A top-level key `bind` is `TESSERA_BIND`; a nested key uses a double underscore:
//! `[database] url` is `TESSERA_DATABASE__URL`. Unknown keys are refused. This module
//! is the only place that reads the environment.

mod accounts;
mod database;
mod keys;
mod mfa;
mod reference;
mod sso;
mod tokens;
mod validate;

pub use accounts::{MailSettings, PasswordSettings, SignupSettings, ThrottleSettings};
pub use database::{Backend, DatabaseSettings};
pub use keys::{KeyBackend, KeySettings, VaultSettings};
pub use mfa::{MfaRule, MfaSettings};
pub use reference::REFERENCE;
pub use sso::SsoSettings;
pub use tokens::{TokenSettings, UserClaim, UserSettings};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tessera_proto::Secret;
use url::Url;

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Public issuer URL (`iss`). Derived from the bound address when unset.
    pub issuer: Option<String>,
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Directory for the SQLite database and the master key file.
    pub data_dir: PathBuf,
    /// Master key sealing the private keys at rest (32 bytes, base64 or hex). When unset,
    /// `<data_dir>/master.key` is used, created with mode 0600 on first start.
    #[serde(skip_serializing)]
    pub master_key: Option<Secret>,
    /// `pretty` or `json`.
    pub log_format: LogFormat,
    /// Log filter, in `tracing` directive syntax (`info`, `tessera_server=debug`).
    pub log_filter: String,
    /// Database settings.
    pub database: DatabaseSettings,
    /// Token settings.
    pub tokens: TokenSettings,
    /// User API settings.
    pub users: UserSettings,
    /// Password hashing settings.
    pub passwords: PasswordSettings,
    /// Browser single sign-on.
    pub sso: SsoSettings,
    /// `[mfa]`: who must use a second factor.
    pub mfa: MfaSettings,
    /// Signing keys.
    pub keys: KeySettings,
    /// `[vault]`: where `keys.backend = vault-kv | vault-transit` finds Vault / OpenBao.
    pub vault: VaultSettings,
    /// `[throttle]`: login throttling.
    pub throttle: ThrottleSettings,
    /// `[signup]`
    pub signup: SignupSettings,
    /// `[mail]`
    pub mail: MailSettings,
    /// A client must send its request headers within this (slow-loris); then the
    /// connection is closed.
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// A request that takes longer is answered 503 `temporarily_unavailable`.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// A request body must arrive whole within this, else 408 and the connection closes
    /// (a body trickled in byte by byte holds no worker for longer).
    #[serde(with = "humantime_serde")]
    pub body_read_timeout: Duration,
    /// Connections open at once; past it new ones are closed at once.
    pub connection_limit: usize,
    /// Audit events older than this are removed by the housekeeping task.
    #[serde(with = "humantime_serde")]
    pub audit_retention: Duration,
    /// Browser origins allowed to call the API cross-origin (CORS), exactly as the
    /// browser sends them (`https://app.example.com`). Empty: CORS off.
    pub cors_origins: Vec<String>,
    /// PEM certificate chain: serve HTTPS (rustls) with `tls_key`, and send HSTS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            issuer: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 8000)),
            data_dir: PathBuf::from("tessera-data"),
            master_key: None,
            log_format: LogFormat::Pretty,
            log_filter: "info,sqlx=warn".into(),
            database: DatabaseSettings::default(),
            tokens: TokenSettings::default(),
            users: UserSettings::default(),
            passwords: PasswordSettings::default(),
            sso: SsoSettings::default(),
            mfa: MfaSettings::default(),
            keys: KeySettings::default(),
            vault: VaultSettings::default(),
            throttle: ThrottleSettings::default(),
            signup: SignupSettings::default(),
            mail: MailSettings::default(),
            audit_retention: Duration::from_secs(90 * 24 * 3600),
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(10),
            connection_limit: 4096,
            cors_origins: Vec::new(),
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line.
    Json,
}

/// The configuration could not be loaded or is invalid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A layer could not be read or has unknown or mistyped keys.
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    /// A value is out of range.
    #[error("configuration: {key}: {reason}")]
    Invalid {
        /// The offending key.
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// Values given on the command line; they override every other layer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    /// `--bind`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<SocketAddr>,
    /// `--data-dir`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// `--issuer`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// `--log-format`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    /// `--database-url`, as `{"database": {"url": …}}`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseOverride>,
    /// `--tls-cert`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
}

/// `--database-url`
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseOverride {
    /// The URL.
    pub url: String,
}

impl Settings {
    /// Loads the layers: defaults, then `file` (default `tessera.toml` when it exists),
    /// then `TESSERA_*` variables, then `overrides`; and validates the result.
    ///
    /// # Errors
    /// [`ConfigError`] naming the bad key and where it came from.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match file {
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None => figment = figment.merge(Toml::file("tessera.toml")),
        }
        let settings: Settings = figment
            .merge(
                Env::prefixed("TESSERA_")
                    // Test harness variables share the prefix but are not configuration.
                    .filter(|key| !key.as_str().to_ascii_lowercase().starts_with("test_"))
                    .split("__"),
            )
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(Box::new)?;
        settings.validate()?;
        Ok(settings)
    }

    /// The database URL: configured, or the SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        self.database
            .url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("tessera.db").display()))
    }

    /// The database URL with any password replaced by `***`, for printing and logs.
    pub fn database_url_redacted(&self) -> String {
        let url = self.database_url();
        match Url::parse(&url) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("***"));
                u.to_string()
            }
            _ => url,
        }
    }

    /// The issuer: configured, or `http(s)://<address the server is bound to>`.
    pub fn issuer_for(&self, bound: SocketAddr) -> String {
        match &self.issuer {
            Some(i) => i.trim_end_matches('/').to_owned(),
            None if self.tls_cert.is_some() => format!("https://{bound}"),
            None => format!("http://{bound}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_url(url: &str) -> Settings {
        let mut s = Settings::default();
        s.database.url = Some(url.into());
        s
    }

    #[test]
    fn database_urls_name_a_supported_engine() {
        for ok in [
            "sqlite://x.db",
            "sqlite::memory:",
            "postgres://u@h/db",
            "postgresql://u@h:5432/db",
        ] {
            assert!(with_url(ok).validate().is_ok(), "{ok}");
        }
        for bad in ["mysql://u@h/db", "x.db", "http://h/db"] {
            let err = with_url(bad).validate().unwrap_err().to_string();
            assert!(err.contains("database.url"), "{bad}: {err}");
        }
    }

    #[test]
    fn printed_database_urls_hide_the_password() {
        let s = with_url("postgres://tessera:s3cret@db.internal:5432/tessera");
        let shown = s.database_url_redacted();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("tessera:***@db.internal"), "{shown}");
        assert_eq!(
            with_url("postgres://u@h/db").database_url_redacted(),
            "postgres://u@h/db"
        );
    }
}
