-- Tenants. Secrets: the API key is stored only as SHA-256; the HS256 secret is sealed with
-- AES-256-GCM under ENCRYPTION_KEY (nonce || ciphertext || tag).
CREATE TABLE clients (
    id               uuid PRIMARY KEY,
    name             text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    slug             text        NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) BETWEEN 3 AND 63),
    api_key_hash     bytea       NOT NULL CHECK (octet_length(api_key_hash) = 32),
    api_key_prefix   text        NOT NULL,
    jwt_secret_sealed bytea      NOT NULL,
    token_mode       text        NOT NULL DEFAULT 'v2_jwks' CHECK (token_mode IN ('v1_hs256', 'v2_jwks')),
    allowed_origins  text[]      NOT NULL DEFAULT '{}',
    webhook_url      text,
    settings         jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings) = 'object'),
    status           text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    version          bigint      NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT clients_slug_key UNIQUE (slug),
    CONSTRAINT clients_api_key_hash_key UNIQUE (api_key_hash)
);

-- CORS preflights ask "does any active client allow this origin?"
CREATE INDEX clients_allowed_origins_idx ON clients USING gin (allowed_origins);
