-- When the user last proved who they are in this session (sign-in or re-authentication): the
-- access token's auth_time, carried through refreshes; sensitive changes need it recent.
ALTER TABLE sessions ADD COLUMN auth_time timestamptz;
UPDATE sessions SET auth_time = started_at;
ALTER TABLE sessions ALTER COLUMN auth_time SET NOT NULL;
