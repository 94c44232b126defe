-- The read cache's signal (store/read_cache.rs): a counter that every change to the
-- tables the cache remembers (users, clients, revoked_access) increments in the same
-- transaction, by whichever connection or process makes it (the CLI, sqlite3). A running
-- server polls it, so writes to other tables (refresh tokens, audit events, login
-- counters) no longer make it forget everything. SQLite only: PostgreSQL has no cache.
CREATE TABLE cache_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO cache_epoch (id, n) VALUES (1, 0);

CREATE TRIGGER users_changed_insert AFTER INSERT ON users
BEGIN UPDATE cache_epoch SET n = n + 1 WHERE id = 1; END;
-- Every column but last_login, which only this server writes (at each login) and which
-- it forgets from its cache for that one user (Memo::forget): logins must not make the
-- whole cache forget. A column added to users later must be added here (a store test
-- compares this list with the table).
CREATE TRIGGER users_changed_update AFTER UPDATE OF
    id, username, email, password_hash, first_name, last_name, is_active, is_staff,
    is_superuser, date_joined, roles, group_names, services, email_verified ON users
BEGIN UPDATE cache_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER users_changed_delete AFTER DELETE ON users
BEGIN UPDATE cache_epoch SET n = n + 1 WHERE id = 1; END;

CREATE TRIGGER clients_changed_insert AFTER INSERT ON clients
BEGIN UPDATE cache_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER clients_changed_update AFTER UPDATE ON clients
BEGIN UPDATE cache_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER clients_changed_delete AFTER DELETE ON clients
BEGIN UPDATE cache_epoch SET n = n + 1 WHERE id = 1; END;

CREATE TRIGGER revoked_access_changed_insert AFTER INSERT ON revoked_access
BEGIN UPDATE cache_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER revoked_access_changed_update AFTER UPDATE ON revoked_access
BEGIN UPDATE cache_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER revoked_access_changed_delete AFTER DELETE ON revoked_access
BEGIN UPDATE cache_epoch SET n = n + 1 WHERE id = 1; END;
