-- OAuth clients, and the scope a refresh token was granted (it may only narrow).
-- List fields are JSON arrays of strings.
CREATE TABLE clients (
    client_id        TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    secret_hash      TEXT,
    redirect_uris    TEXT NOT NULL,
    grants           TEXT NOT NULL,
    scopes           TEXT NOT NULL,
    first_party      BOOLEAN NOT NULL DEFAULT FALSE,
    access_lifetime  INTEGER,
    refresh_lifetime INTEGER,
    created_at       INTEGER NOT NULL
);

ALTER TABLE refresh_tokens ADD COLUMN scope TEXT;
