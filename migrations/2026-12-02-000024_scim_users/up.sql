-- SCIM Users: the resources a directory's identity provider wrote, each provisioning one
-- account of the client. userName, externalId and active are columns (unique, looked up, acted
-- on); the other attributes are kept as written (checked against the schema) in `attributes`.
CREATE TABLE scim_users (
    id           uuid        PRIMARY KEY,
    directory_id uuid        NOT NULL REFERENCES scim_directories (id) ON DELETE CASCADE,
    client_id    uuid        NOT NULL,
    user_id      uuid        NOT NULL,
    user_name    text        NOT NULL CHECK (length(user_name) BETWEEN 1 AND 256),
    external_id  text        CHECK (length(external_id) BETWEEN 1 AND 256),
    active       boolean     NOT NULL,
    attributes   jsonb       NOT NULL,
    version      bigint      NOT NULL,
    -- This user's deactivation disabled the account (so its reactivation may enable it again;
    -- an account an operator disabled stays disabled).
    disabled_account boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT scim_users_user_fk FOREIGN KEY (client_id, user_id)
        REFERENCES users (client_id, id) ON DELETE CASCADE,
    CONSTRAINT scim_users_account_once UNIQUE (directory_id, user_id)
);
-- userName is unique per directory, case-insensitively (RFC 7643: caseExact false).
CREATE UNIQUE INDEX scim_users_user_name_idx ON scim_users (directory_id, lower(user_name));
CREATE INDEX scim_users_external_id_idx ON scim_users (directory_id, external_id);
CREATE INDEX scim_users_created_idx ON scim_users (directory_id, created_at, id);
