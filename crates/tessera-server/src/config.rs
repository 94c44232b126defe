//! Configuration: one typed tree, layered defaults → `tessera.toml` → `TESSERA_*`
//! environment → command-line flags, validated before the server starts.
//!
//! A top-level key `bind` is `TESSERA_BIND`; a nested key uses a double underscore:
//! `[database] url` is `TESSERA_DATABASE__URL`. Unknown keys are refused. This module
//! is the only place that reads the environment.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tessera_proto::{Secret, UserField};
use tessera_token::Algorithm;
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

/// `[throttle]`: failed logins slow down further attempts, with a back-off that doubles
/// per failure past a free allowance, capped, and forgotten after `window` without
/// failures. Three counters: the account from one client IP (strict: what stops a
/// guesser), the account from everywhere (loose and short-capped: a distributed guess is
/// slowed without locking the owner out for long), the client IP across accounts
/// (credential stuffing).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleSettings {
    /// Off: no counting at all.
    pub enabled: bool,
    /// Failures of one account from one IP before back-off starts.
    pub account_ip_free: i64,
    /// Longest back-off for one account from one IP.
    #[serde(with = "humantime_serde")]
    pub account_ip_max: Duration,
    /// Failures of one account from all IPs before back-off starts.
    pub account_free: i64,
    /// Longest back-off for one account from all IPs (keep it short: the owner shares it).
    #[serde(with = "humantime_serde")]
    pub account_max: Duration,
    /// Failures from one IP, all accounts, before back-off starts.
    pub ip_free: i64,
    /// Longest back-off for one IP.
    #[serde(with = "humantime_serde")]
    pub ip_max: Duration,
    /// Distinct accounts (existing or not) whose logins fail from one IP in a window before
    /// every login from it backs off (password spraying: many accounts, one password).
    /// Accounts that logged in successfully from that IP in the last 30 days do not count
    /// and are not held back, so an office behind one address keeps working.
    pub spray_free: i64,
    /// Self-service requests that send mail (sign-up, password reset, e-mail change) from
    /// one IP per window before they back off like failed logins (capped at `ip_max`).
    pub mail_free: i64,
    /// Counters restart after this long without a failure.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// Peers whose `X-Forwarded-For` names the client (your reverse proxies); from any
    /// other peer the header is ignored.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Keep the counters in Redis (`redis://host:6379/0`) instead of the database; none:
    /// the database. If Redis is unreachable while running, throttling fails open (logged).
    #[serde(skip_serializing)]
    pub redis_url: Option<Secret>,
    /// Prefix of the counters' Redis keys.
    pub redis_prefix: String,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            account_ip_free: 5,
            account_ip_max: Duration::from_secs(15 * 60),
            account_free: 50,
            account_max: Duration::from_secs(60),
            ip_free: 100,
            spray_free: 10,
            mail_free: 10,
            ip_max: Duration::from_secs(15 * 60),
            window: Duration::from_secs(3600),
            trusted_proxies: Vec::new(),
            redis_url: None,
            redis_prefix: "tessera:throttle:".into(),
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

/// `[database]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`; defaults to
    /// `sqlite://<data_dir>/tessera.db`.
    pub url: Option<String>,
    /// Connection pool size.
    pub max_connections: u32,
    /// How long a request waits for a connection before answering 503.
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
    /// Longest a single statement may run on PostgreSQL before it is cancelled (503).
    #[serde(with = "humantime_serde")]
    pub statement_timeout: Duration,
    /// How often a running server re-reads the signing keys, so that a key rotated by
    /// another replica (or the CLI) is published and used within this bound.
    #[serde(with = "humantime_serde")]
    pub key_reload_interval: Duration,
    /// How often a running server removes expired tokens, codes, sessions, revocation
    /// entries and login counters.
    #[serde(with = "humantime_serde")]
    pub prune_interval: Duration,
}

