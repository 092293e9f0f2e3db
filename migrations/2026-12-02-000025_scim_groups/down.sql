DROP TABLE scim_group_members;
DROP TABLE scim_groups;
DROP INDEX scim_users_account_idx;
ALTER TABLE scim_users DROP CONSTRAINT scim_users_directory_id_key;
