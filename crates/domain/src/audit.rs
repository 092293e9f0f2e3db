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
        /// Every audit event the service writes, with its stable name (part of the audit API:
        /// filters and consumers use the names; the audit trail is append-only, so a name, once
        /// written, is never renamed). Operator events are `resource.action`; account events are
        /// `subject_action` in the past tense.
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
    Signup => "signup",
    SignupBlocked => "signup_blocked",
    SignupExistingAccount => "signup_existing_account",
    LoginSucceeded => "login_succeeded",
    LoginFailed => "login_failed",
    Login2faRequired => "login_2fa_required",
    AccountLocked => "account_locked",
    Logout => "logout",
    TokenRefreshed => "token_refreshed",
    TokenRefreshReuse => "token_refresh_reuse",
    SessionRevoked => "session_revoked",
    PasswordChanged => "password_changed",
    PasswordChangeFailed => "password_change_failed",
    PasswordReset => "password_reset",
    PasswordResetRequested => "password_reset_requested",
    ProfileUpdated => "profile_updated",
    Reauthenticated => "reauthenticated",
    ReauthenticationFailed => "reauthentication_failed",
    EmailVerified => "email_verified",
    VerificationEmailSent => "verification_email_sent",
    MagicLinkSent => "magic_link_sent",
    MagicLinkRequested => "magic_link_requested",
    MagicLinkLogin => "magic_link_login",
    RedirectCodeIssued => "redirect_code_issued",
    TotpSetupStarted => "totp_setup_started",
    TotpEnabled => "totp_enabled",
    TotpDisabled => "totp_disabled",
    TwoFactorFailed => "two_factor_failed",
    RecoveryCodeUsed => "recovery_code_used",
    RecoveryCodesRegenerated => "recovery_codes_regenerated",
    PasskeyAdded => "passkey_added",
    PasskeyRenamed => "passkey_renamed",
    PasskeyRemoved => "passkey_removed",
    PasskeyRegistrationFailed => "passkey_registration_failed",
    PasskeyLoginFailed => "passkey_login_failed",
    PasskeySignCountRegression => "passkey_sign_count_regression",
    EmailDelivered => "email_delivered",
    EmailDeliveryFailed => "email_delivery_failed",
    UserDisabled => "user_disabled",
    UserEnabled => "user_enabled",
    AdminAuthFailed => "admin.auth_failed",
    AdminAuthRateLimited => "admin.auth_rate_limited",
    AdminRequestFailed => "admin.request_failed",
    AuditRead => "audit.read",
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
}

/// One audit record.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub client_id: Option<ClientId>,
    pub user_id: Option<Uuid>,
    /// Stable dotted or snake_case name, e.g. `client.created`, `admin.auth_failed`.
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
    fn every_event_type_has_one_distinct_lowercase_name() {
        let mut seen = std::collections::HashSet::new();
        for &event in EventType::ALL {
            let name = event.as_str();
            assert!(seen.insert(name), "duplicate event name {name}");
            let parts: Vec<&str> = name.split('.').collect();
            assert!(parts.len() <= 2, "{name}: at most resource.action");
            assert!(
                parts.iter().all(|p| !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')),
                "{name}"
            );
        }
    }
}
