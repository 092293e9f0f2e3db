//! Diesel table definitions, kept in step with `migrations/` by hand (the repository builds
//! without libpq, so `diesel print-schema` is not part of the toolchain). The integration
//! tests exercise every column.

diesel::table! {
    clients (id) {
        id -> Uuid,
        name -> Text,
        slug -> Text,
        api_key_hash -> Bytea,
        api_key_prefix -> Text,
        jwt_secret_sealed -> Bytea,
        token_mode -> Text,
        allowed_origins -> Array<Text>,
        webhook_url -> Nullable<Text>,
        settings -> Jsonb,
        status -> Text,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Uuid,
        occurred_at -> Timestamptz,
        client_id -> Nullable<Uuid>,
        user_id -> Nullable<Uuid>,
        event_type -> Text,
        actor_type -> Text,
        actor_id -> Nullable<Text>,
        target_type -> Nullable<Text>,
        target_id -> Nullable<Text>,
        request_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        metadata -> Jsonb,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
    }
}
