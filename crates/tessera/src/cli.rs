//! The command line.

use crate::output::Format;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use tessera_server::config::{DatabaseOverride, LogFormat, Overrides};

/// Tessera: a single-sign-on and token authority.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Configuration file (default: ./tessera.toml when it exists).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (SQLite database, master key) [env: TESSERA_DATA_DIR].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL, overriding the data directory's SQLite file [env: TESSERA_DATABASE__URL].
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    #[command(after_help = tessera_server::config::REFERENCE)]
    Serve(ServeArgs),
    /// Create or upgrade the database schema.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage OAuth clients (boxed: `create` has many flags).
    #[command(subcommand)]
    Client(Box<ClientCommand>),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Write the whole installation (users, keys still sealed, live refresh families,
    /// revocations) to a JSON file, created with mode 0600; never overwrites.
    Export {
        /// The file to create.
        file: PathBuf,
    },
    /// Database housekeeping.
    #[command(subcommand)]
    Db(DbCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Load an export into an empty database (for example SQLite → PostgreSQL), all or
    /// nothing. The master key must be the source's: it is checked against every key
    /// before anything is written. `tessera import django …` brings users from Django.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Import(ImportArgs),
}

/// `tessera import FILE` or `tessera import django …`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file `tessera export` wrote.
    #[arg(required = true)]
    pub file: Option<PathBuf>,
    /// Import from another system instead.
    #[command(subcommand)]
    pub from: Option<ImportSource>,
}

/// Systems users can be brought from.
#[derive(Debug, Subcommand)]
pub enum ImportSource {
    /// Users of a Django project, with their password hashes (pbkdf2_sha256, pbkdf2_sha1,
    /// argon2, bcrypt_sha256, bcrypt: verified as they are and replaced by Argon2id at the
    /// user's next login). Users that exist already (same username or e-mail) are skipped,
    /// so running it twice is harmless.
    Django(DjangoImportArgs),
}

/// Where the Django users are.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true)))]
pub struct DjangoImportArgs {
    /// The output of `manage.py dumpdata auth.user` (or of a custom user model).
    #[arg(long, group = "source")]
    pub from_json: Option<PathBuf>,
    /// The Django database (`postgres://…`): its user table is read directly.
    #[arg(long, group = "source")]
    pub from_db: Option<String>,
    /// The user table for `--from-db`.
    #[arg(long, default_value = "auth_user")]
    pub table: String,
    /// Give the users new ids instead of keeping Django's (by default ids are kept, so
    /// that services holding copies of users, and Django's tokens accepted during a
    /// migration window, still name the right user).
    #[arg(long)]
    pub new_ids: bool,
}

/// `tessera audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// The latest events, oldest first.
    Tail {
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Only events after this id (to continue from a previous tail).
        #[arg(long, default_value_t = 0)]
        after: i64,
    },
}

/// `tessera db …`
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Row counts per table.
    Stats,
    /// Remove what has expired now (running servers do it every `[database]
    /// prune_interval`).
    Prune,
}

