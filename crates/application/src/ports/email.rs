use std::time::Duration;

use async_trait::async_trait;
use authservice_domain::{
    AuditEvent, Branding, ClientEmailConfig, ClientId, Email, Locale, TokenPurpose, UserId,
};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use uuid::Uuid;

use super::SealedSecret;

/// A one-time token row to store (only its hash).
#[derive(Debug, Clone)]
pub struct NewOneTimeToken {
    pub id: Uuid,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub purpose: TokenPurpose,
    pub token_hash: [u8; 32],
    /// The address the token was sent to (verification applies to this address only).
    pub email: Email,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A stored one-time token, whatever its state.
#[derive(Debug, Clone)]
pub struct OneTimeTokenRecord {
    pub id: Uuid,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub purpose: TokenPurpose,
    pub email: String,
    pub expires_at: DateTime<Utc>,
    pub consumed_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
}

/// A message for the outbox: who it goes to, and the rendered message sealed (it carries a
/// one-time link).
#[derive(Debug, Clone)]
pub struct QueuedEmail {
    pub id: Uuid,
    pub client_id: ClientId,
    pub user_id: Option<UserId>,
    /// The template (`verify_email`, `reset_password`, `magic_link`).
    pub kind: String,
    pub recipient: Email,
    pub sealed: SealedSecret,
    pub created_at: DateTime<Utc>,
}

/// A token and the message carrying it, stored together (with `audit`) or not at all.
#[derive(Debug, Clone)]
pub struct PendingEmail {
    pub token: NewOneTimeToken,
    pub email: QueuedEmail,
    pub audit: AuditEvent,
    /// Void the user's older live tokens of the same purpose (a new reset voids older ones).
    pub void_older: bool,
}

/// What presenting a one-time token did.
#[derive(Debug, Clone)]
pub enum ConsumeOutcome {
    /// The token was live and is now consumed; its effect is applied.
    Consumed(OneTimeTokenRecord),
    /// The token exists but was not consumed now (used, voided, expired, or of another client).
    Refused(OneTimeTokenRecord),
    /// No token of this purpose hashes to the presented value.
    Unknown,
}

/// One-time tokens and their effects. Consumption is one conditional UPDATE, in the same
/// transaction as its effect and audit event; the adapter stamps the event's client, user and
/// target from the consumed row.
#[async_trait]
pub trait OneTimeTokenRepository: Send + Sync {
    /// Stores the token and its message (and voids older tokens when asked), in one transaction.
    ///
    /// # Errors
    /// The store failed (nothing is written).
    async fn issue(&self, pending: &PendingEmail) -> anyhow::Result<()>;

    /// For an address without an account: the same statements as `issue`, with the same data,
    /// in one transaction, none of them writing (the inserts select no row); only
    /// `pending.audit` is stored — one commit either way, so the timing of the answer does not
    /// tell whether the address has an account.
    ///
    /// # Errors
    /// The store failed (nothing is written).
    async fn issue_decoy(&self, pending: &PendingEmail) -> anyhow::Result<()>;

    /// The token with this hash and purpose, in any state.
    ///
    /// # Errors
    /// The store failed.
    async fn find(
        &self,
        purpose: TokenPurpose,
        hash: &[u8; 32],
    ) -> anyhow::Result<Option<OneTimeTokenRecord>>;

    /// Consumes a live verify-email token of `client` (any client when `None`) and marks the
    /// user's email verified if it is still the address the token was sent to.
    ///
    /// # Errors
    /// The store failed (a token that cannot be used is an outcome, not an error).
    async fn consume_verification(
        &self,
        hash: &[u8; 32],
        client: Option<ClientId>,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<ConsumeOutcome>;

    /// Consumes a live reset token of `client` (any when `None`), sets the new password hash,
    /// voids the user's other reset and magic-link tokens and revokes every session of the
    /// user.
    ///
    /// # Errors
    /// The store failed (a token that cannot be used is an outcome, not an error).
    async fn consume_reset(
        &self,
        hash: &[u8; 32],
        client: Option<ClientId>,
        new_password_hash: &str,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<ConsumeOutcome>;

    /// Consumes a live magic-link token of `client` (any when `None`) and marks the address
    /// verified (following the link proves it); stores `session` with its audit event when
    /// given (the JSON answer logs in at once).
    ///
    /// # Errors
    /// The store failed (a token that cannot be used is an outcome, not an error).
    async fn consume_magic_link(
        &self,
        hash: &[u8; 32],
        client: Option<ClientId>,
        now: DateTime<Utc>,
        audit: &AuditEvent,
        session: Option<(&super::NewSession, &AuditEvent)>,
    ) -> anyhow::Result<ConsumeOutcome>;

    /// Deletes tokens that expired before `before`. Returns how many.
    ///
    /// # Errors
    /// The store failed.
    async fn purge_expired(&self, before: DateTime<Utc>) -> anyhow::Result<usize>;
}

/// A message claimed for delivery.
#[derive(Debug, Clone)]
pub struct ClaimedEmail {
    pub id: Uuid,
    /// This claim; outcomes are recorded only while it is the message's current claim.
    pub claim: Uuid,
    pub client_id: ClientId,
    pub user_id: Option<UserId>,
    pub kind: String,
    pub recipient: String,
    pub sealed: SealedSecret,
    /// Delivery attempts so far, this one included.
    pub attempts: u32,
}

/// Outbox counts for operators.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxStats {
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
}

/// The delivery side of the outbox. Claims are leases: a claimed message is invisible to other
/// workers until `lease` ends, so a crashed worker's message is retried, never lost.
#[async_trait]
pub trait EmailOutbox: Send + Sync {
    /// Queues a message that carries no token (a security notice), due now.
    ///
    /// # Errors
    /// The store failed.
    async fn enqueue(&self, email: &QueuedEmail) -> anyhow::Result<()>;

