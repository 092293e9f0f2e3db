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
        redirect_uris -> Array<Text>,
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

diesel::table! {
    client_signing_keys (kid) {
        kid -> Text,
        client_id -> Uuid,
        alg -> Text,
        private_key_sealed -> Bytea,
        public_jwk -> Jsonb,
        status -> Text,
        created_at -> Timestamptz,
        retires_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        client_id -> Uuid,
        email -> Text,
        email_verified -> Bool,
        password_hash -> Nullable<Text>,
        display_name -> Nullable<Text>,
        timezone -> Nullable<Text>,
        locale -> Nullable<Text>,
        role -> Text,
        status -> Text,
        totp_enabled -> Bool,
        last_login_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        totp_secret_sealed -> Nullable<Bytea>,
        totp_last_step -> Nullable<Int8>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        family_id -> Uuid,
        client_id -> Uuid,
        user_id -> Uuid,
        refresh_token_hash -> Bytea,
        user_agent -> Nullable<Text>,
        ip -> Nullable<Text>,
        started_at -> Timestamptz,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        consumed_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        revoked_reason -> Nullable<Text>,
        auth_time -> Timestamptz,
        oidc_app_id -> Nullable<Uuid>,
        scopes -> Nullable<Array<Text>>,
        amr -> Array<Text>,
    }
}

diesel::joinable!(client_signing_keys -> clients (client_id));
diesel::allow_tables_to_appear_in_same_query!(clients, client_signing_keys);
diesel::allow_tables_to_appear_in_same_query!(users, passkeys);

