-- The audit trail: who did what, when, from where. Pruned after [audit] retention.
CREATE TABLE audit_events (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT,
    subject TEXT,
    ip TEXT,
    detail TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);
