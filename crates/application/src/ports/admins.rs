use async_trait::async_trait;
use authservice_domain::admin::{AdminRole, AdminUser};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::SealedSecret;
use crate::pagination::PageRequest;

/// What signing in needs of an admin account beside its profile.
#[derive(Debug, Clone)]
pub struct AdminCredentials {
    pub admin: AdminUser,
    pub password_hash: Option<String>,
    /// The TOTP secret: enabled when `admin.totp_enabled`, else pending enrolment (if any).
    pub totp_secret: Option<SealedSecret>,
    /// The digest of the setup token a first enrolment needs, and when it lapses.
    pub setup: Option<([u8; 32], DateTime<Utc>)>,
}

/// A new admin session: digests of its tokens and its lifetimes.
#[derive(Debug, Clone)]
pub struct NewAdminSession {
    pub id: Uuid,
    pub admin_user_id: Uuid,
    pub access_hash: [u8; 32],
    pub access_expires_at: DateTime<Utc>,
    pub refresh_hash: [u8; 32],
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// An admin session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSession {
    pub id: Uuid,
    pub admin_user_id: Uuid,
    pub access_expires_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Which of a session's refresh digests a presented token matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshMatch {
    Current,
    /// The token the current one replaced: a reuse.
    Previous,
}

/// Why an admin account could not be written.
#[derive(Debug, thiserror::Error)]
pub enum AdminWriteError {
    #[error("another admin user has this email")]
    EmailTaken,
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// Admin users, their sessions and the custom roles. One aggregate: an admin account owns its
/// sessions (ending the account ends them in the same write).
#[async_trait]
pub trait AdminRepository: Send + Sync {
    /// One page of admin users, oldest first: up to `page.limit + 1` after the cursor.
    ///
    /// # Errors
    /// The store failed.
    async fn list(&self, page: PageRequest) -> anyhow::Result<Vec<AdminUser>>;

    /// # Errors
    /// The store failed.
    async fn get(&self, id: Uuid) -> anyhow::Result<Option<AdminUser>>;

    /// The account with this (lowercased) email and its credentials.
    ///
    /// # Errors
    /// The store failed.
    async fn credentials(&self, email: &str) -> anyhow::Result<Option<AdminCredentials>>;

    /// Stores a new account.
    ///
    /// # Errors
    /// `EmailTaken`, or the store failed.
    async fn insert(
        &self,
        admin: &AdminUser,
        password_hash: Option<&str>,
    ) -> Result<(), AdminWriteError>;

    /// Writes the profile (email, roles, scope, status) and, when given, a new password hash.
    /// A disabled account's sessions are revoked in the same write; `clear_totp` removes the
    /// second factor (enrolment starts again at the next sign-in). `false`: no such account.
    ///
    /// # Errors
    /// `EmailTaken`, or the store failed.
    async fn update(
        &self,
        admin: &AdminUser,
        password_hash: Option<&str>,
        clear_totp: bool,
    ) -> Result<bool, AdminWriteError>;

    /// Gives an account without a second factor a new setup token (the digest), replacing an
    /// earlier one. `false`: no such account, or it has a second factor.
    ///
    /// # Errors
    /// The store failed.
    async fn set_setup_token(
        &self,
        id: Uuid,
        hash: &[u8; 32],
        expires_at: DateTime<Utc>,
    ) -> anyhow::Result<bool>;

    /// Deletes the account and its sessions. `false`: no such account.
    ///
    /// # Errors
    /// The store failed.
    async fn delete(&self, id: Uuid) -> anyhow::Result<bool>;

    /// Puts a pending TOTP secret and an enrolment token on an account that has no second
    /// factor yet (replacing an earlier pending one). `false`: the account has one meanwhile.
    ///
    /// # Errors
    /// The store failed.
    async fn start_enrollment(
        &self,
        id: Uuid,
        secret: &SealedSecret,
        token_hash: &[u8; 32],
        expires_at: DateTime<Utc>,
    ) -> anyhow::Result<bool>;

    /// The account whose pending enrolment token hashes to `token_hash`, unexpired at `now`.
    ///
    /// # Errors
    /// The store failed.
    async fn enrollment(
        &self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<AdminCredentials>>;

    /// Atomically consumes the enrolment token and turns the pending secret on, recording
    /// `step` as used. `false`: the token was used or replaced meanwhile.
    ///
    /// # Errors
    /// The store failed.
    async fn complete_enrollment(
        &self,
        id: Uuid,
        token_hash: &[u8; 32],
        step: u64,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool>;

    /// Records TOTP `step` as used if it is later than the last one (atomic). `false`: a replay.
    ///
    /// # Errors
    /// The store failed.
    async fn use_totp_step(&self, id: Uuid, step: u64) -> anyhow::Result<bool>;

    /// Stores a new session and the account's sign-in time.
    ///
    /// # Errors
    /// The store failed.
    async fn create_session(&self, session: &NewAdminSession) -> anyhow::Result<()>;

    /// The session whose access token hashes to `access_hash` (revoked or not) and its account.
    ///
    /// # Errors
    /// The store failed.
    async fn session_by_access(
        &self,
        access_hash: &[u8; 32],
    ) -> anyhow::Result<Option<(AdminSession, AdminUser)>>;

    /// The session whose current or previous refresh token hashes to `refresh_hash`.
    ///
    /// # Errors
    /// The store failed.
    async fn session_by_refresh(
        &self,
        refresh_hash: &[u8; 32],
    ) -> anyhow::Result<Option<(AdminSession, AdminUser, RefreshMatch)>>;

    /// Replaces both tokens of a live session if its refresh digest is still `expected` (the
    /// conditional update that makes rotation single-use), remembering `expected` as used.
    /// `false`: lost the race or revoked.
    ///
    /// # Errors
    /// The store failed.
    async fn rotate_session(
        &self,
        id: Uuid,
        expected: &[u8; 32],
        access_hash: &[u8; 32],
        access_expires_at: DateTime<Utc>,
        refresh_hash: &[u8; 32],
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool>;

    /// Ends a session (idempotent).
    ///
    /// # Errors
    /// The store failed.
    async fn revoke_session(&self, id: Uuid, at: DateTime<Utc>) -> anyhow::Result<()>;

    /// The client organization `organization` belongs to (any client).
    ///
    /// # Errors
    /// The store failed.
    async fn organization_client(
        &self,
        organization: authservice_domain::organization::OrganizationId,
    ) -> anyhow::Result<Option<authservice_domain::ClientId>>;

    /// The custom roles, by name.
    ///
    /// # Errors
    /// The store failed.
    async fn roles(&self) -> anyhow::Result<Vec<AdminRole>>;

    /// Creates or replaces a custom role.
    ///
    /// # Errors
    /// The store failed.
    async fn save_role(&self, role: &AdminRole) -> anyhow::Result<()>;

    /// Deletes a custom role unless an account holds it. `Ok(None)`: no such role;
    /// `Ok(Some(n))` with `n > 0`: refused, `n` accounts hold it.
    ///
    /// # Errors
    /// The store failed.
    async fn delete_role(&self, name: &str) -> anyhow::Result<Option<u64>>;
}
