DROP TABLE service_account_keys;
DROP TABLE service_accounts;