    /// Claims the next due message (`FOR UPDATE SKIP LOCKED`, due and lease times by the
    /// database's clock) for `lease`, counting an attempt.
    ///
    /// # Errors
    /// The store failed.
    async fn claim_next(&self, lease: Duration) -> anyhow::Result<Option<ClaimedEmail>>;

    /// Marks a message delivered (wiping its sealed content), with its audit event — only if
    /// `claim` still holds it. Returns whether it did.
    ///
    /// # Errors
    /// The store failed.
    async fn mark_sent(
        &self,
        claim: &ClaimedEmail,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<bool>;

    /// Records a failed attempt (if `claim` still holds it): retried after `retry_in`, or
    /// given up when `None` (with `audit`). Returns whether it did.
    ///
    /// # Errors
    /// The store failed.
    async fn mark_failed(
        &self,
        claim: &ClaimedEmail,
        error: &str,
        retry_in: Option<Duration>,
        audit: Option<&AuditEvent>,
    ) -> anyhow::Result<bool>;

    /// Counts of `client`'s messages: pending, sent and failed.
    ///
    /// # Errors
    /// The store failed.
    async fn stats(&self, client: ClientId) -> anyhow::Result<OutboxStats>;
}

/// A client's stored email settings.
#[derive(Debug, Clone)]
pub struct StoredEmailConfig {
    pub config: ClientEmailConfig,
    pub smtp_password: Option<SealedSecret>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[async_trait]
pub trait EmailConfigRepository: Send + Sync {
    /// The client's stored settings, if any.
    ///
    /// # Errors
    /// The store failed.
    async fn get(&self, client: ClientId) -> anyhow::Result<Option<StoredEmailConfig>>;
}

/// What a message says, before rendering.
#[derive(Debug, Clone)]
pub struct EmailContent {
    pub message: authservice_domain::Message,
    pub locale: Locale,
    pub brand: Branding,
    pub link: String,
    /// Values of the message's placeholders besides `{brand}` (an invitation's `{org}`, …).
    pub vars: Vec<(&'static str, String)>,
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RenderedEmail {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Renders messages from the template files.
pub trait EmailRenderer: Send + Sync {
    /// Renders `content` in its locale and brand: subject, HTML and text.
    ///
    /// # Errors
    /// No strings exist for the locale, or a template failed to render.
    fn render(&self, content: &EmailContent) -> anyhow::Result<RenderedEmail>;
}

/// A sender or recipient.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mailbox {
    pub name: Option<String>,
    pub email: String,
}

/// A message ready to send (what the outbox seals).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutboundEmail {
    pub from: Mailbox,
    pub reply_to: Option<String>,
    pub to: String,
    #[serde(flatten)]
    pub content: RenderedEmail,
}

/// A client's own SMTP server, password opened.
#[derive(Clone)]
pub struct SmtpRoute {
    pub server: authservice_domain::SmtpServer,
    pub password: Option<SecretString>,
}

impl std::fmt::Debug for SmtpRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpRoute")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth retrying (server unreachable, 4xx, timeout).
    #[error("temporary delivery failure: {0}")]
    Transient(String),
    /// Retrying cannot help (5xx on the recipient, malformed address).
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

/// Delivers messages (SMTP, or a folder in development).
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `email` (with `message_id` as its Message-ID) through `route`, or the server's
    /// default transport when `None`.
    ///
    /// # Errors
    /// `Transient` when retrying may help (unreachable server, 4xx, timeout); `Permanent` when
    /// it cannot (5xx, a malformed address, unusable client SMTP settings).
    async fn send(
        &self,
        message_id: Uuid,
        email: &OutboundEmail,
        route: Option<&SmtpRoute>,
    ) -> Result<(), SendError>;
}

/// Wakes the outbox worker of this replica (other replicas find the message on their next
/// poll).
pub trait OutboxSignal: Send + Sync {
    fn wake(&self);
}
