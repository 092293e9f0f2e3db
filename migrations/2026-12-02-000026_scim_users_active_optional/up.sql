-- `active` is optional in SCIM (RFC 7643 §4.1.1): a user whose identity provider never set it,
-- or removed it, has none (and its account stays as it is: only `false` deactivates).
ALTER TABLE scim_users ALTER COLUMN active DROP NOT NULL;
