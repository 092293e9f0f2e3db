-- Service accounts (machine identities of a client) and their keys. A key's secret is kept
-- only as its SHA-256; the first 16 characters are kept to tell keys apart.
CREATE TABLE service_accounts (
    id                 uuid PRIMARY KEY,
    client_id          uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    name               text        NOT NULL,
    scopes             text[]      NOT NULL DEFAULT '{}',
    status             text        NOT NULL CHECK (status IN ('active', 'disabled')),
    tokens_valid_after timestamptz,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    CONSTRAINT service_accounts_client_id_id_key UNIQUE (client_id, id)
);

CREATE INDEX service_accounts_client_idx ON service_accounts (client_id, id);

CREATE TABLE service_account_keys (
    id                 uuid PRIMARY KEY,
    client_id          uuid        NOT NULL,
    service_account_id uuid        NOT NULL,
    prefix             text        NOT NULL,
    secret_hash        bytea       NOT NULL CHECK (octet_length(secret_hash) = 32),
    scopes             text[],
    expires_at         timestamptz,
    revoked_at         timestamptz,
    created_at         timestamptz NOT NULL,
    CONSTRAINT service_account_keys_secret_hash_key UNIQUE (secret_hash),
    CONSTRAINT service_account_keys_account_fkey FOREIGN KEY (client_id, service_account_id)
        REFERENCES service_accounts (client_id, id) ON DELETE CASCADE
);

CREATE INDEX service_account_keys_account_idx
    ON service_account_keys (client_id, service_account_id, id);