/// `[tokens]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    /// Signature algorithm of access tokens: RS256, PS256, ES256 or EdDSA.
    pub algorithm: Algorithm,
    /// `aud` of access tokens; resource servers must expect it.
    pub audience: String,
    /// Access token lifetime.
    #[serde(with = "humantime_serde")]
    pub access_lifetime: Duration,
    /// Refresh token lifetime.
    #[serde(with = "humantime_serde")]
    pub refresh_lifetime: Duration,
    /// Clock skew tolerated when checking `exp`/`nbf`.
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
    /// Whether `/auth/token/verify/` also accepts live refresh tokens (simplejwt does).
    pub verify_accepts_refresh: bool,
    /// Kid of an imported key whose djangorestframework-simplejwt tokens (no `kid`, no
    /// `iss`/`aud`) are accepted until `legacy_until`, during a migration.
    pub legacy_kid: Option<String>,
    /// PEM public keys (`PUBLIC KEY`, RS256) of that deployment: its access tokens verify
    /// until `legacy_until`, without Tessera holding the old private key.
    pub legacy_public_keys: Vec<PathBuf>,
    /// The HS256 signing key of that deployment (simplejwt's `SIGNING_KEY`, by default
    /// Django's `SECRET_KEY`): its refresh tokens are exchanged once each at
    /// `/auth/token/refresh/` for Tessera tokens until `legacy_until`.
    #[serde(skip_serializing)]
    pub legacy_hs256_secret: Option<Secret>,
    /// End of that acceptance (RFC 3339).
    #[serde(with = "time::serde::rfc3339::option")]
    pub legacy_until: Option<time::OffsetDateTime>,
    /// What access tokens of users carry about them besides `user_id`, so resource
    /// services can authorize without calling back (empty roles/groups are left out).
    pub user_claims: Vec<UserClaim>,
}

/// A user attribute an access token can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserClaim {
    /// `roles`: the user's role names.
    Roles,
    /// `groups`: the user's group names.
    Groups,
    /// `is_staff`.
    IsStaff,
    /// `is_superuser`.
    IsSuperuser,
}

/// `[users]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UserSettings {
    /// Fields of `GET /auth/users/{id}/`, in order.
    pub fields: Vec<UserField>,
}

/// `[passwords]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordSettings {
    /// Argon2id memory cost in KiB (OWASP minimum 19456).
    pub memory_kib: u32,
    /// Argon2id iterations (OWASP minimum 2).
    pub iterations: u32,
    /// Argon2id parallelism.
    pub parallelism: u32,
    /// Hashes computed at once; more wait in a queue.
    pub max_concurrent_hashes: usize,
    /// Niceness of the hashing threads (Linux; 0 = the server's own priority): under a
    /// login flood, JWKS, verification and refresh keep the CPU first.
    pub hash_nice: i32,
    /// Run the hashing threads under `SCHED_IDLE` instead (Linux; `hash_nice` then does not
    /// apply): any other thread that wakes preempts them at once, so a login flood adds
    /// less to the cheap endpoints' tail latency, but logins get only the CPU those leave.
    pub hash_sched_idle: bool,
    /// How long a login waits in the hash queue before answering 503.
    #[serde(with = "humantime_serde")]
    pub queue_timeout: Duration,
    /// Longest accepted password, in bytes (refused before hashing).
    pub max_length: usize,
    /// Shortest password accepted when one is set.
    pub min_length: usize,
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

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
            key_reload_interval: Duration::from_secs(10),
            prune_interval: Duration::from_secs(600),
        }
    }
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::RS256,
            audience: "tessera".into(),
            access_lifetime: Duration::from_secs(5 * 60),
            refresh_lifetime: Duration::from_secs(24 * 3600),
            leeway: Duration::from_secs(30),
            verify_accepts_refresh: false,
            legacy_kid: None,
            legacy_hs256_secret: None,
            legacy_public_keys: Vec::new(),
            legacy_until: None,
            user_claims: vec![UserClaim::Roles, UserClaim::Groups],
        }
    }
}

impl Default for UserSettings {
    fn default() -> Self {
        Self {
            fields: UserField::DRF_REMOTEJWT.to_vec(),
        }
    }
}

/// The database engines Tessera stores its state in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file, one machine.
    Sqlite,
    /// One server, many replicas.
    Postgres,
}

