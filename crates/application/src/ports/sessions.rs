use async_trait::async_trait;
use authservice_domain::{AuditEvent, ClientId, User, UserId};
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
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq)]
pub enum RotateOutcome {
    /// The token was live and its user active; it is consumed and the next one stored in its
    /// family. Carries the user as stored now, when the session began, and when the new token
    /// expires.
    Rotated {
        user: Box<User>,
        family_id: Uuid,
        started_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        /// Carried unchanged from the consumed token's row.
        auth_time: DateTime<Utc>,
    },
    /// The token had already been used: the whole family is now revoked.
    Reused { user_id: UserId, family_id: Uuid },
    /// Live, but its user's address is unverified and the client requires verified ones; the
    /// token was not consumed.
    EmailNotVerified,
    /// Unknown, expired, revoked, or of another client.
    Invalid,
}

/// The fields of a rotation's replacement row that the caller decides.
#[derive(Debug, Clone)]
pub struct NextSession {
    pub id: Uuid,
    pub refresh_token_hash: [u8; 32],
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The new token expires this long after `created_at`...
    pub idle_timeout: chrono::Duration,
    /// ...but never later than this long after the session began; a session already that old
    /// is not rotated at all.
    pub max_lifetime: chrono::Duration,
    /// The client gives unverified addresses no session: such a user's token is left
    /// unconsumed and `EmailNotVerified` answered.
    pub require_verified_email: bool,
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
    /// Stores a new session (a login) with its audit event, in one transaction.
    async fn create(&self, session: &NewSession, audit: &AuditEvent) -> anyhow::Result<()>;

    /// Consumes the live session whose token hashes to `presented` (bound to `client`, begun
    /// less than `next.max_lifetime` ago) and stores `next` in the same family, with `audit` — atomically. The adapter stamps the
    /// event's user and target (the session) from the consumed row. A token that was already
    /// consumed revokes its whole family and reports `Reused` (no event is stored then).
    async fn rotate(
        &self,
        client: ClientId,
        presented: &[u8; 32],
        next: &NextSession,
        audit: &AuditEvent,
    ) -> anyhow::Result<RotateOutcome>;

    /// Revokes the live session with this token (logout). Returns its user and family.
    async fn revoke_by_token(
        &self,
        client: ClientId,
        presented: &[u8; 32],
        at: DateTime<Utc>,
    ) -> anyhow::Result<Option<(UserId, Uuid)>>;

    /// The client a refresh token (by hash) was issued for, whatever its state — to answer
    /// `token_client_mismatch` when it is presented with another client's key.
    async fn client_of_token(&self, presented: &[u8; 32]) -> anyhow::Result<Option<ClientId>>;

    /// Deletes session rows that expired before `before`. Returns how many.
    async fn purge_expired(&self, before: DateTime<Utc>) -> anyhow::Result<usize>;

    /// Records a re-authentication: the session's live token gets `auth_time = at` (so the
    /// next refresh carries it). Returns when the session began, if it is live.
    async fn reauthenticate(
        &self,
        client: ClientId,
        user: UserId,
        family: Uuid,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Option<DateTime<Utc>>>;

    /// Whether the session (family) still has a live token (not revoked, not expired).
    async fn is_live(
        &self,
        client: ClientId,
        user: UserId,
        family: Uuid,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool>;

    /// Live sessions of a user, newest first.
    async fn list_live(
        &self,
        client: ClientId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<SessionInfo>>;

    /// Revokes one session (family) of a user. Returns whether a live one was revoked.
    async fn revoke_family(
        &self,
        client: ClientId,
        user: UserId,
        family: Uuid,
        reason: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool>;

    /// Revokes every live session of a user except `keep`. Returns how many.
    async fn revoke_all(
        &self,
        client: ClientId,
        user: UserId,
        keep: Option<Uuid>,
        reason: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<usize>;
}
