-- Strong authentication (issue 20): second factors, what a sign-in used, and who must use one.
--
-- users.mfa_required: an admin requires a second factor of the user (a user who enrolled one
-- must use it anyway).
-- clients.require_mfa: a client requires it of every user signing in to it.
ALTER TABLE users ADD COLUMN mfa_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;

-- One TOTP secret per user (RFC 6238), sealed under the master key like the signing keys.
-- confirmed_at NULL: enrolment begun, not yet confirmed with a first code (it does not
-- count). last_step: the highest time step accepted, so that a code is accepted once.
-- failures: wrong codes in a row; at 100 the authenticator stops taking codes (NIST SP
-- 800-63B 5.2.2) until an admin resets it (recovery codes still work).
CREATE TABLE totp_secrets (
    user_id      BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    sealed       BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    confirmed_at BIGINT,
    last_step    BIGINT NOT NULL DEFAULT 0,
    last_used_at BIGINT,
    failures     BIGINT NOT NULL DEFAULT 0
);

-- Single-use recovery codes: SHA-256 of each (they are 80 random bits), replaced as a set.
CREATE TABLE recovery_codes (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- A sign-in between its first and second factor: the Django API's mfa_token and the
-- browser's second-factor step (SHA-256 of the token; 5 minutes; dies after 5 wrong codes).
-- purpose: api or browser (a ticket is taken only where it was issued); one live ticket
-- per user and purpose.
CREATE TABLE mfa_tickets (
    token_hash    TEXT PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_epoch BIGINT NOT NULL,
    methods       TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    failures      BIGINT NOT NULL DEFAULT 0,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX mfa_tickets_expiry ON mfa_tickets (expires_at);

-- What a browser session's user authenticated with, and when (JSON [{"method", "at"}]);
-- a code carries the methods of its session for the ID token's amr and acr.
ALTER TABLE sessions ADD COLUMN methods TEXT NOT NULL DEFAULT '[]';
ALTER TABLE auth_codes ADD COLUMN methods TEXT NOT NULL DEFAULT '[]';

-- Passkeys (WebAuthn): each credential as webauthn-rs keeps it (JSON: the public key, its
-- signature counter, its backup state), named by its user; handle: the user's WebAuthn
-- user id (a random UUID, the same for all their passkeys: what a usernameless sign-in
-- names).
CREATE TABLE webauthn_credentials (
    credential_id TEXT PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    handle        TEXT NOT NULL,
    name          TEXT NOT NULL,
    passkey       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials (user_id);
CREATE INDEX webauthn_credentials_handle ON webauthn_credentials (handle);

-- A WebAuthn ceremony in flight: its state stays here (never with the browser), 5
-- minutes, taken once. user_id: whose (none for a usernameless sign-in).
CREATE TABLE webauthn_ceremonies (
    id_hash    TEXT PRIMARY KEY,
    user_id    BIGINT REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    state      TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies (expires_at);
