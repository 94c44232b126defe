-- Failed logins per throttle key (account+ip, account, ip), shared by every replica.
CREATE TABLE login_failures (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure BIGINT NOT NULL
);
