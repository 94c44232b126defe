//! The checks serde cannot make: ranges, formats and settings that only go together, one
//! function per section. The first bad value is reported, naming its key.

use super::{
    Backend, ConfigError, DatabaseSettings, KeyBackend, KeySettings, MailSettings, MfaSettings,
    PasswordSettings, Settings, SignupSettings, SsoSettings, TokenSettings, UserSettings,
    VaultSettings,
};
use std::time::Duration;
use url::Url;

type Checked = Result<(), ConfigError>;

fn invalid(key: &'static str, reason: &str) -> Checked {
    Err(ConfigError::Invalid {
        key,
        reason: reason.into(),
    })
}

impl Settings {
    /// Checks ranges and formats that serde cannot.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for the first bad value.
    pub fn validate(&self) -> Checked {
        server(self)?;
        database(&self.database)?;
        tokens(&self.tokens)?;
        accounts(&self.signup, &self.mail, &self.users)?;
        passwords(&self.passwords)?;
        keys(&self.keys, &self.vault)?;
        sso(&self.sso)?;
        mfa(&self.mfa)
    }
}

/// The issuer, the listener and what it accepts.
fn server(s: &Settings) -> Checked {
    if let Some(issuer) = &s.issuer {
        match Url::parse(issuer) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.query().is_none() => {}
            _ => return invalid("issuer", "must be an http(s) URL without query"),
        }
    }
    if s.cors_origins.iter().any(|o| {
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
    if s.header_read_timeout < Duration::from_millis(100)
        || s.request_timeout < Duration::from_millis(100)
        || s.body_read_timeout < Duration::from_millis(100)
    {
        return invalid(
            "request_timeout",
            "header_read_timeout, body_read_timeout and request_timeout must be at least 100ms",
        );
    }
    if s.connection_limit == 0 {
        return invalid("connection_limit", "must be at least 1");
    }
    if s.tls_cert.is_some() != s.tls_key.is_some() {
        return invalid("tls_cert", "set both tls_cert and tls_key, or neither");
    }
    Ok(())
}

/// `[database]`
fn database(d: &DatabaseSettings) -> Checked {
    if d.url
        .as_deref()
        .is_some_and(|url| Backend::of(url).is_none())
    {
        return invalid(
            "database.url",
            "must start with sqlite:, postgres:// or postgresql://",
        );
    }
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

/// `[tokens]`
fn tokens(t: &TokenSettings) -> Checked {
    if t.access_lifetime < Duration::from_secs(1) || t.refresh_lifetime < Duration::from_secs(1) {
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
    Ok(())
}

/// `[signup]`, `[mail]` and `[users]`.
fn accounts(signup: &SignupSettings, mail: &MailSettings, users: &UserSettings) -> Checked {
    if signup.enabled && mail.smtp_url.is_none() {
        return invalid(
            "signup.enabled",
            "sign-up needs [mail] smtp_url: new addresses are verified by a link",
        );
    }
    if mail.from.parse::<lettre::message::Mailbox>().is_err() {
        return invalid(
            "mail.from",
            "not an address (\"Name <user@host>\" or user@host)",
        );
    }
    if users.fields.is_empty() {
        return invalid("users.fields", "must name at least one field");
    }
    Ok(())
}

/// `[passwords]`
fn passwords(p: &PasswordSettings) -> Checked {
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
    Ok(())
}

/// `[keys]`, and `[vault]` when a Vault backend holds them.
fn keys(k: &KeySettings, v: &VaultSettings) -> Checked {
    if !matches!(k.rsa_bits, 2048 | 3072 | 4096) {
        return invalid("keys.rsa_bits", "must be 2048, 3072 or 4096");
    }
    if !k.rotate_every.is_zero() && k.rotate_every < Duration::from_secs(3600) {
        return invalid(
            "keys.rotate_every",
            "must be 0s (never) or at least one hour",
        );
    }
    if k.backend != KeyBackend::Local {
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
    Ok(())
}

/// `[sso]`
fn sso(s: &SsoSettings) -> Checked {
    if s.session_lifetime < Duration::from_secs(60) {
        return invalid("sso.session_lifetime", "must be at least one minute");
    }
    Ok(())
}

/// `[mfa]`
fn mfa(m: &MfaSettings) -> Checked {
    if m.totp_issuer
        .as_deref()
        .is_some_and(|i| i.is_empty() || i.contains(':'))
    {
        return invalid("mfa.totp_issuer", "must be non-empty and without ':'");
    }
    Ok(())
}