impl Backend {
    /// The backend a database URL names, if any.
    pub fn of(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// Where the private signing keys live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum KeyBackend {
    /// In the database, sealed under the master key.
    #[default]
    Local,
    /// A PEM private key in a Vault / OpenBao KV v2 secret; versions of the secret are
    /// the keys.
    VaultKv,
    /// Vault / OpenBao's transit engine signs; the private key never leaves it; versions
    /// of the transit key are the keys.
    VaultTransit,
}

/// `[vault]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VaultSettings {
    /// Vault / OpenBao address, e.g. `https://vault.internal:8200`.
    pub addr: Option<String>,
    /// A Vault token (or use AppRole).
    pub token: Option<Secret>,
    /// AppRole role id (with `secret_id`), instead of a token.
    pub role_id: Option<String>,
    /// AppRole secret id.
    pub secret_id: Option<Secret>,
    /// Mount path of the AppRole auth method.
    pub approle_mount: String,
    /// PEM file of the CA that signed Vault's certificate (added to the system roots).
    pub ca_cert: Option<PathBuf>,
    /// Timeout of one request to Vault.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// KV v2 mount (`vault-kv`).
    pub kv_mount: String,
    /// Secret path under the mount (`vault-kv`).
    pub kv_path: String,
    /// Field of the secret holding the PEM private key (`vault-kv`).
    pub kv_field: String,
    /// Transit mount (`vault-transit`).
    pub transit_mount: String,
    /// Transit key name (`vault-transit`).
    pub transit_key: String,
}

impl Default for VaultSettings {
    fn default() -> Self {
        Self {
            addr: None,
            token: None,
            role_id: None,
            secret_id: None,
            approle_mount: "approle".into(),
            ca_cert: None,
            timeout: Duration::from_secs(5),
            kv_mount: "secret".into(),
            kv_path: "tessera/signing-key".into(),
            kv_field: "private_key".into(),
            transit_mount: "transit".into(),
            transit_key: "tessera".into(),
        }
    }
}

/// `[keys]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeySettings {
    /// Where private keys live: `local`, `vault-kv` or `vault-transit`.
    pub backend: KeyBackend,
    /// Size of generated RSA keys (RS256, PS256): 2048, 3072 or 4096.
    pub rsa_bits: u32,
    /// Rotate the signing key automatically when it has signed this long (`0s`: never).
    #[serde(with = "humantime_serde")]
    pub rotate_every: Duration,
}

impl Default for KeySettings {
    fn default() -> Self {
        Self {
            backend: KeyBackend::Local,
            rsa_bits: 2048,
            rotate_every: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

impl KeySettings {
    /// The RSA size as the token crate names it.
    pub fn rsa_size(&self) -> tessera_token::key::RsaBits {
        match self.rsa_bits {
            3072 => tessera_token::key::RsaBits::B3072,
            4096 => tessera_token::key::RsaBits::B4096,
            _ => tessera_token::key::RsaBits::B2048,
        }
    }
}

/// `[signup]`: self-service accounts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignupSettings {
    /// Whether anyone may create an account (`POST /auth/users/`, the sign-up page, and the
    /// Flask-style `POST /user`). Off by default.
    pub enabled: bool,
    /// When not empty, only addresses at these domains may sign up.
    pub allowed_domains: Vec<String>,
}

/// `[mail]`: SMTP for verification and password-reset links.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    /// `smtp://host:port` (STARTTLS when offered; `?tls=required` to insist),
    /// `smtps://user:password@host:465`; none: no mail, so no sign-up verification or
    /// password reset by e-mail.
    #[serde(skip_serializing)]
    pub smtp_url: Option<Secret>,
    /// The `From` address.
    pub from: String,
    /// How long an e-mail verification (or e-mail change) link works.
    #[serde(with = "humantime_serde")]
    pub verify_lifetime: Duration,
    /// How long a password-reset link works.
    #[serde(with = "humantime_serde")]
    pub reset_lifetime: Duration,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: "Tessera <no-reply@localhost>".into(),
            verify_lifetime: Duration::from_secs(24 * 3600),
            reset_lifetime: Duration::from_secs(3600),
        }
    }
}

