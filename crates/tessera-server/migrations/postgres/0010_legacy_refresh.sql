-- Refresh tokens of the simplejwt deployment Tessera replaced, exchanged once each during
-- the migration window ([tokens] legacy_hs256_secret): their jti, kept until they expire.
CREATE TABLE legacy_refresh_used (
    jti         TEXT PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
