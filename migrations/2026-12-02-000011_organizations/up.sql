-- Organizations of a client (its customers' companies) and their members. Every row carries its
-- client, and the foreign keys include it: a membership can only join an organization and a
-- user of the same client.
ALTER TABLE users ADD CONSTRAINT users_client_id_id_key UNIQUE (client_id, id);

CREATE TABLE organizations (
    id          uuid PRIMARY KEY,
    client_id   uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    name        text        NOT NULL,
    slug        text        NOT NULL,
    metadata    jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    logo_url    text,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT organizations_client_slug_key UNIQUE (client_id, slug),
    CONSTRAINT organizations_client_id_id_key UNIQUE (client_id, id)
);

CREATE TABLE organization_members (
    id              uuid PRIMARY KEY,
    organization_id uuid        NOT NULL,
    client_id       uuid        NOT NULL,
    user_id         uuid        NOT NULL,
    role            text        NOT NULL,
    joined_at       timestamptz NOT NULL,
    CONSTRAINT organization_members_org_fk FOREIGN KEY (client_id, organization_id)
        REFERENCES organizations (client_id, id) ON DELETE CASCADE,
    CONSTRAINT organization_members_user_fk FOREIGN KEY (client_id, user_id)
        REFERENCES users (client_id, id) ON DELETE CASCADE,
    CONSTRAINT organization_members_org_user_key UNIQUE (organization_id, user_id)
);

CREATE INDEX organization_members_user_idx ON organization_members (client_id, user_id);
