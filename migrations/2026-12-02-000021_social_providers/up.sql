-- Social sign-in: a client's configuration of each consumer identity provider, and the
-- identities (provider, the provider's subject) that sign its users in.
CREATE TABLE social_providers (
    client_id     uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    provider      text        NOT NULL CHECK (provider IN ('google', 'oidc')),
    enabled       boolean     NOT NULL DEFAULT true,
    -- The issuer, the client id at the provider and the scopes.
    config        jsonb       NOT NULL,
    -- The client secret at the provider, sealed with ENCRYPTION_KEY (AES-256-GCM).
    secret_sealed bytea       NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (client_id, provider)
);

CREATE TABLE social_identities (
    client_id     uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    provider      text        NOT NULL,
    subject       text        NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    user_id       uuid        NOT NULL,
    created_at    timestamptz NOT NULL,
    last_login_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, provider, subject),
    CONSTRAINT social_identities_user_fk FOREIGN KEY (client_id, user_id)
        REFERENCES users (client_id, id) ON DELETE CASCADE
);
CREATE INDEX social_identities_user_idx ON social_identities (client_id, user_id);
