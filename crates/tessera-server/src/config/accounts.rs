//! `[passwords]`, `[throttle]`, `[signup]` and `[mail]`: how accounts are protected, created and
//! reached.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use tessera_proto::Secret;

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
