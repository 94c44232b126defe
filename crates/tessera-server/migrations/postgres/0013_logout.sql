-- Logout that reaches every service (OpenID Connect RP-Initiated, Back-Channel and
-- Front-Channel Logout 1.0). A client registers where a logout may return to
-- (post_logout_redirect_uris, JSON array; until now a logout returned to any redirect URI,
-- so existing clients keep those) and where it hears of logouts.
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
UPDATE clients SET post_logout_redirect_uris = redirect_uris;
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN frontchannel_logout_uri TEXT;
ALTER TABLE clients ADD COLUMN frontchannel_logout_session_required BOOLEAN NOT NULL DEFAULT FALSE;

-- Which clients got tokens through which browser session (written when a code is
-- redeemed): the ones to tell when that session ends.
CREATE TABLE session_clients (
    sid       TEXT NOT NULL REFERENCES sessions (sid) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id   BIGINT NOT NULL,
    PRIMARY KEY (sid, client_id)
);
CREATE INDEX session_clients_user ON session_clients (user_id);

-- What each session's codes gave (the refresh family, if any, and the first access
-- token): ending the session revokes them (Back-Channel Logout 1.0 §2.7: refresh tokens
-- without offline_access die with their session).
CREATE TABLE session_grants (
    sid               TEXT NOT NULL REFERENCES sessions (sid) ON DELETE CASCADE,
    access_jti        TEXT NOT NULL,
    access_expires_at BIGINT NOT NULL,
    family            TEXT,
    PRIMARY KEY (sid, access_jti)
);

-- Back-channel logout tokens still to deliver: written in the transaction that ends the
-- sessions, so none is lost to a crash; the row is deleted once the client answered 2xx
-- or its retries ran out. The logout token is signed at each attempt (fresh iat and jti).
CREATE TABLE logout_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    client_id       TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    uri             TEXT NOT NULL,
    sub             TEXT NOT NULL,
    sid             TEXT,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL
);
CREATE INDEX logout_deliveries_due ON logout_deliveries (next_attempt_at);
