-- End users: one client each; the same email in two clients is two users.
CREATE TABLE users (
    id             uuid PRIMARY KEY,
    client_id      uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    email          text        NOT NULL CHECK (email = lower(email)),
    email_verified boolean     NOT NULL DEFAULT false,
    password_hash  text,
    display_name   text,
    timezone       text,
    locale         text,
    role           text        NOT NULL DEFAULT 'user',
    status         text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    totp_enabled   boolean     NOT NULL DEFAULT false,
    last_login_at  timestamptz,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    CONSTRAINT users_client_email_key UNIQUE (client_id, email)
);

-- One row per refresh token. A login starts a family; each refresh consumes the row and adds
-- the next one to the family. Presenting a consumed token revokes the whole family.
CREATE TABLE sessions (
    id                 uuid PRIMARY KEY,
    family_id          uuid        NOT NULL,
    client_id          uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id            uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    refresh_token_hash bytea       NOT NULL CHECK (octet_length(refresh_token_hash) = 32),
    user_agent         text,
    ip                 text,
    started_at         timestamptz NOT NULL,
    created_at         timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL,
    consumed_at        timestamptz,
    revoked_at         timestamptz,
    revoked_reason     text,
    CONSTRAINT sessions_refresh_token_hash_key UNIQUE (refresh_token_hash)
);

CREATE INDEX sessions_live_idx ON sessions (client_id, user_id)
    WHERE consumed_at IS NULL AND revoked_at IS NULL;
CREATE INDEX sessions_family_idx ON sessions (family_id);
