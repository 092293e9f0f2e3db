-- Exact redirect URIs a hosted sign-in may send a one-time auth_code to (matched byte for byte).
ALTER TABLE clients ADD COLUMN redirect_uris text[] NOT NULL DEFAULT '{}';
