-- An organization's security policy ({require_mfa, allowed_email_domains, session_max_hours}).
ALTER TABLE organizations
    ADD COLUMN security_policy jsonb NOT NULL DEFAULT '{}'::jsonb
        CHECK (jsonb_typeof(security_policy) = 'object');
