-- Asymmetric access-token signing keys, one active per client. Private keys are sealed with
-- AES-256-GCM under ENCRYPTION_KEY; the public half is kept as a JWK for /.well-known/jwks.json.
CREATE TABLE client_signing_keys (
    kid                text PRIMARY KEY,
    client_id          uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    alg                text        NOT NULL CHECK (alg IN ('ES256', 'RS256', 'EdDSA')),
    private_key_sealed bytea       NOT NULL,
    public_jwk         jsonb       NOT NULL,
    status             text        NOT NULL CHECK (status IN ('active', 'published', 'retired')),
    created_at         timestamptz NOT NULL,
    retires_at         timestamptz
);

CREATE UNIQUE INDEX client_signing_keys_one_active ON client_signing_keys (client_id) WHERE status = 'active';
CREATE INDEX client_signing_keys_client_idx ON client_signing_keys (client_id, status);