/// `[sso]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SsoSettings {
    /// How long a browser stays logged in at Tessera (the SSO session cookie).
    #[serde(with = "humantime_serde")]
    pub session_lifetime: Duration,
    /// Whether back-channel logouts may be POSTed to this machine itself (a loopback
    /// address): off, so that a client registration cannot aim Tessera's requests at
    /// services listening only on localhost; on for development and tests.
    pub backchannel_allow_loopback: bool,
    /// Every client must push its authorization requests first (RFC 9126 PAR): a request
    /// at the authorization endpoint without a pushed `request_uri` is refused.
    pub require_pushed_authorization_requests: bool,
}

impl Default for SsoSettings {
    fn default() -> Self {
        Self {
            session_lifetime: Duration::from_secs(12 * 3600),
            backchannel_allow_loopback: false,
            require_pushed_authorization_requests: false,
        }
    }
}

impl Default for PasswordSettings {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            max_concurrent_hashes: 2,
            hash_nice: 10,
            hash_sched_idle: false,
            queue_timeout: Duration::from_secs(5),
            max_length: 1024,
            min_length: 8,
        }
    }
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

    /// Checks ranges and formats that serde cannot.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for the first bad value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.into(),
            })
        };
        if let Some(issuer) = &self.issuer {
            match Url::parse(issuer) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.query().is_none() => {}
                _ => return invalid("issuer", "must be an http(s) URL without query"),
            }
        }
        if self
            .database
            .url
            .as_deref()
            .is_some_and(|url| Backend::of(url).is_none())
        {
            return invalid(
                "database.url",
                "must start with sqlite:, postgres:// or postgresql://",
            );
        }
        let t = &self.tokens;
        if t.access_lifetime < Duration::from_secs(1) || t.refresh_lifetime < Duration::from_secs(1)
        {
            return invalid("tokens", "lifetimes must be at least one second");
        }
        let ten_years = Duration::from_secs(10 * 366 * 86_400);
        if t.access_lifetime > ten_years || t.refresh_lifetime > ten_years {
            return invalid("tokens", "lifetimes must be at most ten years");
        }
        if t.audience.is_empty() || t.audience.contains(['>', '?', '~']) {
            return invalid(
                "tokens.audience",
                "must be non-empty, without '>', '?' or '~'",
            );
        }
        if self.cors_origins.iter().any(|o| {
            Url::parse(o).map_or(true, |u| {
                u.origin().ascii_serialization() != o.as_str()
                    || !matches!(u.scheme(), "http" | "https")
            })
        }) {
            return invalid(
                "cors_origins",
                "each must be an origin: scheme://host[:port], no path or trailing slash",
            );
        }
        if self.header_read_timeout < Duration::from_millis(100)
            || self.request_timeout < Duration::from_millis(100)
            || self.body_read_timeout < Duration::from_millis(100)
        {
            return invalid(
                "request_timeout",
                "header_read_timeout, body_read_timeout and request_timeout must be at least 100ms",
            );
        }
        if self.connection_limit == 0 {
            return invalid("connection_limit", "must be at least 1");
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return invalid("tls_cert", "set both tls_cert and tls_key, or neither");
        }
        let legacy = t.legacy_kid.is_some()
            || t.legacy_hs256_secret.is_some()
            || !t.legacy_public_keys.is_empty();
        if legacy != t.legacy_until.is_some() {
            return invalid(
                "tokens.legacy_until",
                "set legacy_until (the end of the migration window) with legacy_kid, \
                 legacy_public_keys or legacy_hs256_secret, and only with them",
            );
        }
        if self.signup.enabled && self.mail.smtp_url.is_none() {
            return invalid(
                "signup.enabled",
                "sign-up needs [mail] smtp_url: new addresses are verified by a link",
            );
        }
        if self.mail.from.parse::<lettre::message::Mailbox>().is_err() {
            return invalid(
                "mail.from",
                "not an address (\"Name <user@host>\" or user@host)",
            );
        }
        if self.users.fields.is_empty() {
            return invalid("users.fields", "must name at least one field");
        }
        let p = &self.passwords;
        if p.memory_kib < 19_456 || p.iterations < 2 || p.parallelism < 1 {
            return invalid(
                "passwords",
                "Argon2id below OWASP's minimum (m=19456, t=2, p=1)",
            );
        }
        if !(0..=19).contains(&p.hash_nice) {
            return invalid("passwords.hash_nice", "0 to 19");
        }
        if p.max_concurrent_hashes == 0 || p.max_length < p.min_length || p.min_length == 0 {
            return invalid(
                "passwords",
                "max_concurrent_hashes and min_length must be positive, max_length >= min_length",
            );
        }
        if !matches!(self.keys.rsa_bits, 2048 | 3072 | 4096) {
            return invalid("keys.rsa_bits", "must be 2048, 3072 or 4096");
        }
        if !self.keys.rotate_every.is_zero() && self.keys.rotate_every < Duration::from_secs(3600) {
            return invalid(
                "keys.rotate_every",
                "must be 0s (never) or at least one hour",
            );
        }
        if self.keys.backend != KeyBackend::Local {
            let v = &self.vault;
            if v.addr.as_deref().is_none_or(|a| Url::parse(a).is_err()) {
                return invalid(
                    "vault.addr",
                    "an http(s) URL is needed by the vault backends",
                );
            }
            if v.token.is_none() && (v.role_id.is_none() || v.secret_id.is_none()) {
                return invalid("vault", "set token, or role_id and secret_id (AppRole)");
            }
        }
        if self.sso.session_lifetime < Duration::from_secs(60) {
            return invalid("sso.session_lifetime", "must be at least one minute");
        }
        let d = &self.database;
        if d.max_connections == 0 {
            return invalid("database.max_connections", "must be positive");
        }
        if d.prune_interval < Duration::from_millis(100) {
            return invalid("database.prune_interval", "must be at least 100ms");
        }
        if d.statement_timeout < Duration::from_millis(10)
            || d.key_reload_interval < Duration::from_millis(100)
        {
            return invalid(
                "database",
                "statement_timeout must be at least 10ms, key_reload_interval at least 100ms",
            );
        }
        Ok(())
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

