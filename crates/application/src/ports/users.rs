use async_trait::async_trait;
use authservice_domain::{AuditEvent, ClientId, Email, User, UserId};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::NewSession;

/// Why a user write failed.
#[derive(Debug, thiserror::Error)]
pub enum UserWriteError {
    #[error("email already registered for this client")]
    EmailTaken,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A user with the stored password hash (absent for passwordless accounts).
#[derive(Clone)]
pub struct UserWithPassword {
    pub user: User,
    pub password_hash: Option<String>,
    /// Whether the user has a passkey, when the lookup asked (`find_by_email` does: a password
    /// login needs it for the second-factor rule, and one query is cheaper than two).
    pub has_passkey: Option<bool>,
}

impl std::fmt::Debug for UserWithPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserWithPassword")
            .field("user", &self.user)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// Durable storage of users; every query is scoped by client.
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a new user with its audit event, its first session (and that session's event)
    /// and the verification message (token and outbox row) when given, in one transaction.
    ///
    /// # Errors
    /// `EmailTaken` when the client already has a user with this email.
    async fn insert(
        &self,
        user: &User,
        password_hash: &str,
        audit: &AuditEvent,
        first_session: Option<(&NewSession, &AuditEvent)>,
        verification: Option<&super::PendingEmail>,
    ) -> Result<(), UserWriteError>;

    /// The user of `client` with this email, with its password hash.
    ///
    /// # Errors
    /// The store failed.
    async fn find_by_email(
        &self,
        client: ClientId,
        email: &Email,
    ) -> anyhow::Result<Option<UserWithPassword>>;

    /// User `id` of `client`, with its password hash.
    ///
    /// # Errors
    /// The store failed.
    async fn get(&self, client: ClientId, id: UserId) -> anyhow::Result<Option<UserWithPassword>>;

    /// Stores the profile fields of `user` (display name, timezone, locale) with its audit event.
    ///
    /// # Errors
    /// The store failed.
    async fn update_profile(&self, user: &User, audit: &AuditEvent) -> anyhow::Result<()>;

    /// Sets the user's status with its audit event; disabling also revokes every session of
    /// the user — in one transaction. `None` when the client has no such user.
    ///
    /// # Errors
    /// The store failed.
    async fn set_status(
        &self,
        client: ClientId,
        id: UserId,
        status: authservice_domain::UserStatus,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<Option<User>>;

    /// Replaces the password hash and revokes every other session of the user (all but
    /// `keep`), with the audit event and the owner's notice — in one transaction.
    ///
    /// # Errors
    /// The store failed (nothing is written).
    #[allow(clippy::too_many_arguments)]
    async fn change_password(
        &self,
        client: ClientId,
        id: UserId,
        new_hash: &str,
        keep_session: Option<Uuid>,
        at: DateTime<Utc>,
        audit: &AuditEvent,
        notice: Option<&super::QueuedEmail>,
    ) -> anyhow::Result<()>;
}
