-- Tamper evidence for the audit trail: one hash chain per scope (a client, or the nil UUID for
-- events outside any client). Events are written as before (the sign-in path takes no lock);
-- a sealer links them afterwards, in the order their transactions became visible, one batch
-- at a time under the cursor's row lock (so replicas never seal concurrently).
--
-- `tx` is the inserting transaction: the sealer only takes events whose transaction is older
-- than every transaction still running, so an event that commits late is never skipped.
-- Rows older than this migration read 0 and are sealed first, in id order.
ALTER TABLE audit_events ADD COLUMN tx xid8 NOT NULL DEFAULT '0';
ALTER TABLE audit_events ALTER COLUMN tx SET DEFAULT pg_current_xact_id();
CREATE INDEX audit_events_tx_idx ON audit_events (tx, id);

-- One link per sealed event. `personal_digest` is the SHA-256 of the columns an erasure may
-- pseudonymise, so an erasure (recorded in audit_chain_erasures) does not break the chain.
CREATE TABLE audit_chain (
    scope            uuid        NOT NULL,
    seq              bigint      NOT NULL CHECK (seq > 0),
    event_id         uuid        NOT NULL UNIQUE,
    personal_digest  bytea       NOT NULL CHECK (length(personal_digest) = 32),
    prev_hash        bytea       NOT NULL CHECK (length(prev_hash) = 32),
    event_hash       bytea       NOT NULL CHECK (length(event_hash) = 32),
    sealed_at        timestamptz NOT NULL,
    PRIMARY KEY (scope, seq)
);

-- The last link of each scope (what the next event chains onto).
CREATE TABLE audit_chain_heads (
    scope       uuid        PRIMARY KEY,
    seq         bigint      NOT NULL,
    event_hash  bytea       NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- Where the sealer has got to, in (tx, id) order. One row.
CREATE TABLE audit_chain_cursor (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    tx         xid8    NOT NULL,
    event_id   uuid    NOT NULL
);
INSERT INTO audit_chain_cursor (tx, event_id) VALUES ('0', '00000000-0000-0000-0000-000000000000');

-- A run of links removed by a retention purge: the hash of its last link, so the first link
-- after the run still verifies.
CREATE TABLE audit_chain_checkpoints (
    scope       uuid        NOT NULL,
    first_seq   bigint      NOT NULL,
    last_seq    bigint      NOT NULL CHECK (last_seq >= first_seq),
    last_hash   bytea       NOT NULL CHECK (length(last_hash) = 32),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (scope, first_seq)
);

-- An erasure's new digest of a sealed event's personal columns.
CREATE TABLE audit_chain_erasures (
    event_id         uuid        NOT NULL,
    personal_digest  bytea       NOT NULL CHECK (length(personal_digest) = 32),
    erased_at        timestamptz NOT NULL
);
CREATE INDEX audit_chain_erasures_event_idx ON audit_chain_erasures (event_id);

-- The links are evidence too: no UPDATE ever, DELETE only in the retention purge.
CREATE FUNCTION audit_chain_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('authservice.audit_retention', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP;
END;
$$;
CREATE TRIGGER audit_chain_no_change BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_chain_guard();
CREATE TRIGGER audit_chain_checkpoints_no_change BEFORE UPDATE OR DELETE ON audit_chain_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_chain_guard();
CREATE TRIGGER audit_chain_erasures_no_change BEFORE UPDATE OR DELETE ON audit_chain_erasures
    FOR EACH ROW EXECUTE FUNCTION audit_chain_guard();
