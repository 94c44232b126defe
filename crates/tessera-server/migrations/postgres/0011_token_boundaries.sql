-- Token boundaries. users.session_epoch counts every "end every session of this user"
-- (log out everywhere, a password set or reset, a disable): tokens carry the epoch they
-- were issued in (claim `sep`) and one of an earlier epoch is refused, whatever path
-- issued it and whether or not it has a refresh row. clients.audiences lists the extra
-- audiences (JSON array of strings) a client's user tokens carry beside its own id, such
-- as the Django API's ([tokens] audience): granted by a superuser, never implied.
ALTER TABLE users ADD COLUMN session_epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN audiences TEXT NOT NULL DEFAULT '[]';
