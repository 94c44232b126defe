-- Users, signing keys, refresh token families and revoked access tokens.
-- Times of token rows are Unix seconds; user times are RFC 3339 text (sqlx `time`).

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL COLLATE NOCASE UNIQUE,
    password_hash TEXT NOT NULL,
    first_name    TEXT NOT NULL DEFAULT '',
    last_name     TEXT NOT NULL DEFAULT '',
    is_active     BOOLEAN NOT NULL DEFAULT TRUE,
    is_staff      BOOLEAN NOT NULL DEFAULT FALSE,
    is_superuser  BOOLEAN NOT NULL DEFAULT FALSE,
    date_joined   TEXT NOT NULL,
    last_login    TEXT
);

CREATE TABLE signing_keys (
    kid            TEXT PRIMARY KEY,
    alg            TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('next', 'active', 'retired')),
    created_at     INTEGER NOT NULL,
    activated_at   INTEGER,
    retire_after   INTEGER,
    sealed_private BLOB NOT NULL
);

CREATE TABLE refresh_tokens (
    jti               TEXT PRIMARY KEY,
    family            TEXT NOT NULL,
    user_id           INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id         TEXT,
    issued_at         INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('active', 'rotated', 'revoked')),
    replaced_by       TEXT,
    access_jti        TEXT NOT NULL,
    access_expires_at INTEGER NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
-- At most one live token per family, whatever the code does.
CREATE UNIQUE INDEX refresh_tokens_one_live ON refresh_tokens (family) WHERE state = 'active';

CREATE TABLE revoked_access (
    jti        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX revoked_access_expiry ON revoked_access (expires_at);
