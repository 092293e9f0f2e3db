-- Invitations into an organization: one address, one role, a single-use token kept only as its
-- SHA-256 hash. Accepting, revoking and expiry are timestamps, so the history stays readable.
CREATE TABLE organization_invitations (
    id              uuid PRIMARY KEY,
    organization_id uuid        NOT NULL,
    client_id       uuid        NOT NULL,
    email           text        NOT NULL,
    role            text        NOT NULL,
    token_hash      bytea       NOT NULL CHECK (octet_length(token_hash) = 32),
    invited_by      uuid        REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    accepted_at     timestamptz,
    accepted_by     uuid        REFERENCES users (id) ON DELETE SET NULL,
    revoked_at      timestamptz,
    CONSTRAINT organization_invitations_token_hash_key UNIQUE (token_hash),
    CONSTRAINT organization_invitations_org_fk FOREIGN KEY (client_id, organization_id)
        REFERENCES organizations (client_id, id) ON DELETE CASCADE
);

CREATE INDEX organization_invitations_org_idx ON organization_invitations (organization_id, id);
CREATE INDEX organization_invitations_email_idx ON organization_invitations (organization_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
