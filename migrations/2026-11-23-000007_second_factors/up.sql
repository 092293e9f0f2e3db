-- TOTP: the secret sealed with AES-256-GCM (ENCRYPTION_KEY); the last accepted time step, so a
-- code is accepted once (a conditional UPDATE moves it forward).
ALTER TABLE users
    ADD COLUMN totp_secret_sealed bytea,
    ADD COLUMN totp_last_step     bigint;

-- Recovery codes: SHA-256 only, single use.
CREATE TABLE recovery_codes (
    id         uuid PRIMARY KEY,
    client_id  uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea       NOT NULL CHECK (octet_length(code_hash) = 32),
    created_at timestamptz NOT NULL,
    used_at    timestamptz,
    CONSTRAINT recovery_codes_user_code_key UNIQUE (user_id, code_hash)
);

CREATE INDEX recovery_codes_user_idx ON recovery_codes (client_id, user_id);

-- Passkeys (WebAuthn credentials). `passkey` is webauthn-rs's credential record (public key,
-- counter, flags): nothing secret. A credential belongs to one client.
CREATE TABLE passkeys (
    id                 uuid PRIMARY KEY,
    client_id          uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id            uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id      bytea       NOT NULL,
    passkey            jsonb       NOT NULL,
    name               text        NOT NULL,
    sign_count         bigint      NOT NULL DEFAULT 0,
    attestation_format text,
    backed_up          boolean     NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL,
    last_used_at       timestamptz,
    CONSTRAINT passkeys_client_credential_key UNIQUE (client_id, credential_id)
);

CREATE INDEX passkeys_user_idx ON passkeys (client_id, user_id);
