use async_trait::async_trait;
use authservice_domain::audit_chain::ChainReport;
use authservice_domain::{ActorType, AuditEvent, ClientId};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Filters of an audit query; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub client_id: Option<ClientId>,
    /// Events about this user (`user_id`).
    pub user_id: Option<uuid::Uuid>,
    /// Any of these types (none: every type).
    pub event_types: Vec<String>,
    pub actor_type: Option<ActorType>,
    pub actor_id: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub request_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Only events a standing legal hold covers (`true`) or none covers (`false`).
    pub legal_hold: Option<bool>,
    /// Events about this organization: it is their target, or their metadata names it.
    pub organization_id: Option<uuid::Uuid>,
}

/// Append-only audit trail.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends one event.
    ///
    /// # Errors
    /// The store failed.
    async fn record(&self, event: &AuditEvent) -> anyhow::Result<()>;

    /// Newest first, starting before the event `before` (keyset), at most `limit`.
    ///
    /// # Errors
    /// The store failed.
    async fn list(
        &self,
        filter: &AuditFilter,
        before: Option<Uuid>,
        limit: usize,
    ) -> anyhow::Result<Vec<AuditEvent>>;
}

/// A legal hold: the events it covers are never purged while it stands. Every field left out
/// matches everything (a hold with neither client nor user covers the whole trail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHold {
    pub id: Uuid,
    pub client_id: Option<ClientId>,
    pub user_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub reason: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// What a purge found (and removed, unless it was a dry run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PurgeCount {
    /// Events older than the cutoff.
    pub older: u64,
    /// Of those, events a legal hold keeps.
    pub held: u64,
    /// Events deleted (0 in a dry run).
    pub deleted: u64,
}

/// Legal holds and retention of the audit trail.
#[async_trait]
pub trait AuditRetention: Send + Sync {
    /// # Errors
    /// The store failed.
    async fn add_hold(&self, hold: &LegalHold) -> anyhow::Result<()>;

    /// Standing holds, newest first.
    ///
    /// # Errors
    /// The store failed.
    async fn holds(&self) -> anyhow::Result<Vec<LegalHold>>;

    /// Releases a standing hold; `false` when there is none with that id.
    ///
    /// # Errors
    /// The store failed.
    async fn release_hold(&self, id: Uuid, at: DateTime<Utc>) -> anyhow::Result<bool>;

    /// Counts the events that occurred before their cutoff — the client's own in `clients`,
    /// else `cutoff` — and, unless `dry_run`, deletes those no standing hold covers (in one
    /// transaction), leaving a checkpoint for each run of chain links removed.
    ///
    /// # Errors
    /// The store failed.
    async fn purge(
        &self,
        cutoff: DateTime<Utc>,
        clients: &[(ClientId, DateTime<Utc>)],
        dry_run: bool,
    ) -> anyhow::Result<PurgeCount>;
}

/// The audit trail's hash chain (`authservice_domain::audit_chain`): sealing and reading links.
#[async_trait]
pub trait AuditChain: Send + Sync {
    /// Seals up to `limit` events whose transactions have ended, in the order they became
    /// visible, each as the next link of its scope; the number sealed. One sealer at a time
    /// across replicas: while another seals, this answers 0.
    ///
    /// # Errors
    /// The store failed.
    async fn seal(&self, limit: usize, at: DateTime<Utc>) -> anyhow::Result<usize>;

    /// Verifies the scope's chain in one consistent snapshot (a purge or a sealing batch
    /// committing meanwhile is not half seen): its head, its checkpoints, then its links up to
    /// the head, a page of `page` at a time, fed to
    /// [`authservice_domain::audit_chain::ChainVerifier`].
    ///
    /// # Errors
    /// The store failed.
    async fn verify(&self, scope: Uuid, page: usize) -> anyhow::Result<ChainReport>;

    /// Events of the scope not sealed yet.
    ///
    /// # Errors
    /// The store failed.
    async fn unsealed(&self, scope: Uuid) -> anyhow::Result<u64>;
}
