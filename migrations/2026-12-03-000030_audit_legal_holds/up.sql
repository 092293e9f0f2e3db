-- Legal holds on the audit trail: events a standing hold covers (by client, user and time
-- range; a field left out matches everything) are never purged by retention.
CREATE TABLE audit_legal_holds (
    id           uuid PRIMARY KEY,
    client_id    uuid,
    user_id      uuid,
    from_at      timestamptz,
    to_at        timestamptz,
    reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    released_at  timestamptz
);
CREATE INDEX audit_events_occurred_idx ON audit_events (occurred_at);
