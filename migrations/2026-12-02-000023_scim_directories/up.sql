-- SCIM 2.0 directories: where an organization's identity provider provisions its users and
-- groups, reached at {BASE_URL}/scim/v2/{id} with a bearer token kept only as its SHA-256.
CREATE TABLE scim_directories (
    id              uuid        PRIMARY KEY,
    client_id       uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    organization_id uuid        NOT NULL,
    name            text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    status          text        NOT NULL CHECK (status IN ('active', 'disabled')),
    token_hash      bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    -- The first 16 characters of the token, to tell tokens apart.
    token_prefix    text        NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    last_sync_at    timestamptz,
    CONSTRAINT scim_directories_org_fk FOREIGN KEY (client_id, organization_id)
        REFERENCES organizations (client_id, id) ON DELETE CASCADE
);
CREATE INDEX scim_directories_client_idx ON scim_directories (client_id, organization_id);
