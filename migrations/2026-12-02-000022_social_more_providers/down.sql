ALTER TABLE social_identities DROP COLUMN tokens_sealed;
DELETE FROM social_identities WHERE provider NOT IN ('google', 'oidc');
DELETE FROM social_providers WHERE provider NOT IN ('google', 'oidc');
ALTER TABLE social_providers DROP CONSTRAINT social_providers_provider_check;
ALTER TABLE social_providers ADD CONSTRAINT social_providers_provider_check
    CHECK (provider IN ('google', 'oidc'));
