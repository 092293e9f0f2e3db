-- Enterprise SSO: an organization's connections to its own identity provider, and the
-- identities (connection, the IdP's subject) they sign users in as.
CREATE TABLE sso_connections (
    id                  uuid        PRIMARY KEY,
    client_id           uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    organization_id     uuid        NOT NULL,
    name                text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    protocol            text        NOT NULL CHECK (protocol IN ('oidc', 'saml')),
    status              text        NOT NULL CHECK (status IN ('active', 'disabled')),
    -- Lower-case domain names; they route and enforce only while verified for the organization.
    domains             text[]      NOT NULL DEFAULT '{}',
    enforce_for_domains boolean     NOT NULL DEFAULT false,
    jit                 boolean     NOT NULL DEFAULT true,
    attribute_mapping   jsonb       NOT NULL,
    -- The protocol's settings without secrets (OIDC: issuer, client_id, scopes).
    config              jsonb       NOT NULL,
    -- The OIDC client secret, sealed with ENCRYPTION_KEY (AES-256-GCM).
    secret_sealed       bytea,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    last_login_at       timestamptz,
    CONSTRAINT sso_connections_org_fk FOREIGN KEY (client_id, organization_id)
        REFERENCES organizations (client_id, id) ON DELETE CASCADE
);
CREATE INDEX sso_connections_client_idx ON sso_connections (client_id, organization_id);
CREATE INDEX sso_connections_domains_idx ON sso_connections USING gin (domains);

CREATE TABLE sso_identities (
    connection_id uuid        NOT NULL REFERENCES sso_connections (id) ON DELETE CASCADE,
    -- The IdP's stable subject (OIDC `sub`, SAML NameID).
    external_id   text        NOT NULL CHECK (length(external_id) BETWEEN 1 AND 255),
    client_id     uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id       uuid        NOT NULL,
    created_at    timestamptz NOT NULL,
    last_login_at timestamptz NOT NULL,
    PRIMARY KEY (connection_id, external_id),
    CONSTRAINT sso_identities_user_fk FOREIGN KEY (client_id, user_id)
        REFERENCES users (client_id, id) ON DELETE CASCADE
);
CREATE INDEX sso_identities_user_idx ON sso_identities (client_id, user_id);
