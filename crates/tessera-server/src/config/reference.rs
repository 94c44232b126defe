//! The configuration reference: every key with its environment variable, default and meaning.

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
  [mfa] required_for              TESSERA_MFA__REQUIRED_FOR                []              who must use a second factor: staff, superuser, role:NAME, group:NAME
  [mfa] totp_issuer               TESSERA_MFA__TOTP_ISSUER                 (issuer host)   the name authenticator apps show
  [mfa] passkey_rp_id             TESSERA_MFA__PASSKEY_RP_ID               (issuer host)   passkeys' relying party id (a domain; an IP address has no passkeys)
  [mfa] passkey_origins           TESSERA_MFA__PASSKEY_ORIGINS             []              origins besides the issuer's that passkeys may be used from
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
