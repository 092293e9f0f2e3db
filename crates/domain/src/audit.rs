//! Audit events: who did what to which target, when, from where, with before/after snapshots.
//!
//! Snapshots never contain secrets (no key hashes, no encrypted material).

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::client::ClientId;

/// Kind of actor behind an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorType {
    /// An operator: break-glass admin key today, admin users later.
    Admin,
    /// An application backend calling with its API key.
    Client,
    /// An end user.
    User,
    /// The service itself (workers, startup).
    System,
    /// An unauthenticated caller (failed authentication attempts).
    Anonymous,
}

impl ActorType {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Client => "client",
            Self::User => "user",
            Self::System => "system",
            Self::Anonymous => "anonymous",
        }
    }

    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "admin" => Self::Admin,
            "client" => Self::Client,
            "user" => Self::User,
            "system" => Self::System,
            "anonymous" => Self::Anonymous,
            _ => return None,
        })
    }
}

/// Declares [`EventType`]: one variant per audit event with its stable name.
macro_rules! event_types {
    ($($variant:ident => $name:literal,)*) => {
        /// Every audit event the service writes, with its stable `resource.action` name (part
        /// of the audit API: filters and consumers use the names, docs/api.md lists them). The
        /// trail is append-only: events written before 2026-12-02 keep the snake_case names of
        /// then (`login_succeeded`, …).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventType {
            $($variant,)*
        }

        impl EventType {
            /// Every event type, in declaration order.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)*];

            /// The stable name stored in `event_type`.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)*
                }
            }
        }
    };
}

