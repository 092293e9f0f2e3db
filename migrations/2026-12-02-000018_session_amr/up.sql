-- How the user signed in to the session (the `amr` claim, RFC 8176: pwd, otp, hwk, user, mfa,
-- email), copied to every refresh token of the family; empty for sessions from before it was
-- recorded.
ALTER TABLE sessions ADD COLUMN amr text[] NOT NULL DEFAULT '{}';
