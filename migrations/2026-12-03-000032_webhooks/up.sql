-- Webhook endpoints of a client, and the durable queue of deliveries. Deliveries are created
-- from the audit trail by a dispatcher that follows it in commit order (its own cursor, as the
-- audit chain's sealer does), so writing an event costs the request nothing more.
CREATE TABLE webhook_endpoints (
    id                   uuid        PRIMARY KEY,
    client_id            uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    url                  text        NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    event_types          text[]      NOT NULL,
    enabled              boolean     NOT NULL,
    secret               bytea       NOT NULL,   -- sealed with ENCRYPTION_KEY
    previous_secret      bytea,                  -- sealed; signs too until previous_expires_at
    previous_expires_at  timestamptz,
    failing_since        timestamptz,
    disabled_reason      text,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_client_idx ON webhook_endpoints (client_id);

CREATE TABLE webhook_deliveries (
    id               uuid        PRIMARY KEY,
    endpoint_id      uuid        NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    client_id        uuid        NOT NULL,
    event_id         uuid        NOT NULL,
    event_type       text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0,
    response_status  integer,
    latency_ms       integer,
    last_error       text,
    next_attempt_at  timestamptz,
    lease_until      timestamptz,
    replay_of        uuid,
    created_at       timestamptz NOT NULL,
    finished_at      timestamptz
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);
-- Finished deliveries leave the log after 30 days (housekeeping).
CREATE INDEX webhook_deliveries_finished_idx ON webhook_deliveries (finished_at) WHERE status <> 'pending';

-- Where the dispatcher has got to in the audit trail, in (tx, id) order. One row; it starts
-- at the events written from now on.
CREATE TABLE webhook_dispatch_cursor (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    tx         xid8    NOT NULL,
    event_id   uuid    NOT NULL
);
INSERT INTO webhook_dispatch_cursor (tx, event_id)
VALUES (pg_current_xact_id(), '00000000-0000-0000-0000-000000000000');
