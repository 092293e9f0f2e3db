use async_trait::async_trait;
use authservice_domain::{AuditEvent, ClientId, UserId};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A refresh session row to store.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: Uuid,
    /// The login this session belongs to (`sid` in access tokens).
    pub family_id: Uuid,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub refresh_token_hash: [u8; 32],
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub started_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// When the user last proved who they are in this session (`auth_time`).
    pub auth_time: DateTime<Utc>,
    /// How the user signed in (`amr`, RFC 8176); the same for every token of the session.
    pub amr: Vec<String>,
    /// A password sign-in whose stored hash is upgraded (cost or algorithm): stored with the
    /// sign-in, and only over the hash that was verified. `None` for every other session row.
    pub rehash: Option<PasswordRehash>,
    /// The OIDC app this session was granted to (authorization code flow), with the scopes
    /// granted; every token of the family carries it. `None` for the service's own sessions.
    pub grant: Option<SessionGrant>,
}

/// An OIDC app's hold on a session: which app, and what the user granted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionGrant {
    /// The app's internal id.
    pub app_id: Uuid,
    pub scopes: Vec<String>,
}

/// A verified password's hash replaced by a stronger one of the same password.
#[derive(Debug, Clone)]
pub struct PasswordRehash {
    /// The stored hash that was verified: a password changed meanwhile is never overwritten.
    pub old: String,
    pub new: String,
}

/// A presented refresh token's row as stored, whatever its state; the application decides
/// what it is worth (reuse, expiry, the hard lifetime, the sign-in gate).
#[derive(Debug, Clone)]
pub struct PresentedToken {
    /// The row (one refresh token).
    pub id: Uuid,
    pub family_id: Uuid,
    pub user_id: UserId,
    pub started_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub auth_time: DateTime<Utc>,
    /// How the user signed in (`amr`); empty for sessions from before it was recorded.
    pub amr: Vec<String>,
    /// Used already (by a refresh): presenting it again is a reuse.
    pub consumed: bool,
    /// Its session was revoked (logout, revocation, password change, reuse).
    pub revoked: bool,
    /// The OIDC app the session was granted to, if any.
    pub grant: Option<SessionGrant>,
}

/// A live session (one login) as the user sees it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The session (family) id; `sid` in access tokens.
    pub id: Uuid,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub started_at: DateTime<Utc>,
    /// When its current refresh token was issued (the last login or refresh).
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Refresh sessions. Single use is enforced by the store: a token is consumed with one
/// conditional update, never read-then-write.
#[async_trait]
pub trait SessionRepository: Send + Sync {
    /// Stores a sign-in in one transaction: the new session, the user's `last_login_at`
    /// (its `started_at`), the password rehash it carries, and its audit event.
    ///
    /// # Errors
    /// The store failed (nothing is written).
    async fn create(&self, session: &NewSession, audit: &AuditEvent) -> anyhow::Result<()>;

    /// The token of `client` whose hash is `presented`, whatever its state.
    ///
    /// # Errors
    /// The store failed.
    async fn find_token(
        &self,
        client: ClientId,
        presented: &[u8; 32],
    ) -> anyhow::Result<Option<PresentedToken>>;

    /// Consumes the token row `consumed` if it is still neither consumed nor revoked, and
    /// stores `next` (the next token of its family) with `audit` — atomically, with one
    /// conditional update. The new token keeps the consumed one's `auth_time` as it is at that
    /// moment (returned). `None` when a concurrent refresh or revocation got there first
    /// (nothing is written then).
    ///
    /// # Errors
    /// The store failed.
    async fn consume_and_replace(
        &self,
        consumed: Uuid,
        next: &NewSession,
        audit: &AuditEvent,
    ) -> anyhow::Result<Option<DateTime<Utc>>>;

    /// Revokes the live session with this token (logout). Returns its user and family.
    ///
    /// # Errors
    /// The store failed.
    async fn revoke_by_token(
        &self,
        client: ClientId,
        presented: &[u8; 32],
        at: DateTime<Utc>,
    ) -> anyhow::Result<Option<(UserId, Uuid)>>;

    /// The client a refresh token (by hash) was issued for, whatever its state — to answer
    /// `token_client_mismatch` when it is presented with another client's key.
    ///
    /// # Errors
    /// The store failed.
    async fn client_of_token(&self, presented: &[u8; 32]) -> anyhow::Result<Option<ClientId>>;

    /// Deletes session rows that expired before `before`. Returns how many.
    ///
    /// # Errors
    /// The store failed.
    async fn purge_expired(&self, before: DateTime<Utc>) -> anyhow::Result<usize>;

    /// Records a re-authentication: the session's live token gets `auth_time = at` (so the
    /// next refresh carries it). Returns when the session began, if it is live.
    ///
    /// # Errors
    /// The store failed.
    async fn reauthenticate(
        &self,
        client: ClientId,
        user: UserId,
        family: Uuid,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Option<DateTime<Utc>>>;

    /// Whether the session (family) still has a live token (not revoked, not expired).
    ///
    /// # Errors
    /// The store failed.
    async fn is_live(
        &self,
        client: ClientId,
        user: UserId,
        family: Uuid,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool>;

    /// Live sessions of a user, newest first.
    ///
    /// # Errors
    /// The store failed.
    async fn list_live(
        &self,
        client: ClientId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<SessionInfo>>;

    /// Revokes one session (family) of a user. Returns whether a live one was revoked.
    ///
    /// # Errors
    /// The store failed.
    async fn revoke_family(
        &self,
        client: ClientId,
        user: UserId,
        family: Uuid,
        reason: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool>;

    /// Revokes every live session of a user except `keep`. Returns how many.
    ///
    /// # Errors
    /// The store failed.
    async fn revoke_all(
        &self,
        client: ClientId,
        user: UserId,
        keep: Option<Uuid>,
        reason: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<usize>;
}
