-- Append-only audit trail. No foreign keys: events outlive what they describe.
CREATE TABLE audit_events (
    id           uuid PRIMARY KEY,            -- UUIDv7: time-ordered
    occurred_at  timestamptz NOT NULL,
    client_id    uuid,
    user_id      uuid,
    event_type   text        NOT NULL,
    actor_type   text        NOT NULL CHECK (actor_type IN ('admin', 'client', 'user', 'system', 'anonymous')),
    actor_id     text,
    target_type  text,
    target_id    text,
    request_id   text,
    ip           text,
    user_agent   text,
    metadata     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    before       jsonb,
    after        jsonb
);

CREATE INDEX audit_events_client_idx ON audit_events (client_id, id DESC);
CREATE INDEX audit_events_type_idx ON audit_events (event_type, id DESC);
CREATE INDEX audit_events_request_idx ON audit_events (request_id);
CREATE INDEX audit_events_target_idx ON audit_events (target_type, target_id, id DESC);

-- Audit rows are never updated; deletes go through a future retention job only.
CREATE FUNCTION audit_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events are append-only';
END;
$$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_immutable();
