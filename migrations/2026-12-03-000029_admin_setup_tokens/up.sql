-- The first TOTP enrolment of an admin account (new, or after a reset) needs a one-time setup
-- token handed to its owner, not only the password: whoever learns the password alone cannot
-- enrol an authenticator of their own.
ALTER TABLE admin_users ADD COLUMN setup_hash bytea UNIQUE;
ALTER TABLE admin_users ADD COLUMN setup_expires_at timestamptz;

-- Every refresh token an admin session has used: presenting any of them again is a reuse, and
-- the session ends (not only the last one rotated).
CREATE TABLE admin_refresh_used (
    hash        bytea PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES admin_sessions (id) ON DELETE CASCADE
);
CREATE INDEX admin_refresh_used_session ON admin_refresh_used (session_id);
