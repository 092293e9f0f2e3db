ALTER TABLE organizations DROP COLUMN security_policy;
