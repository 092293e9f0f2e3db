-- SCIM Groups of a directory and their members (Users of the same directory: the composite
-- keys make another directory's user impossible as a member). The names of an account's groups
-- feed its organization membership's `groups.scim`, which group mappings of source `scim`
-- grant by.
CREATE TABLE scim_groups (
    id           uuid        PRIMARY KEY,
    directory_id uuid        NOT NULL REFERENCES scim_directories (id) ON DELETE CASCADE,
    client_id    uuid        NOT NULL,
    display_name text        NOT NULL CHECK (length(display_name) BETWEEN 1 AND 256),
    external_id  text        CHECK (length(external_id) BETWEEN 1 AND 256),
    version      bigint      NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT scim_groups_directory_id_key UNIQUE (directory_id, id)
);
-- displayName is unique per directory, case-insensitively: mappings grant by it.
CREATE UNIQUE INDEX scim_groups_display_name_idx ON scim_groups (directory_id, lower(display_name));
CREATE INDEX scim_groups_external_id_idx ON scim_groups (directory_id, external_id);
CREATE INDEX scim_groups_created_idx ON scim_groups (directory_id, created_at, id);

ALTER TABLE scim_users ADD CONSTRAINT scim_users_directory_id_key UNIQUE (directory_id, id);
-- The SCIM users of an account (across directories): recomputing its groups' names.
CREATE INDEX scim_users_account_idx ON scim_users (user_id);

CREATE TABLE scim_group_members (
    directory_id uuid NOT NULL,
    group_id     uuid NOT NULL,
    scim_user_id uuid NOT NULL,
    PRIMARY KEY (group_id, scim_user_id),
    CONSTRAINT scim_group_members_group_fk FOREIGN KEY (directory_id, group_id)
        REFERENCES scim_groups (directory_id, id) ON DELETE CASCADE,
    CONSTRAINT scim_group_members_user_fk FOREIGN KEY (directory_id, scim_user_id)
        REFERENCES scim_users (directory_id, id) ON DELETE CASCADE
);
-- A user's groups (the `groups` of a User, and the names its membership gets).
CREATE INDEX scim_group_members_user_idx ON scim_group_members (scim_user_id);
