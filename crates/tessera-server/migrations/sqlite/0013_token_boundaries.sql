-- Token boundaries. users.session_epoch counts every "end every session of this user"
-- (log out everywhere, a password set or reset, a disable): tokens carry the epoch they
-- were issued in (claim `sep`) and one of an earlier epoch is refused, whatever path
-- issued it and whether or not it has a refresh row. clients.audiences lists the extra
-- audiences (JSON array of strings) a client's user tokens carry beside its own id, such
-- as the Django API's ([tokens] audience): granted by a superuser, never implied.
ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN audiences TEXT NOT NULL DEFAULT '[]';
-- The epoch a browser session was started in, and a code issued in: a session or code of
-- an earlier epoch than the user's is void, so one started or issued while the user's
-- sessions were being ended cannot outlive them.
ALTER TABLE sessions ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
-- When each client id was last deleted: a client registered again under that id is
-- created after it, so a token of the old registration (issued up to the deletion) is
-- never taken for the new one's (tokens are bound to their client's created_at). One row
-- per id ever deleted.
CREATE TABLE deleted_clients (
    client_id  TEXT PRIMARY KEY,
    deleted_at INTEGER NOT NULL
);
ALTER TABLE auth_codes ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;

-- The read cache's trigger names every users column but last_login (0012): the new one too.
DROP TRIGGER users_changed_update;
CREATE TRIGGER users_changed_update AFTER UPDATE OF
    id, username, email, password_hash, first_name, last_name, is_active, is_staff,
    is_superuser, date_joined, roles, group_names, services, email_verified,
    session_epoch ON users
BEGIN UPDATE cache_epoch SET n = n + 1 WHERE id = 1; END;
