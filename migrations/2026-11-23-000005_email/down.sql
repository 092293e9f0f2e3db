DROP TABLE client_email_configs;
DROP TABLE email_outbox;
DROP TABLE one_time_tokens;
