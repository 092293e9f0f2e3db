use async_trait::async_trait;
use authservice_domain::{AuditEvent, ClientId, Email, User, UserId};

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

    /// One page of `client`'s users matching `filter`, oldest first: up to `page.limit + 1`
    /// after the cursor.
    ///
    /// # Errors
    /// The store failed.
    async fn search(
        &self,
        client: ClientId,
        filter: &UserFilter,
        page: crate::pagination::PageRequest,
    ) -> anyhow::Result<Vec<User>>;
}

/// What an operator's user search asks for; every given field must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// A prefix of the address, of the display name (any case) or of the id (its text).
    pub prefix: Option<String>,
    pub status: Option<authservice_domain::UserStatus>,
    pub email_verified: Option<bool>,
    /// Has a second factor (TOTP or a passkey), or has none.
    pub has_mfa: Option<bool>,
    /// Is a member of this organization.
    pub organization: Option<authservice_domain::organization::OrganizationId>,
}