diesel::table! {
    one_time_tokens (id) {
        id -> Uuid,
        client_id -> Uuid,
        user_id -> Uuid,
        purpose -> Text,
        token_hash -> Bytea,
        email -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        consumed_at -> Nullable<Timestamptz>,
        voided_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    email_outbox (id) {
        id -> Uuid,
        client_id -> Uuid,
        user_id -> Nullable<Uuid>,
        kind -> Text,
        recipient -> Text,
        message_sealed -> Nullable<Bytea>,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        last_attempt_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        claim_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    client_email_configs (client_id) {
        client_id -> Uuid,
        from_name -> Nullable<Text>,
        from_email -> Nullable<Text>,
        reply_to -> Nullable<Text>,
        base_url -> Nullable<Text>,
        smtp_host -> Nullable<Text>,
        smtp_port -> Nullable<Int4>,
        smtp_username -> Nullable<Text>,
        smtp_password_sealed -> Nullable<Bytea>,
        smtp_tls -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> Uuid,
        client_id -> Uuid,
        user_id -> Uuid,
        code_hash -> Bytea,
        created_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    passkeys (id) {
        id -> Uuid,
        client_id -> Uuid,
        user_id -> Uuid,
        credential_id -> Bytea,
        passkey -> Jsonb,
        name -> Text,
        sign_count -> Int8,
        attestation_format -> Nullable<Text>,
        backed_up -> Bool,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    organizations (id) {
        id -> Uuid,
        client_id -> Uuid,
        name -> Text,
        slug -> Text,
        metadata -> Jsonb,
        logo_url -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        security_policy -> Jsonb,
        authorization_policy -> Jsonb,
        policy_version -> Int4,
    }
}

diesel::table! {
    organization_members (id) {
        id -> Uuid,
        organization_id -> Uuid,
        client_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        joined_at -> Timestamptz,
        groups -> Jsonb,
    }
}

diesel::table! {
    organization_policy_versions (organization_id, version) {
        organization_id -> Uuid,
        client_id -> Uuid,
        version -> Int4,
        policy -> Jsonb,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    organization_group_mappings (id) {
        id -> Uuid,
        organization_id -> Uuid,
        client_id -> Uuid,
        source -> Text,
        group_name -> Text,
        role -> Nullable<Text>,
        permissions -> Array<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    organization_invitations (id) {
        id -> Uuid,
        organization_id -> Uuid,
        client_id -> Uuid,
        email -> Text,
        role -> Text,
        token_hash -> Bytea,
        invited_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
        accepted_by -> Nullable<Uuid>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(organization_members -> organizations (organization_id));
diesel::joinable!(organization_members -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(organizations, organization_members, users);

diesel::table! {
    oidc_apps (id) {
        id -> Uuid,
        client_id -> Uuid,
        public_id -> Text,
        name -> Text,
        app_type -> Text,
        redirect_uris -> Array<Text>,
        post_logout_redirect_uris -> Array<Text>,
        scopes -> Array<Text>,
        grant_types -> Array<Text>,
        token_endpoint_auth_method -> Text,
        jwks -> Nullable<Jsonb>,
        first_party -> Bool,
        secret_hash -> Nullable<Bytea>,
        secret_prefix -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    service_accounts (id) {
        id -> Uuid,
        client_id -> Uuid,
        name -> Text,
        scopes -> Array<Text>,
        status -> Text,
        tokens_valid_after -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    service_account_keys (id) {
        id -> Uuid,
        client_id -> Uuid,
        service_account_id -> Uuid,
        prefix -> Text,
        secret_hash -> Bytea,
        scopes -> Nullable<Array<Text>>,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(service_account_keys -> service_accounts (service_account_id));
diesel::allow_tables_to_appear_in_same_query!(service_accounts, service_account_keys);

diesel::table! {
    oidc_consents (user_id, app_id) {
        client_id -> Uuid,
        user_id -> Uuid,
        app_id -> Uuid,
        scopes -> Array<Text>,
        granted_at -> Timestamptz,
    }
}

diesel::joinable!(oidc_consents -> oidc_apps (app_id));
diesel::allow_tables_to_appear_in_same_query!(oidc_consents, oidc_apps);

diesel::table! {
    organization_domains (id) {
        id -> Uuid,
        client_id -> Uuid,
        organization_id -> Uuid,
        domain -> Text,
        status -> Text,
        txt_name -> Text,
        txt_value -> Text,
        created_at -> Timestamptz,
        verified_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sso_connections (id) {
        id -> Uuid,
        client_id -> Uuid,
        organization_id -> Uuid,
        name -> Text,
        protocol -> Text,
        status -> Text,
        domains -> Array<Text>,
        enforce_for_domains -> Bool,
        jit -> Bool,
        attribute_mapping -> Jsonb,
        config -> Jsonb,
        secret_sealed -> Nullable<Bytea>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        last_login_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sso_identities (connection_id, external_id) {
        connection_id -> Uuid,
        external_id -> Text,
        client_id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
        last_login_at -> Timestamptz,
    }
}

diesel::allow_tables_to_appear_in_same_query!(sso_connections, organization_domains);

diesel::table! {
    social_providers (client_id, provider) {
        client_id -> Uuid,
        provider -> Text,
        enabled -> Bool,
        config -> Jsonb,
        secret_sealed -> Bytea,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    social_identities (client_id, provider, subject) {
        client_id -> Uuid,
        provider -> Text,
        subject -> Text,
        user_id -> Uuid,
        created_at -> Timestamptz,
        last_login_at -> Timestamptz,
        tokens_sealed -> Nullable<Bytea>,
    }
}

diesel::table! {
    scim_directories (id) {
        id -> Uuid,
        client_id -> Uuid,
        organization_id -> Uuid,
        name -> Text,
        status -> Text,
        token_hash -> Bytea,
        token_prefix -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        last_sync_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    scim_group_members (group_id, scim_user_id) {
        directory_id -> Uuid,
        group_id -> Uuid,
        scim_user_id -> Uuid,
    }
}

diesel::table! {
    scim_groups (id) {
        id -> Uuid,
        directory_id -> Uuid,
        client_id -> Uuid,
        display_name -> Text,
        external_id -> Nullable<Text>,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    scim_users (id) {
        id -> Uuid,
        directory_id -> Uuid,
        client_id -> Uuid,
        user_id -> Uuid,
        user_name -> Text,
        external_id -> Nullable<Text>,
        active -> Nullable<Bool>,
        attributes -> Jsonb,
        version -> Int8,
        disabled_account -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    admin_roles (name) {
        name -> Text,
        description -> Text,
        permissions -> Array<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    admin_users (id) {
        id -> Uuid,
        email -> Text,
        password_hash -> Nullable<Text>,
        roles -> Array<Text>,
        scope_type -> Text,
        scope_client_id -> Nullable<Uuid>,
        scope_organization_id -> Nullable<Uuid>,
        status -> Text,
        totp_secret -> Nullable<Bytea>,
        totp_enabled_at -> Nullable<Timestamptz>,
        totp_last_step -> Nullable<Int8>,
        enrollment_hash -> Nullable<Bytea>,
        enrollment_expires_at -> Nullable<Timestamptz>,
        last_login_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        setup_hash -> Nullable<Bytea>,
        setup_expires_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    admin_refresh_used (hash) {
        hash -> Bytea,
        session_id -> Uuid,
    }
}

diesel::table! {
    admin_sessions (id) {
        id -> Uuid,
        admin_user_id -> Uuid,
        access_hash -> Bytea,
        access_expires_at -> Timestamptz,
        refresh_hash -> Bytea,
        previous_refresh_hash -> Nullable<Bytea>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        last_used_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
    }
}

diesel::joinable!(admin_sessions -> admin_users (admin_user_id));
diesel::joinable!(admin_refresh_used -> admin_sessions (session_id));
diesel::allow_tables_to_appear_in_same_query!(admin_sessions, admin_users, admin_refresh_used);

diesel::table! {
    audit_legal_holds (id) {
        id -> Uuid,
        client_id -> Nullable<Uuid>,
        user_id -> Nullable<Uuid>,
        from_at -> Nullable<Timestamptz>,
        to_at -> Nullable<Timestamptz>,
        reason -> Text,
        created_by -> Text,
        created_at -> Timestamptz,
        released_at -> Nullable<Timestamptz>,
    }
}
