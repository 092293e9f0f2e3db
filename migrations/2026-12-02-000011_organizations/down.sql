DROP TABLE organization_members;
DROP TABLE organizations;
ALTER TABLE users DROP CONSTRAINT users_client_id_id_key;