event_types! {
    Signup => "user.signed_up",
    SignupBlocked => "user.signup_blocked",
    SignupExistingAccount => "user.signup_existing_account",
    LoginSucceeded => "user.login_succeeded",
    LoginFailed => "user.login_failed",
    Login2faRequired => "user.login_2fa_required",
    AccountLocked => "user.locked",
    Logout => "session.logged_out",
    TokenRefreshed => "session.refreshed",
    TokenRefreshReuse => "session.refresh_reused",
    SessionRevoked => "session.revoked",
    PasswordChanged => "user.password_changed",
    PasswordChangeFailed => "user.password_change_failed",
    PasswordReset => "user.password_reset",
    PasswordResetRequested => "user.password_reset_requested",
    ProfileUpdated => "user.profile_updated",
    Reauthenticated => "user.reauthenticated",
    ReauthenticationFailed => "user.reauthentication_failed",
    EmailVerified => "user.email_verified",
    VerificationEmailSent => "user.verification_email_sent",
    MagicLinkSent => "user.magic_link_sent",
    MagicLinkRequested => "user.magic_link_requested",
    MagicLinkLogin => "user.magic_link_login",
    RedirectCodeIssued => "user.redirect_code_issued",
    TotpSetupStarted => "mfa.totp_setup_started",
    TotpEnabled => "mfa.totp_enabled",
    TotpDisabled => "mfa.totp_disabled",
    TwoFactorFailed => "mfa.challenge_failed",
    RecoveryCodeUsed => "mfa.recovery_code_used",
    RecoveryCodesRegenerated => "mfa.recovery_codes_regenerated",
    PasskeyAdded => "passkey.added",
    PasskeyRenamed => "passkey.renamed",
    PasskeyRemoved => "passkey.removed",
    PasskeyRegistrationFailed => "passkey.registration_failed",
    PasskeyLoginFailed => "passkey.login_failed",
    PasskeySignCountRegression => "passkey.sign_count_regression",
    EmailDelivered => "email.delivered",
    EmailDeliveryFailed => "email.delivery_failed",
    UserDisabled => "user.disabled",
    UserEnabled => "user.enabled",
    AdminAuthFailed => "admin.auth_failed",
    AdminAuthRateLimited => "admin.auth_rate_limited",
    AdminRequestFailed => "admin.request_failed",
    AdminSignedIn => "admin.signed_in",
    AdminSignInFailed => "admin.sign_in_failed",
    AdminSignedOut => "admin.signed_out",
    AdminTotpEnrolled => "admin.totp_enrolled",
    AdminRefreshReused => "admin.refresh_reused",
    AdminUsersListed => "admin_users.listed",
    AdminUserCreated => "admin_user.created",
    AdminUserUpdated => "admin_user.updated",
    AdminUserDeleted => "admin_user.deleted",
    AdminRoleSaved => "admin_role.saved",
    AdminRoleDeleted => "admin_role.deleted",
    AuditRead => "audit.read",
    AuditExported => "audit.exported",
    AuditLegalHoldPlaced => "audit.legal_hold_placed",
    AuditLegalHoldReleased => "audit.legal_hold_released",
    AuditPurged => "audit.purged",
    AuditChainVerified => "audit.chain_verified",
    ClientCreated => "client.created",
    ClientRead => "client.read",
    ClientUpdated => "client.updated",
    ClientSuspended => "client.suspended",
    ClientReactivated => "client.reactivated",
    ClientUpdateUnchanged => "client.update_unchanged",
    ClientApiKeyRotated => "client.api_key_rotated",
    ClientJwtSecretRotated => "client.jwt_secret_rotated",
    ClientsListed => "clients.listed",
    EmailConfigRead => "email_config.read",
    EmailConfigUpdated => "email_config.updated",
    EmailConfigDeleted => "email_config.deleted",
    SigningKeyRotated => "signing_key.rotated",
    SigningKeysListed => "signing_keys.listed",
    TokenRevoked => "token.revoked",
    UserRead => "user.read",
    UsersListed => "users.listed",
    UserUpdatedByOperator => "user.updated",
    UserMfaReset => "user.mfa_reset",
    UserErased => "user.erased",
    UserExported => "user.exported",
    OrganizationCreated => "organization.created",
    OrganizationUpdated => "organization.updated",
    OrganizationDeleted => "organization.deleted",
    OrganizationMemberRoleChanged => "organization.member_role_changed",
    OrganizationMemberRemoved => "organization.member_removed",
    OrganizationMemberLeft => "organization.member_left",
    OrganizationInvitationCreated => "organization.invitation_created",
    OrganizationInvitationRevoked => "organization.invitation_revoked",
    OrganizationInvitationAccepted => "organization.invitation_accepted",
    OrganizationSecurityPolicyUpdated => "organization.security_policy_updated",
    OrganizationPolicyUpdated => "organization.policy_updated",
    OrganizationGroupMappingCreated => "organization.group_mapping_created",
    OrganizationGroupMappingUpdated => "organization.group_mapping_updated",
    OrganizationGroupMappingDeleted => "organization.group_mapping_deleted",
    OrganizationMemberGroupsSet => "organization.member_groups_set",
    OrganizationDomainAdded => "organization.domain_added",
    OrganizationDomainVerified => "organization.domain_verified",
    OrganizationDomainRemoved => "organization.domain_removed",
    SsoConnectionCreated => "sso_connection.created",
    SsoConnectionUpdated => "sso_connection.updated",
    SsoConnectionDeleted => "sso_connection.deleted",
    SsoConnectionTested => "sso_connection.tested",
    ScimDirectoryCreated => "scim_directory.created",
    ScimDirectoryUpdated => "scim_directory.updated",
    ScimDirectoryTokenRotated => "scim_directory.token_rotated",
    ScimUserProvisioned => "scim.user_provisioned",
    ScimUserUpdated => "scim.user_updated",
    ScimUserDeleted => "scim.user_deleted",
    ScimGroupCreated => "scim.group_created",
    ScimGroupUpdated => "scim.group_updated",
    ScimGroupDeleted => "scim.group_deleted",
    ScimUserEmailChanged => "scim.user_email_changed",
    SsoLogin => "sso.login",
    SocialProviderUpdated => "social_provider.updated",
    SocialProviderDeleted => "social_provider.deleted",
    SocialLogin => "social.login",
    SocialUserCreated => "social.user_created",
    SocialLoginFailed => "social.login_failed",
    SocialIdentityLinked => "social.identity_linked",
    SocialIdentityUnlinked => "social.identity_unlinked",
    SsoLoginFailed => "sso.login_failed",
    SsoUserProvisioned => "sso.user_provisioned",
    SsoIdentityLinked => "sso.identity_linked",
    OrganizationsListed => "organizations.listed",
    OidcAppCreated => "oidc_app.created",
    OidcAppUpdated => "oidc_app.updated",
    OidcAppSecretRotated => "oidc_app.secret_rotated",
    OidcAppDeleted => "oidc_app.deleted",
    ServiceAccountCreated => "service_account.created",
    ServiceAccountUpdated => "service_account.updated",
    ServiceAccountDisabled => "service_account.disabled",
    ServiceAccountKeyCreated => "service_account.key_created",
    ServiceAccountKeyRevoked => "service_account.key_revoked",
    ServiceAccountKeyRotated => "service_account.key_rotated",
    OAuthClientAuthFailed => "oauth.client_auth_failed",
    OAuthTokenRevoked => "oauth.token_revoked",
    OAuthConsentGranted => "oauth.consent_granted",
    OAuthConsentDenied => "oauth.consent_denied",
    OAuthConsentRevoked => "oauth.consent_revoked",
    OAuthCodeReplayed => "oauth.code_replayed",
    OAuthLogout => "oauth.logout",
    WebhookCreated => "webhook.created",
    WebhookUpdated => "webhook.updated",
    WebhookDeleted => "webhook.deleted",
    WebhookSecretRotated => "webhook.secret_rotated",
    WebhookReplayed => "webhook.replayed",
    WebhookDisabled => "webhook.disabled",
}

