DROP TABLE social_identities;
DROP TABLE social_providers;
