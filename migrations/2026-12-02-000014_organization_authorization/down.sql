DROP TABLE organization_group_mappings;
ALTER TABLE organization_members DROP COLUMN groups;
DROP TABLE organization_policy_versions;
ALTER TABLE organizations DROP COLUMN policy_version, DROP COLUMN authorization_policy;
