//! The delivery side: a dispatcher turns new audit events into queued deliveries, a worker
//! sends the due ones (a few at a time), records each attempt and schedules the next: the
//! first retry after `WEBHOOK_RETRY_BASE`, doubling, until a day after the delivery was
//! queued. An endpoint whose deliveries have all failed for `WEBHOOK_DISABLE_AFTER` is
//! disabled (audited `webhook.disabled`).

use std::time::Duration;

use authservice_domain::webhook::{self, DeliveryStatus};
use authservice_domain::{AuditEvent, EventType};

use crate::context::AuditDraft;
use serde_json::{Value, json};

use crate::ports::{AttemptResult, DueDelivery, Ports};

/// How deliveries are retried.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryConfig {
    /// `WEBHOOK_RETRY_BASE`: the wait before the first retry.
    pub retry_base: Duration,
    /// `WEBHOOK_DISABLE_AFTER`: an endpoint failing this long is disabled.
    pub disable_after: Duration,
}

/// Finished deliveries stay in the log this long.
pub const LOG_RETENTION: Duration = Duration::from_secs(30 * 86_400);

/// How long a claimed delivery is ours (longer than the 5 s send timeout).
const LEASE: Duration = Duration::from_secs(60);

/// The message body: `{type, timestamp, data}` with the event as the audit trail shows it.
#[must_use]
pub fn message_body(event: &AuditEvent) -> Value {
    json!({
        "type": event.event_type,
        "timestamp": event.occurred_at,
        "data": {
            "id": event.id,
            "event_type": event.event_type,
            "occurred_at": event.occurred_at,
            "client_id": event.client_id.map(|c| c.to_string()),
            "user_id": event.user_id,
            "actor": { "type": event.actor_type.as_str(), "id": event.actor_id },
            "target": { "type": event.target_type, "id": event.target_id },
            "request_id": event.request_id,
            "ip": event.ip,
            "user_agent": event.user_agent,
            "metadata": event.metadata,
            "before": event.before,
            "after": event.after,
        },
    })
}

pub struct DeliverWebhooks {
    ports: Ports,
    config: DeliveryConfig,
}

impl DeliverWebhooks {
    #[must_use]
    pub fn new(ports: &Ports, config: DeliveryConfig) -> Self {
        Self {
            ports: ports.clone(),
            config,
        }
    }

    /// Queues deliveries for up to `limit` new audit events; how many events were read.
    ///
    /// # Errors
    /// The store failed.
    #[tracing::instrument(name = "dispatch_webhooks", level = "debug", skip_all)]
    pub async fn dispatch(&self, limit: usize) -> anyhow::Result<usize> {
        self.ports
            .webhooks
            .dispatch(limit, self.ports.clock.now())
            .await
    }

    /// Removes finished deliveries older than [`LOG_RETENTION`] from the log; how many.
    ///
    /// # Errors
    /// The store failed.
    pub async fn purge_log(&self) -> anyhow::Result<u64> {
        let before = self.ports.clock.now() - chrono::Duration::from_std(LOG_RETENTION)?;
        self.ports.webhooks.purge_deliveries(before).await
    }

    /// Sends up to `limit` due deliveries at once; how many were attempted.
    ///
    /// # Errors
    /// The store failed.
    #[tracing::instrument(name = "deliver_webhooks", level = "debug", skip_all)]
    pub async fn deliver_due(&self, limit: usize) -> anyhow::Result<usize> {
        let now = self.ports.clock.now();
        let lease = now + chrono::Duration::from_std(LEASE)?;
        let due = self.ports.webhooks.claim_due(limit, now, lease).await?;
        let n = due.len();
        let attempts = due.into_iter().map(|d| self.attempt(d));
        for result in futures_util::future::join_all(attempts).await {
            result?;
        }
        Ok(n)
    }

