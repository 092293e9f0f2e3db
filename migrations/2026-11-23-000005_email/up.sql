-- One-time tokens delivered by email. Only the SHA-256 of a token is stored; a token is
-- consumed with one conditional UPDATE (consumed_at IS NULL AND voided_at IS NULL AND not
-- expired), so it works once whatever the concurrency.
CREATE TABLE one_time_tokens (
    id          uuid PRIMARY KEY,
    client_id   uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     text        NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'magic_link')),
    token_hash  bytea       NOT NULL CHECK (octet_length(token_hash) = 32),
    email       text        NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    consumed_at timestamptz,
    voided_at   timestamptz,
    CONSTRAINT one_time_tokens_token_hash_key UNIQUE (token_hash)
);

CREATE INDEX one_time_tokens_live_idx ON one_time_tokens (client_id, user_id, purpose)
    WHERE consumed_at IS NULL AND voided_at IS NULL;
CREATE INDEX one_time_tokens_expires_idx ON one_time_tokens (expires_at);

-- Messages waiting for delivery, written in the same transaction as the token they carry.
-- The rendered message is sealed with AES-256-GCM (it carries a one-time link) and wiped once
-- delivered. Workers claim due rows with FOR UPDATE SKIP LOCKED and a lease (locked_until).
CREATE TABLE email_outbox (
    id              uuid PRIMARY KEY,
    client_id       uuid        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id         uuid        REFERENCES users (id) ON DELETE SET NULL,
    kind            text        NOT NULL,
    recipient       text        NOT NULL,
    message_sealed  bytea,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    locked_until    timestamptz,
    last_attempt_at timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz
);

CREATE INDEX email_outbox_due_idx ON email_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX email_outbox_client_idx ON email_outbox (client_id, created_at DESC);

-- Per-client sender identity, link base and optional own SMTP server (password sealed).
CREATE TABLE client_email_configs (
    client_id            uuid PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    from_name            text,
    from_email           text,
    reply_to             text,
    base_url             text,
    smtp_host            text,
    smtp_port            integer CHECK (smtp_port BETWEEN 1 AND 65535),
    smtp_username        text,
    smtp_password_sealed bytea,
    smtp_tls             text CHECK (smtp_tls IN ('none', 'starttls', 'tls')),
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);
