-- Roles and groups (JSON arrays of names, carried in access tokens as configured), and the
-- services (OAuth client ids, or the Django API's audience) a user may get tokens for:
-- NULL means every service.
ALTER TABLE users ADD COLUMN roles JSONB NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN group_names JSONB NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN services JSONB;
