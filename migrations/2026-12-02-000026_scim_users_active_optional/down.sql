UPDATE scim_users SET active = true WHERE active IS NULL;
ALTER TABLE scim_users ALTER COLUMN active SET NOT NULL;
