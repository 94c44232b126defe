-- Pushed authorization requests (RFC 9126): a client POSTs its authorization request to
-- /oauth/par and sends the browser with the request_uri it got; the stored request is
-- used once, within 60 seconds. A client (or [sso] for all) may be made to push always.
ALTER TABLE clients ADD COLUMN require_pushed_authorization_requests BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE pushed_requests (
    uri_hash   TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    params     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
