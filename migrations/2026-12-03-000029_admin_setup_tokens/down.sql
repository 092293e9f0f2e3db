DROP TABLE admin_refresh_used;
ALTER TABLE admin_users DROP COLUMN setup_expires_at;
ALTER TABLE admin_users DROP COLUMN setup_hash;
