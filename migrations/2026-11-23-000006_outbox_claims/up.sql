-- Each claim of an outbox message gets its own id: a worker records the outcome only for the
-- claim it holds, so a worker whose lease ran out can never overwrite another's result.
ALTER TABLE email_outbox ADD COLUMN claim_id uuid;