    async fn attempt(&self, due: DueDelivery) -> anyhow::Result<()> {
        let delivery = &due.delivery;
        let endpoint = &due.endpoint;
        let Some(event) = &due.event else {
            let result = AttemptResult {
                status: DeliveryStatus::Failed,
                response_status: None,
                latency_ms: None,
                error: Some("the event was purged by retention".to_owned()),
                next_attempt_at: None,
            };
            self.ports
                .webhooks
                .record_attempt(delivery, &result, self.ports.clock.now())
                .await?;
            return Ok(());
        };
        let body = message_body(event).to_string();
        let now = self.ports.clock.now();
        let keys = match self.keys(endpoint, now) {
            Ok(keys) => keys,
            Err(err) => {
                tracing::error!(error = %err, endpoint = %endpoint.endpoint.id, "a webhook secret cannot be opened");
                let result = AttemptResult {
                    status: DeliveryStatus::Failed,
                    response_status: None,
                    latency_ms: None,
                    error: Some(
                        "the endpoint's signing secret cannot be read; rotate it".to_owned(),
                    ),
                    next_attempt_at: None,
                };
                self.ports
                    .webhooks
                    .record_attempt(delivery, &result, now)
                    .await?;
                return Ok(());
            }
        };
        let outcome = self
            .ports
            .webhook_sender
            .send(
                &endpoint.endpoint.url,
                &format!("msg_{}", event.id.simple()),
                now.timestamp(),
                &body,
                &keys,
            )
            .await;
        let ok = outcome.error.is_none()
            && outcome
                .response_status
                .is_some_and(|s| (200..300).contains(&s));
        let attempts = delivery.attempts + 1;
        let now = self.ports.clock.now();
        let window = chrono::Duration::from_std(webhook::RETRY_WINDOW)?;
        let next = now
            + chrono::Duration::from_std(webhook::retry_delay(self.config.retry_base, attempts))?;
        let (status, next_attempt_at) = if ok {
            (DeliveryStatus::Succeeded, None)
        } else if next <= delivery.created_at + window {
            (DeliveryStatus::Pending, Some(next))
        } else {
            (DeliveryStatus::Failed, None)
        };
        let result = AttemptResult {
            status,
            response_status: outcome.response_status,
            latency_ms: Some(outcome.latency_ms),
            error: outcome.error,
            next_attempt_at,
        };
        let after = self
            .ports
            .webhooks
            .record_attempt(delivery, &result, now)
            .await?;
        if let Some(current) = after
            && !ok
            && current.enabled
            && current.failing_since.is_some_and(|since| {
                now - since
                    >= chrono::Duration::from_std(self.config.disable_after)
                        .unwrap_or(chrono::Duration::MAX)
            })
        {
            self.disable(&current, now).await?;
        }
        Ok(())
    }

    /// The keys that sign now: the secret, and the previous one during its overlap.
    fn keys(
        &self,
        endpoint: &crate::ports::StoredEndpoint,
        now: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<Vec<Vec<u8>>> {
        let mut keys = vec![self.key(&endpoint.secret)?];
        if let (Some(previous), Some(until)) = (
            &endpoint.previous_secret,
            endpoint.endpoint.previous_secret_expires_at,
        ) && until > now
        {
            keys.push(self.key(previous)?);
        }
        Ok(keys)
    }

    fn key(&self, sealed: &crate::ports::SealedSecret) -> anyhow::Result<Vec<u8>> {
        let secret = String::from_utf8(self.ports.secret_box.open(sealed)?)?;
        webhook::secret_key(&secret)
            .ok_or_else(|| anyhow::anyhow!("a stored webhook secret is malformed"))
    }

    /// Every delivery has failed for `WEBHOOK_DISABLE_AFTER`: the endpoint stops receiving
    /// (one replica does it, and nothing else about the endpoint changes).
    async fn disable(
        &self,
        current: &webhook::WebhookEndpoint,
        now: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<()> {
        let mut after = current.clone();
        after.enabled = false;
        after.disabled_reason = Some("failing".to_owned());
        let event = AuditDraft::system(EventType::WebhookDisabled, "webhook_worker")
            .client(current.client_id)
            .target("webhook", current.id)
            .metadata(json!({ "failing_since": current.failing_since }))
            .before(super::endpoint_snapshot(current))
            .after(super::endpoint_snapshot(&after))
            .at(now);
        if self
            .ports
            .webhooks
            .disable_endpoint(current, "failing", &event)
            .await?
        {
            tracing::warn!(endpoint = %current.id, "webhook endpoint disabled after failing");
        }
        Ok(())
    }
}
