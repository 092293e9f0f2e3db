use async_trait::async_trait;
use authservice_domain::webhook::{DeliveryStatus, WebhookEndpoint};
use authservice_domain::{AuditEvent, ClientId};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::SealedSecret;

/// An endpoint with its sealed signing secrets.
#[derive(Debug, Clone)]
pub struct StoredEndpoint {
    pub endpoint: WebhookEndpoint,
    pub secret: SealedSecret,
    /// The secret before the last rotation; it signs too until
    /// `endpoint.previous_secret_expires_at`.
    pub previous_secret: Option<SealedSecret>,
}

/// One event's delivery to one endpoint (a replay is a delivery of its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub client_id: ClientId,
    pub event_id: Uuid,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub response_status: Option<u16>,
    pub latency_ms: Option<u32>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub replay_of: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A delivery whose attempt is due, leased to the caller, with what it needs to send.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub delivery: Delivery,
    pub endpoint: StoredEndpoint,
    /// The event as stored now (`None` once a retention purge removed it).
    pub event: Option<AuditEvent>,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptResult {
    pub status: DeliveryStatus,
    pub response_status: Option<u16>,
    pub latency_ms: Option<u32>,
    pub error: Option<String>,
    /// When to try again (pending deliveries only).
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Webhook endpoints, their deliveries and the durable delivery queue.
#[async_trait]
pub trait WebhookRepository: Send + Sync {
    /// # Errors
    /// The store failed.
    async fn insert_endpoint(
        &self,
        endpoint: &StoredEndpoint,
        audit: &AuditEvent,
    ) -> anyhow::Result<()>;

    /// Replaces the stored endpoint (same id and client); `false` when it is gone.
    ///
    /// # Errors
    /// The store failed.
    async fn update_endpoint(
        &self,
        endpoint: &StoredEndpoint,
        audit: Option<&AuditEvent>,
    ) -> anyhow::Result<bool>;

    /// Disables the endpoint if it is still enabled (nothing else about it changes); `false`
    /// when it was not.
    ///
    /// # Errors
    /// The store failed.
    async fn disable_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        reason: &str,
        audit: &AuditEvent,
    ) -> anyhow::Result<bool>;

    /// Deletes the endpoint and its deliveries; `false` when there is none.
    ///
    /// # Errors
    /// The store failed.
    async fn delete_endpoint(
        &self,
        client: ClientId,
        id: Uuid,
        audit: &AuditEvent,
    ) -> anyhow::Result<bool>;

    /// # Errors
    /// The store failed.
    async fn endpoint(&self, client: ClientId, id: Uuid) -> anyhow::Result<Option<StoredEndpoint>>;

    /// The client's endpoints, oldest first.
    ///
    /// # Errors
    /// The store failed.
    async fn endpoints(&self, client: ClientId) -> anyhow::Result<Vec<StoredEndpoint>>;

    /// The endpoint's deliveries, newest first, after the delivery `before` (keyset).
    ///
    /// # Errors
    /// The store failed.
    async fn deliveries(
        &self,
        endpoint: Uuid,
        status: Option<DeliveryStatus>,
        before: Option<Uuid>,
        limit: usize,
    ) -> anyhow::Result<Vec<Delivery>>;

    /// # Errors
    /// The store failed.
    async fn delivery(&self, endpoint: Uuid, id: Uuid) -> anyhow::Result<Option<Delivery>>;

    /// Queues the event of `delivery` again for its endpoint, as a new delivery due `at`.
    ///
    /// # Errors
    /// The store failed.
    async fn replay(
        &self,
        delivery: &Delivery,
        new_id: Uuid,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Delivery>;

    /// Queues, as new deliveries due `at`, the client's events of `[from, to)` the endpoint
    /// subscribes to (at most `max`); how many.
    ///
    /// # Errors
    /// The store failed.
    async fn replay_range(
        &self,
        endpoint: &WebhookEndpoint,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        max: usize,
        at: DateTime<Utc>,
    ) -> anyhow::Result<u64>;

    /// Follows the audit trail: queues a delivery for each of up to `limit` new events (in
    /// commit order) to every enabled endpoint of its client that subscribes to its type;
    /// how many events were read. One dispatcher at a time across replicas.
    ///
    /// # Errors
    /// The store failed.
    async fn dispatch(&self, limit: usize, at: DateTime<Utc>) -> anyhow::Result<usize>;

    /// Leases up to `limit` due deliveries of enabled endpoints until `lease_until`.
    ///
    /// # Errors
    /// The store failed.
    async fn claim_due(
        &self,
        limit: usize,
        at: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> anyhow::Result<Vec<DueDelivery>>;

    /// Deletes deliveries that finished before `before`; how many.
    ///
    /// # Errors
    /// The store failed.
    async fn purge_deliveries(&self, before: DateTime<Utc>) -> anyhow::Result<u64>;

    /// Records an attempt of a leased delivery and keeps the endpoint's `failing_since`
    /// (cleared by a success, set by the first failure after one); the endpoint as it is now.
    ///
    /// # Errors
    /// The store failed.
    async fn record_attempt(
        &self,
        delivery: &Delivery,
        result: &AttemptResult,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Option<WebhookEndpoint>>;
}

/// What the receiver answered (or why there was no answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOutcome {
    pub response_status: Option<u16>,
    pub latency_ms: u32,
    pub error: Option<String>,
}

/// Signs and POSTs one webhook message.
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// Sends `body` to `url` with the Standard Webhooks headers, signed with each of `keys`;
    /// a refused target (an internal address unless allowed), a timeout or a transport
    /// failure is an outcome with `error`, never an `Err`.
    async fn send(
        &self,
        url: &str,
        message_id: &str,
        timestamp: i64,
        body: &str,
        keys: &[Vec<u8>],
    ) -> SendOutcome;
}
