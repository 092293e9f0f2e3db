DROP TABLE client_signing_keys;
