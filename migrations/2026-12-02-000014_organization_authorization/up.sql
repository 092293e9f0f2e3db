-- An organization's own authorization policy (the current version on the organization, every
-- version kept), its members' groups (fed by SSO and SCIM) and the mappings from groups to roles
-- and permissions.
ALTER TABLE organizations
    ADD COLUMN authorization_policy jsonb   NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN policy_version       integer NOT NULL DEFAULT 0 CHECK (policy_version >= 0);

CREATE TABLE organization_policy_versions (
    organization_id uuid        NOT NULL,
    client_id       uuid        NOT NULL,
    version         integer     NOT NULL CHECK (version > 0),
    policy          jsonb       NOT NULL,
    created_by      uuid        REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (organization_id, version),
    CONSTRAINT organization_policy_versions_org_fk FOREIGN KEY (client_id, organization_id)
        REFERENCES organizations (client_id, id) ON DELETE CASCADE
);

ALTER TABLE organization_members
    ADD COLUMN groups jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(groups) = 'object');

CREATE TABLE organization_group_mappings (
    id              uuid PRIMARY KEY,
    organization_id uuid        NOT NULL,
    client_id       uuid        NOT NULL,
    source          text        NOT NULL CHECK (source IN ('sso', 'scim')),
    group_name      text        NOT NULL,
    role            text,
    permissions     text[]      NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CONSTRAINT organization_group_mappings_key UNIQUE (organization_id, source, group_name),
    CONSTRAINT organization_group_mappings_org_fk FOREIGN KEY (client_id, organization_id)
        REFERENCES organizations (client_id, id) ON DELETE CASCADE
);
