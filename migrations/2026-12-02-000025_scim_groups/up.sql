-- SCIM Groups of a directory and their members (Users of the same directory). The names of an
-- account's groups feed its organization membership's `groups.scim`, which group mappings of
-- source `scim` grant by.
CREATE TABLE scim_groups (
    id           uuid        PRIMARY KEY,
    directory_id uuid        NOT NULL REFERENCES scim_directories (id) ON DELETE CASCADE,
    client_id    uuid        NOT NULL,
    display_name text        NOT NULL CHECK (length(display_name) BETWEEN 1 AND 256),
    external_id  text        CHECK (length(external_id) BETWEEN 1 AND 256),
    version      bigint      NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
-- displayName is unique per directory, case-insensitively: mappings grant by it.
CREATE UNIQUE INDEX scim_groups_display_name_idx ON scim_groups (directory_id, lower(display_name));
CREATE INDEX scim_groups_external_id_idx ON scim_groups (directory_id, external_id);
CREATE INDEX scim_groups_created_idx ON scim_groups (directory_id, created_at, id);

CREATE TABLE scim_group_members (
    group_id     uuid NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
    scim_user_id uuid NOT NULL REFERENCES scim_users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, scim_user_id)
);
-- A user's groups (the `groups` of a User, and the names its membership gets).
CREATE INDEX scim_group_members_user_idx ON scim_group_members (scim_user_id);
