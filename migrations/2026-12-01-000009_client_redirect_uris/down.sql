ALTER TABLE clients DROP COLUMN redirect_uris;