/// Every configuration key with its environment variable, default and meaning, for
/// `tessera serve --help` and the README.
pub const REFERENCE: &str = "\
Configuration keys (tessera.toml, or TESSERA_<KEY>; nested keys join with a double underscore):
  issuer                           TESSERA_ISSUER                           http://<bind>   public issuer URL (iss)
  bind                             TESSERA_BIND                             127.0.0.1:8000  listen address
  data_dir                         TESSERA_DATA_DIR                         ./tessera-data  SQLite file and master key file
  master_key                       TESSERA_MASTER_KEY                       (file)          32-byte key, base64 or hex, sealing private keys
  log_format                       TESSERA_LOG_FORMAT                       pretty          pretty | json
  header_read_timeout              TESSERA_HEADER_READ_TIMEOUT              10s             request headers must arrive within this (slow-loris)
  request_timeout                  TESSERA_REQUEST_TIMEOUT                  30s             then 503 temporarily_unavailable
  body_read_timeout                TESSERA_BODY_READ_TIMEOUT                10s             a request body must arrive whole within this, else 408
  connection_limit                 TESSERA_CONNECTION_LIMIT                 4096            open connections; more are closed at once
  audit_retention                  TESSERA_AUDIT_RETENTION                  90d             audit events are kept this long
  cors_origins                     TESSERA_CORS_ORIGINS                     []              browser origins allowed cross-origin; empty = CORS off
  tls_cert                         TESSERA_TLS_CERT                         (none)          PEM chain: serve HTTPS (rustls) and send HSTS
  tls_key                          TESSERA_TLS_KEY                          (none)          PEM key of tls_cert
  log_filter                       TESSERA_LOG_FILTER                       info,sqlx=warn  tracing filter directives
  [database] url                   TESSERA_DATABASE__URL                    sqlite://<data_dir>/tessera.db  or postgres://user@host/db
  [database] max_connections       TESSERA_DATABASE__MAX_CONNECTIONS        8
  [database] acquire_timeout       TESSERA_DATABASE__ACQUIRE_TIMEOUT        5s              then 503
  [database] statement_timeout     TESSERA_DATABASE__STATEMENT_TIMEOUT      5s              PostgreSQL; then 503
  [database] key_reload_interval   TESSERA_DATABASE__KEY_RELOAD_INTERVAL    10s             keys rotated elsewhere are seen within this
  [database] prune_interval        TESSERA_DATABASE__PRUNE_INTERVAL         10m             expired tokens, codes, sessions, unconfirmed sign-ups removed this often
  [tokens] algorithm               TESSERA_TOKENS__ALGORITHM                RS256           RS256 | PS256 | ES256 | EdDSA
  [tokens] audience                TESSERA_TOKENS__AUDIENCE                 tessera         aud of access tokens
  [tokens] access_lifetime         TESSERA_TOKENS__ACCESS_LIFETIME          5m
  [tokens] refresh_lifetime        TESSERA_TOKENS__REFRESH_LIFETIME         24h
  [tokens] leeway                  TESSERA_TOKENS__LEEWAY                   30s             clock skew on exp/nbf
  [tokens] verify_accepts_refresh  TESSERA_TOKENS__VERIFY_ACCEPTS_REFRESH   false           /auth/token/verify/ accepts the Django API's refresh tokens too
  [tokens] legacy_kid              TESSERA_TOKENS__LEGACY_KID               (none)          imported key whose simplejwt tokens are accepted…
  [tokens] legacy_public_keys      TESSERA_TOKENS__LEGACY_PUBLIC_KEYS       []              PEM public keys (RS256) whose simplejwt access tokens verify…
  [tokens] legacy_hs256_secret     TESSERA_TOKENS__LEGACY_HS256_SECRET      (none)          old simplejwt HS256 key: its refresh tokens are exchanged once…
  [tokens] legacy_until            TESSERA_TOKENS__LEGACY_UNTIL             (none)          …until this RFC 3339 time
  [tokens] user_claims             TESSERA_TOKENS__USER_CLAIMS              [roles, groups] of roles | groups | is_staff | is_superuser, in user tokens
  [users] fields                   TESSERA_USERS__FIELDS                    drf_remotejwt's  fields of /auth/users/{id}/
  [passwords] memory_kib           TESSERA_PASSWORDS__MEMORY_KIB            19456           Argon2id m (minimum 19456)
  [passwords] iterations           TESSERA_PASSWORDS__ITERATIONS            2               Argon2id t (minimum 2)
  [passwords] parallelism          TESSERA_PASSWORDS__PARALLELISM           1               Argon2id p
  [passwords] max_concurrent_hashes TESSERA_PASSWORDS__MAX_CONCURRENT_HASHES 2             hashes at once; others queue
  [passwords] hash_nice            TESSERA_PASSWORDS__HASH_NICE             10              niceness of hashing threads (0-19); 0 = same as the server
  [passwords] hash_sched_idle      TESSERA_PASSWORDS__HASH_SCHED_IDLE       false           hashing threads under SCHED_IDLE instead of hash_nice
  [passwords] queue_timeout        TESSERA_PASSWORDS__QUEUE_TIMEOUT         5s              then 503
  [passwords] max_length           TESSERA_PASSWORDS__MAX_LENGTH            1024            bytes; longer is refused before hashing
  [passwords] min_length           TESSERA_PASSWORDS__MIN_LENGTH            8               for new passwords
  [sso] session_lifetime           TESSERA_SSO__SESSION_LIFETIME            12h             browser stays logged in at Tessera
  [sso] backchannel_allow_loopback TESSERA_SSO__BACKCHANNEL_ALLOW_LOOPBACK  false           back-channel logouts and jwks_uri fetches may go to loopback addresses (development)
  [sso] require_pushed_authorization_requests  TESSERA_SSO__REQUIRE_PUSHED_AUTHORIZATION_REQUESTS  false  every client must use PAR (RFC 9126)
  [keys] rsa_bits                  TESSERA_KEYS__RSA_BITS                   2048            2048 | 3072 | 4096 for new RSA keys
  [keys] rotate_every              TESSERA_KEYS__ROTATE_EVERY               30d             automatic rotation; 0s = never (local backend)
  [throttle] enabled               TESSERA_THROTTLE__ENABLED                true            login back-off after failures (429 + Retry-After)
  [throttle] account_ip_free       TESSERA_THROTTLE__ACCOUNT_IP_FREE        5               failures of an account from one IP before back-off
  [throttle] account_ip_max        TESSERA_THROTTLE__ACCOUNT_IP_MAX         15m             its longest back-off (doubling from 1s)
  [throttle] account_free          TESSERA_THROTTLE__ACCOUNT_FREE           50              failures of an account from all IPs
  [throttle] account_max           TESSERA_THROTTLE__ACCOUNT_MAX            1m              its longest back-off (the owner shares it)
  [throttle] ip_free               TESSERA_THROTTLE__IP_FREE                100             failures from one IP, all accounts
  [throttle] spray_free            TESSERA_THROTTLE__SPRAY_FREE             10              distinct accounts failing from one IP (not known there) before back-off
  [throttle] ip_max                TESSERA_THROTTLE__IP_MAX                 15m
  [throttle] mail_free             TESSERA_THROTTLE__MAIL_FREE              10              sign-up/reset/e-mail-change requests per IP before back-off
  [throttle] window                TESSERA_THROTTLE__WINDOW                 1h              counters restart after this long without failures
  [throttle] redis_url             TESSERA_THROTTLE__REDIS_URL              (none)          counters in Redis instead of the database (fails open if down)
  [throttle] redis_prefix          TESSERA_THROTTLE__REDIS_PREFIX           tessera:throttle:
  [throttle] trusted_proxies       TESSERA_THROTTLE__TRUSTED_PROXIES        []              peers whose X-Forwarded-For names the client
  [signup] enabled                 TESSERA_SIGNUP__ENABLED                  false           self-service accounts (needs [mail] smtp_url)
  [signup] allowed_domains         TESSERA_SIGNUP__ALLOWED_DOMAINS          []              only these e-mail domains may sign up; empty = any
  [mail] smtp_url                  TESSERA_MAIL__SMTP_URL                   (none)          smtp://host:25, smtp://host:587?tls=required, smtps://user:pw@host
  [mail] from                      TESSERA_MAIL__FROM                       Tessera <no-reply@localhost>
  [mail] verify_lifetime           TESSERA_MAIL__VERIFY_LIFETIME            24h             e-mail verification / change links
  [mail] reset_lifetime            TESSERA_MAIL__RESET_LIFETIME             1h              password-reset links
  [keys] backend                   TESSERA_KEYS__BACKEND                    local           local | vault-kv | vault-transit
  [vault] addr                     TESSERA_VAULT__ADDR                      (none)          Vault / OpenBao URL
  [vault] token                    TESSERA_VAULT__TOKEN                     (none)          Vault token, or:
  [vault] role_id                  TESSERA_VAULT__ROLE_ID                   (none)          AppRole role id
  [vault] secret_id                TESSERA_VAULT__SECRET_ID                 (none)          AppRole secret id
  [vault] approle_mount            TESSERA_VAULT__APPROLE_MOUNT             approle
  [vault] ca_cert                  TESSERA_VAULT__CA_CERT                   (none)          PEM CA for Vault's TLS certificate
  [vault] timeout                  TESSERA_VAULT__TIMEOUT                   5s              per request; then 503 while issuing
  [vault] kv_mount                 TESSERA_VAULT__KV_MOUNT                  secret          vault-kv: KV v2 mount
  [vault] kv_path                  TESSERA_VAULT__KV_PATH                   tessera/signing-key
  [vault] kv_field                 TESSERA_VAULT__KV_FIELD                  private_key     field holding the PEM key
  [vault] transit_mount            TESSERA_VAULT__TRANSIT_MOUNT             transit         vault-transit: mount
  [vault] transit_key              TESSERA_VAULT__TRANSIT_KEY               tessera         transit key name
";

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