/// `tessera client …`
#[derive(Debug, Subcommand)]
#[expect(
    clippy::large_enum_variant,
    reason = "parsed once per command run; boxing would only obscure the clap definition"
)]
pub enum ClientCommand {
    /// Register a client. A confidential client's secret is printed once, never again.
    Create {
        /// Client id (letters, digits, `._-`).
        #[arg(long)]
        id: String,
        /// Name shown on login and consent pages [default: the id].
        #[arg(long)]
        name: Option<String>,
        /// A public client (browser or native app): no secret, PKCE required.
        #[arg(long)]
        public: bool,
        /// An exact redirect URI (repeatable).
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// A grant type it may use (repeatable): authorization_code, refresh_token,
        /// client_credentials, password [default: authorization_code refresh_token].
        #[arg(long = "grant", value_name = "GRANT")]
        grants: Vec<String>,
        /// A scope it may ask for (repeatable) [default: openid profile email].
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Trusted first-party app: skips the consent page.
        #[arg(long)]
        first_party: bool,
        /// Access token lifetime for this client, e.g. 10m [default: tokens.access_lifetime].
        #[arg(long, value_parser = humantime::parse_duration)]
        access_lifetime: Option<std::time::Duration>,
        /// Refresh token lifetime for this client [default: tokens.refresh_lifetime].
        #[arg(long, value_parser = humantime::parse_duration)]
        refresh_lifetime: Option<std::time::Duration>,
        /// Algorithm of this client's ID tokens (OpenID Connect
        /// `id_token_signed_response_alg`); an active key of it must exist (`tessera keys
        /// rotate --alg ALG`) [default: tokens.algorithm].
        #[arg(long)]
        id_token_alg: Option<tessera_token::Algorithm>,
        /// An audience this client's tokens carry beside its own id (repeat for several);
        /// `--audience tessera` (the `[tokens] audience`) makes its users' tokens good for
        /// the Django user API and the services verifying that audience.
        #[arg(long = "audience", value_name = "AUD")]
        audiences: Vec<String>,
        /// Where an RP-initiated logout may return to (repeatable; exact match;
        /// `post_logout_redirect_uris`).
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// Where Tessera POSTs logout tokens when a session this client took part in ends
        /// (OpenID Connect Back-Channel Logout 1.0; https, or http on localhost).
        #[arg(long, value_name = "URI")]
        backchannel_logout_uri: Option<String>,
        /// The client needs `sid` in logout tokens (Tessera always sends it).
        #[arg(long, requires = "backchannel_logout_uri")]
        backchannel_logout_session_required: bool,
        /// A page the logged-out page loads in a hidden iframe, with `iss` and `sid`
        /// (Front-Channel Logout 1.0; https, or http on localhost).
        #[arg(long, value_name = "URI")]
        frontchannel_logout_uri: Option<String>,
        /// The page needs `iss` and `sid` (Tessera always sends them).
        #[arg(long, requires = "frontchannel_logout_uri")]
        frontchannel_logout_session_required: bool,
        /// Its authorization requests must be pushed to /oauth/par first (RFC 9126).
        #[arg(long)]
        require_pushed_authorization_requests: bool,
        /// A JWKS file holding the public keys its request objects are signed with
        /// (RFC 9101; registered as `jwks`).
        #[arg(long, value_name = "FILE", conflicts_with = "jwks_uri")]
        jwks_file: Option<std::path::PathBuf>,
        /// Where its request-object keys are published (https, or http on localhost;
        /// Tessera fetches and caches them).
        #[arg(long, value_name = "URI")]
        jwks_uri: Option<String>,
        /// The only algorithm its request objects may use: RS256, PS256, ES256, EdDSA,
        /// or none (unsigned request objects).
        #[arg(long, value_name = "ALG")]
        request_object_signing_alg: Option<String>,
        /// Every authorization request must be a request object signed with its keys.
        #[arg(long)]
        require_signed_request_object: bool,
        /// Every user signing in to it must use a second factor (TOTP or a passkey).
        #[arg(long)]
        require_mfa: bool,
    },
    /// List clients.
    List,
    /// Show one client.
    Show {
        /// Client id.
        id: String,
    },
    /// Delete a client and end every session issued to it.
    Delete {
        /// Client id.
        id: String,
    },
    /// Give a confidential client a new secret (printed once); the old one stops working.
    RotateSecret {
        /// Client id.
        id: String,
    },
}

/// `tessera keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the stored keys (public facts only).
    List,
    /// Generate a new signing key. It is published at once and starts signing once every
    /// JWKS cache has had time to see it (the advertised max-age plus one reload
    /// interval), done by the running servers.
    Rotate {
        /// Algorithm of the new key [default: tokens.algorithm].
        #[arg(long)]
        alg: Option<tessera_token::Algorithm>,
        /// Sign with it at once (or activate the key already staged). Verifiers that
        /// cached the JWKS refuse its tokens until they refetch (unknown kid).
        #[arg(long)]
        now: bool,
    },
    /// Stop signing with a key but keep it published until its tokens expire (an active
    /// key is replaced at once); a staged key is withdrawn.
    Retire {
        /// Key id (may start with `-`: kids are base64url).
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
    /// Emergency: remove a (compromised) key from the JWKS now; an active key is replaced
    /// first. Its tokens fail everywhere once servers reload and verifiers refetch.
    Revoke {
        /// Key id (may start with `-`: kids are base64url).
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
    /// Import a PEM private key (PKCS#8, or PKCS#1 `RSA PRIVATE KEY` from `openssl
    /// genrsa`), so tokens it already signed keep verifying; staged like a rotation.
    Import {
        /// The PEM file.
        file: PathBuf,
        /// Its algorithm [default: tokens.algorithm].
        #[arg(long)]
        alg: Option<tessera_token::Algorithm>,
        /// Sign with it at once.
        #[arg(long)]
        now: bool,
    },
    /// Print the published public keys as a JWKS.
    ExportPublic,
    /// Change the master key: every stored key is re-sealed under a new master key in one
    /// transaction; the signing keys (and so every token) stay as they are. With the key
    /// in `<data_dir>/master.key`, a new one replaces it; with `TESSERA_MASTER_KEY`, the
    /// new key is written to `--new-key-file` for you to deploy. Restart every server
    /// afterwards.
    Rewrap {
        /// Where the new master key goes (created, mode 0600), or an existing file holding
        /// the new key to use.
        #[arg(long, value_name = "FILE")]
        new_key_file: Option<PathBuf>,
    },
    /// Write a signing key into the Vault / OpenBao KV v2 secret `[vault] kv_path` as a new
    /// version (generated, or read from a PEM file). With `keys.backend = vault-kv` it is
    /// published at the next reload and signs after the JWKS max-age plus two reload
    /// intervals.
    PushVault {
        /// A PEM private key to push instead of a generated one.
        #[arg(long, value_name = "FILE")]
        from_file: Option<PathBuf>,
        /// Its algorithm [default: tokens.algorithm].
        #[arg(long)]
        alg: Option<tessera_token::Algorithm>,
    },
}

/// `tessera serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [env: TESSERA_BIND] [default: 127.0.0.1:8000].
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<SocketAddr>,
    /// Public issuer URL [env: TESSERA_ISSUER] [default: http://<bind>].
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// Log format [env: TESSERA_LOG_FORMAT].
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormatArg>,
    /// Serve HTTPS with this PEM certificate chain [env: TESSERA_TLS_CERT].
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's PEM private key [env: TESSERA_TLS_KEY].
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// Log formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormatArg {
    /// Human-readable.
    Pretty,
    /// JSON lines.
    Json,
}

