use async_trait::async_trait;
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
