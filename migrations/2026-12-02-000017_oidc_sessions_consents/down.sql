DROP TABLE oidc_consents;
DROP INDEX sessions_oidc_app_idx;
ALTER TABLE sessions DROP CONSTRAINT sessions_oidc_scopes_check;
ALTER TABLE sessions DROP COLUMN scopes;
ALTER TABLE sessions DROP COLUMN oidc_app_id;
