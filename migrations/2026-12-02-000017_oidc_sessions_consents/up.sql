-- Sessions an OIDC app holds for a user (authorization code flow): the app and the scopes
-- granted ride on every refresh token of the family. NULL for the service's own sessions.
ALTER TABLE sessions ADD COLUMN oidc_app_id uuid REFERENCES oidc_apps (id) ON DELETE CASCADE;
ALTER TABLE sessions ADD COLUMN scopes text[];
ALTER TABLE sessions ADD CONSTRAINT sessions_oidc_scopes_check
    CHECK ((oidc_app_id IS NULL) = (scopes IS NULL));
CREATE INDEX sessions_oidc_app_idx ON sessions (oidc_app_id, user_id)
    WHERE oidc_app_id IS NOT NULL AND revoked_at IS NULL;

-- What a user allowed a third-party app to see (the consent page), remembered per user and
-- app; revoking it on the account page also ends the app's sessions.
CREATE TABLE oidc_consents (
    client_id  uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app_id     uuid        NOT NULL REFERENCES oidc_apps (id) ON DELETE CASCADE,
    scopes     text[]      NOT NULL,
    granted_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, app_id)
);

CREATE INDEX oidc_consents_app_idx ON oidc_consents (app_id);
CREATE INDEX oidc_consents_client_idx ON oidc_consents (client_id, user_id);
