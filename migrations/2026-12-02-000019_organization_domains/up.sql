-- Domains organizations claim, proven by a DNS TXT record (`txt_name` = `txt_value`) before
-- they route sign-ins or enforce SSO. A domain is verified for at most one organization of a
-- client; any number may claim it while pending.
CREATE TABLE organization_domains (
    id              uuid        PRIMARY KEY,
    client_id       uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    organization_id uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    domain          text        NOT NULL CHECK (length(domain) BETWEEN 3 AND 253),
    status          text        NOT NULL CHECK (status IN ('pending', 'verified')),
    txt_name        text        NOT NULL,
    txt_value       text        NOT NULL,
    created_at      timestamptz NOT NULL,
    verified_at     timestamptz,
    UNIQUE (organization_id, domain)
);
CREATE UNIQUE INDEX organization_domains_verified_idx
    ON organization_domains (client_id, domain) WHERE status = 'verified';
CREATE INDEX organization_domains_client_idx ON organization_domains (client_id, organization_id);
