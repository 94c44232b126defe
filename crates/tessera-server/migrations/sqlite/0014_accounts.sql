-- Accounts (issue 17).
-- users.username_key: what makes two usernames the same (NFKC, lower case: `Root` and
-- full-width `ｒｏｏｔ` are `root`), computed by the server (domain::username_key) at every
-- write and unique. Rows written before this migration get theirs when the server starts
-- (Store::fill_username_keys); two old usernames differing only in case keep NULL for
-- the later one (NULLs are distinct) and are found by their exact username.
ALTER TABLE users ADD COLUMN username_key TEXT;
CREATE UNIQUE INDEX users_username_folded ON users (username_key);
-- users.imported_id: the account holds the id it had in the system it was imported from
-- (import django without --new-ids), so that system's tokens may name it during a legacy
-- window. Unknowable for rows written before: they keep the benefit of the doubt (TRUE);
-- the token's iat must still follow their date_joined.
ALTER TABLE users ADD COLUMN imported_id INTEGER NOT NULL DEFAULT TRUE;
-- A sign-up's choices travel in its verification link, not on the pending account: the
-- link the mailbox owner follows activates what that sign-up chose (password hash,
-- username, names), whoever signed up for the address first.
ALTER TABLE user_links ADD COLUMN password_hash TEXT;
ALTER TABLE user_links ADD COLUMN username TEXT;
ALTER TABLE user_links ADD COLUMN first_name TEXT;
ALTER TABLE user_links ADD COLUMN last_name TEXT;

-- The read cache's trigger names every users column but last_login (0012): the new ones too.
DROP TRIGGER users_changed_update;
CREATE TRIGGER users_changed_update AFTER UPDATE OF
    id, username, email, password_hash, first_name, last_name, is_active, is_staff,
    is_superuser, date_joined, roles, group_names, services, email_verified,
    session_epoch, username_key, imported_id ON users
BEGIN UPDATE cache_epoch SET n = n + 1 WHERE id = 1; END;
