-- Accounts (issue 17); the SQLite migration 0014 explains each column.
ALTER TABLE users ADD COLUMN username_key TEXT;
CREATE UNIQUE INDEX users_username_folded ON users (username_key);
ALTER TABLE users ADD COLUMN imported_id BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE user_links ADD COLUMN password_hash TEXT;
ALTER TABLE user_links ADD COLUMN username TEXT;
ALTER TABLE user_links ADD COLUMN first_name TEXT;
ALTER TABLE user_links ADD COLUMN last_name TEXT;