/// Names events had before 2026-12-02 (the trail is append-only: those rows keep them), each
/// with the name written since. Filters accept either and match both.
pub const LEGACY_NAMES: &[(&str, &str)] = &[
    ("user.signed_up", "signup"),
    ("user.signup_blocked", "signup_blocked"),
    ("user.signup_existing_account", "signup_existing_account"),
    ("user.login_succeeded", "login_succeeded"),
    ("user.login_failed", "login_failed"),
    ("user.locked", "account_locked"),
    ("session.logged_out", "logout"),
    ("session.refreshed", "token_refreshed"),
    ("session.refresh_reused", "token_refresh_reuse"),
    ("session.revoked", "session_revoked"),
    ("user.password_changed", "password_changed"),
    ("user.password_change_failed", "password_change_failed"),
    ("user.password_reset", "password_reset"),
    ("user.password_reset_requested", "password_reset_requested"),
    ("user.profile_updated", "profile_updated"),
    ("user.reauthenticated", "reauthenticated"),
    ("user.reauthentication_failed", "reauthentication_failed"),
    ("user.email_verified", "email_verified"),
    ("user.verification_email_sent", "verification_email_sent"),
    ("user.magic_link_sent", "magic_link_sent"),
    ("user.magic_link_requested", "magic_link_requested"),
    ("user.magic_link_login", "magic_link_login"),
    ("user.redirect_code_issued", "redirect_code_issued"),
    ("mfa.totp_setup_started", "totp_setup_started"),
    ("mfa.totp_enabled", "totp_enabled"),
    ("mfa.totp_disabled", "totp_disabled"),
    ("mfa.challenge_failed", "two_factor_failed"),
    ("mfa.recovery_code_used", "recovery_code_used"),
    (
        "mfa.recovery_codes_regenerated",
        "recovery_codes_regenerated",
    ),
    ("passkey.added", "passkey_added"),
    ("passkey.renamed", "passkey_renamed"),
    ("passkey.removed", "passkey_removed"),
    ("passkey.registration_failed", "passkey_registration_failed"),
    ("passkey.login_failed", "passkey_login_failed"),
    (
        "passkey.sign_count_regression",
        "passkey_sign_count_regression",
    ),
    ("email.delivered", "email_delivered"),
    ("email.delivery_failed", "email_delivery_failed"),
    ("user.disabled", "user_disabled"),
    ("user.enabled", "user_enabled"),
];

/// The names a filter for `name` matches: itself, and its legacy name or the name it became.
#[must_use]
pub fn names_matching(name: &str) -> Vec<String> {
    let mut out = vec![name.to_owned()];
    for (current, legacy) in LEGACY_NAMES {
        if *current == name {
            out.push((*legacy).to_owned());
        } else if *legacy == name {
            out.push((*current).to_owned());
        }
    }
    out
}

/// The current name of `name` (itself unless it is a legacy name).
#[must_use]
pub fn current_name(name: &str) -> &str {
    LEGACY_NAMES
        .iter()
        .find(|(_, legacy)| *legacy == name)
        .map_or(name, |(current, _)| current)
}

/// One audit record.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub client_id: Option<ClientId>,
    pub user_id: Option<Uuid>,
    /// Stable `resource.action` name, e.g. `user.login_succeeded`, `client.created`.
    pub event_type: String,
    pub actor_type: ActorType,
    pub actor_id: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub metadata: Value,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::EventType;

    #[test]
    fn legacy_names_map_to_current_ones_and_back() {
        for (current, legacy) in super::LEGACY_NAMES {
            assert!(
                EventType::ALL.iter().any(|e| e.as_str() == *current),
                "{current} is not written any more"
            );
            assert!(!EventType::ALL.iter().any(|e| e.as_str() == *legacy));
            assert_eq!(super::current_name(legacy), *current);
        }
        assert_eq!(
            super::names_matching("user.login_succeeded"),
            ["user.login_succeeded", "login_succeeded"]
        );
        assert_eq!(
            super::names_matching("logout"),
            ["logout", "session.logged_out"]
        );
    }

    #[test]
    fn every_event_type_has_one_distinct_lowercase_name() {
        let mut seen = std::collections::HashSet::new();
        for &event in EventType::ALL {
            let name = event.as_str();
            assert!(seen.insert(name), "duplicate event name {name}");
            let parts: Vec<&str> = name.split('.').collect();
            assert_eq!(parts.len(), 2, "{name}: resource.action");
            assert!(
                parts.iter().all(|p| !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')),
                "{name}"
            );
        }
    }

    #[test]
    fn docs_list_exactly_the_event_types() {
        let docs = include_str!("../../../docs/api.md");
        let section = docs
            .split("### Audit event types")
            .nth(1)
            .and_then(|rest| rest.split("\n#").next())
            .expect("docs/api.md has an \"Audit event types\" section");
        let documented: Vec<&str> = section
            .lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .filter_map(|rest| rest.split('`').next())
            .collect();
        let declared: Vec<&str> = EventType::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(documented, declared);
    }
}
