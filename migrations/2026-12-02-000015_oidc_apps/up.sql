-- OIDC applications (relying parties) of a client. The secret is kept only as its SHA-256.
CREATE TABLE oidc_apps (
    id                         uuid PRIMARY KEY,
    client_id                  uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    public_id                  text        NOT NULL,
    name                       text        NOT NULL,
    app_type                   text        NOT NULL CHECK (app_type IN ('confidential', 'public')),
    redirect_uris              text[]      NOT NULL DEFAULT '{}',
    post_logout_redirect_uris  text[]      NOT NULL DEFAULT '{}',
    scopes                     text[]      NOT NULL DEFAULT '{}',
    grant_types                text[]      NOT NULL DEFAULT '{}',
    token_endpoint_auth_method text        NOT NULL,
    jwks                       jsonb,
    first_party                boolean     NOT NULL DEFAULT false,
    secret_hash                bytea       CHECK (secret_hash IS NULL OR octet_length(secret_hash) = 32),
    secret_prefix              text,
    created_at                 timestamptz NOT NULL,
    updated_at                 timestamptz NOT NULL,
    CONSTRAINT oidc_apps_public_id_key UNIQUE (public_id)
);

CREATE INDEX oidc_apps_client_idx ON oidc_apps (client_id, id);