/// `tessera user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input.
    Create {
        /// Username.
        #[arg(long)]
        username: String,
        /// E-mail address.
        #[arg(long)]
        email: String,
        /// Read the password from standard input (one line).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Given name.
        #[arg(long, default_value = "")]
        first_name: String,
        /// Family name.
        #[arg(long, default_value = "")]
        last_name: String,
        /// Staff flag.
        #[arg(long)]
        staff: bool,
        /// Superuser flag.
        #[arg(long)]
        superuser: bool,
    },
    /// List users.
    List,
    /// Set a user's password (read from standard input) and end their sessions.
    SetPassword {
        /// Username or e-mail.
        user: String,
        /// Read the password from standard input (one line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Disable a user and revoke all their tokens.
    Disable {
        /// Username or e-mail.
        user: String,
    },
    /// Enable a disabled user.
    Enable {
        /// Username or e-mail.
        user: String,
    },
    /// A user's second factors.
    Mfa {
        #[command(subcommand)]
        command: MfaCommand,
    },
    /// Load users from a JSON array or a CSV file with a header row (columns: username,
    /// email, password or password_hash, first_name, last_name, is_staff, is_superuser,
    /// is_active).
    Import {
        /// The file; `.csv` is read as CSV, anything else as JSON.
        file: PathBuf,
    },
}

/// `tessera user mfa …`
#[derive(Debug, Subcommand)]
pub enum MfaCommand {
    /// Show which second factors a user has (never the secrets).
    Show {
        /// Username or e-mail.
        user: String,
    },
    /// Remove every second factor of a user and end all their sessions (a lost phone).
    Reset {
        /// Username or e-mail.
        user: String,
    },
    /// Require a second factor of a user (`--off` lifts the requirement); one without
    /// any is sent to enrol at the next sign-in.
    Require {
        /// Username or e-mail.
        user: String,
        /// Lift the requirement instead.
        #[arg(long)]
        off: bool,
    },
}

impl Cli {
    /// The flags that override configuration.
    pub fn overrides(&self) -> Overrides {
        let (bind, issuer, log_format, tls_cert, tls_key) = match &self.command {
            Command::Serve(a) => (
                a.bind,
                a.issuer.clone(),
                a.log_format.map(|f| match f {
                    LogFormatArg::Pretty => LogFormat::Pretty,
                    LogFormatArg::Json => LogFormat::Json,
                }),
                a.tls_cert.clone(),
                a.tls_key.clone(),
            ),
            _ => (None, None, None, None, None),
        };
        Overrides {
            bind,
            data_dir: self.global.data_dir.clone(),
            issuer,
            log_format,
            database: self
                .global
                .database_url
                .clone()
                .map(|url| DatabaseOverride { url }),
            tls_cert,
            tls_key,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kid_starting_with_a_hyphen_is_a_kid_not_a_flag() {
        for verb in ["retire", "revoke"] {
            let cli = Cli::try_parse_from(["tessera", "keys", verb, "-lX4bq"])
                .unwrap_or_else(|e| panic!("{verb}: {e}"));
            let kid = match cli.command {
                Command::Keys(KeysCommand::Retire { kid } | KeysCommand::Revoke { kid }) => kid,
                other => panic!("{other:?}"),
            };
            assert_eq!(kid, "-lX4bq");
        }
    }
}
