-- Self-service: whether the user proved their e-mail address (users made by an admin, the
-- CLI or an import count as verified), and single-use links (e-mail verification, password
-- reset, e-mail change) stored as SHA-256 of the token only.
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT TRUE;
CREATE TABLE user_links (
    token_hash  TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,
    new_email   TEXT,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX user_links_user ON user_links (user_id);
CREATE INDEX user_links_expiry ON user_links (expires_at);
