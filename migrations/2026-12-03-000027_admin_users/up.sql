-- Operators' own accounts (admin users), the roles operators define beside the built-in ones,
-- and admin sessions (opaque bearer tokens, stored as SHA-256 digests).
CREATE TABLE admin_roles (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_-]{1,63}$'),
    description text NOT NULL DEFAULT '',
    permissions text[] NOT NULL CHECK (cardinality(permissions) > 0),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE admin_users (
    id                     uuid PRIMARY KEY,
    email                  text NOT NULL UNIQUE,
    password_hash          text,
    roles                  text[] NOT NULL CHECK (cardinality(roles) > 0),
    scope_type             text NOT NULL CHECK (scope_type IN ('all', 'client', 'organization')),
    scope_client_id        uuid REFERENCES clients (id) ON DELETE CASCADE,
    scope_organization_id  uuid REFERENCES organizations (id) ON DELETE CASCADE,
    status                 text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    -- The TOTP secret (AES-GCM under ENCRYPTION_KEY): pending until totp_enabled_at is set.
    totp_secret            bytea,
    totp_enabled_at        timestamptz,
    totp_last_step         bigint,
    -- First sign-in without TOTP: the digest of the enrolment token and when it lapses.
    enrollment_hash        bytea UNIQUE,
    enrollment_expires_at  timestamptz,
    last_login_at          timestamptz,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    CHECK ((scope_type = 'all') = (scope_client_id IS NULL)),
    CHECK ((scope_type = 'organization') = (scope_organization_id IS NOT NULL))
);

CREATE TABLE admin_sessions (
    id                     uuid PRIMARY KEY,
    admin_user_id          uuid NOT NULL REFERENCES admin_users (id) ON DELETE CASCADE,
    access_hash            bytea NOT NULL UNIQUE,
    access_expires_at      timestamptz NOT NULL,
    refresh_hash           bytea NOT NULL UNIQUE,
    -- The refresh token this one replaced: presenting it again is a reuse (session revoked).
    previous_refresh_hash  bytea UNIQUE,
    created_at             timestamptz NOT NULL,
    expires_at             timestamptz NOT NULL,
    last_used_at           timestamptz NOT NULL,
    revoked_at             timestamptz,
    ip                     text,
    user_agent             text
);
CREATE INDEX admin_sessions_admin_user_id ON admin_sessions (admin_user_id);
