-- Social sign-in through Microsoft, Apple, GitHub and Discord too, and the provider's tokens
-- kept (sealed with ENCRYPTION_KEY) with an identity when the provider's configuration asks.
ALTER TABLE social_providers DROP CONSTRAINT social_providers_provider_check;
ALTER TABLE social_providers ADD CONSTRAINT social_providers_provider_check
    CHECK (provider IN ('google', 'microsoft', 'apple', 'github', 'discord', 'oidc'));
ALTER TABLE social_identities ADD COLUMN tokens_sealed bytea;
