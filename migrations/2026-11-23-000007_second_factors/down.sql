DROP TABLE passkeys;
DROP TABLE recovery_codes;
ALTER TABLE users DROP COLUMN totp_secret_sealed, DROP COLUMN totp_last_step;
