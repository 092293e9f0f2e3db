//! Webhook endpoints and deliveries in memory; the dispatcher follows the in-memory audit
//! trail in insertion order.

use async_trait::async_trait;
use authservice_application::ports::{
    AttemptResult, Delivery, DueDelivery, StoredEndpoint, WebhookRepository,
};
use authservice_domain::webhook::{DeliveryStatus, WebhookEndpoint};
use authservice_domain::{AuditEvent, ClientId};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::MemoryDb;

#[derive(Default, Clone)]
pub(super) struct Hooks {
    endpoints: Vec<StoredEndpoint>,
    deliveries: Vec<(Delivery, Option<DateTime<Utc>>)>,
    /// Audit events already dispatched (a count of the trail, which only grows here).
    dispatched: usize,
}

fn queued(endpoint: &WebhookEndpoint, event: &AuditEvent, at: DateTime<Utc>) -> Delivery {
    Delivery {
        id: Uuid::now_v7(),
        endpoint_id: endpoint.id,
        client_id: endpoint.client_id,
        event_id: event.id,
        event_type: event.event_type.clone(),
        status: DeliveryStatus::Pending,
        attempts: 0,
        response_status: None,
        latency_ms: None,
        last_error: None,
        next_attempt_at: Some(at),
        replay_of: None,
        created_at: at,
        finished_at: None,
    }
}

#[async_trait]
impl WebhookRepository for MemoryDb {
    async fn insert_endpoint(&self, e: &StoredEndpoint, audit: &AuditEvent) -> anyhow::Result<()> {
        let mut st = self.lock();
        st.webhooks.endpoints.push(e.clone());
        st.audit.push(audit.clone());
        Ok(())
    }

    async fn update_endpoint(
        &self,
        e: &StoredEndpoint,
        audit: Option<&AuditEvent>,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let Some(slot) = st.webhooks.endpoints.iter_mut().find(|s| {
            s.endpoint.id == e.endpoint.id && s.endpoint.client_id == e.endpoint.client_id
        }) else {
            return Ok(false);
        };
        *slot = e.clone();
        if let Some(audit) = audit {
            st.audit.push(audit.clone());
        }
        Ok(true)
    }

    async fn disable_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        reason: &str,
        audit: &AuditEvent,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let Some(slot) = st.webhooks.endpoints.iter_mut().find(|s| {
            s.endpoint.id == endpoint.id
                && s.endpoint.client_id == endpoint.client_id
                && s.endpoint.enabled
        }) else {
            return Ok(false);
        };
        slot.endpoint.enabled = false;
        slot.endpoint.disabled_reason = Some(reason.to_owned());
        slot.endpoint.updated_at = audit.occurred_at;
        st.audit.push(audit.clone());
        Ok(true)
    }

    async fn delete_endpoint(
        &self,
        client: ClientId,
        id: Uuid,
        audit: &AuditEvent,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let before = st.webhooks.endpoints.len();
        st.webhooks
            .endpoints
            .retain(|s| !(s.endpoint.id == id && s.endpoint.client_id == client));
        let gone = st.webhooks.endpoints.len() < before;
        if gone {
            st.webhooks.deliveries.retain(|(d, _)| d.endpoint_id != id);
            st.audit.push(audit.clone());
        }
        Ok(gone)
    }

    async fn endpoint(&self, client: ClientId, id: Uuid) -> anyhow::Result<Option<StoredEndpoint>> {
        Ok(self
            .lock()
            .webhooks
            .endpoints
            .iter()
            .find(|s| s.endpoint.id == id && s.endpoint.client_id == client)
            .cloned())
    }

    async fn endpoints(&self, client: ClientId) -> anyhow::Result<Vec<StoredEndpoint>> {
        Ok(self
            .lock()
            .webhooks
            .endpoints
            .iter()
            .filter(|s| s.endpoint.client_id == client)
            .cloned()
            .collect())
    }

    async fn deliveries(
        &self,
        endpoint: Uuid,
        status: Option<DeliveryStatus>,
        before: Option<Uuid>,
        limit: usize,
    ) -> anyhow::Result<Vec<Delivery>> {
        let st = self.lock();
        let mut rows: Vec<Delivery> = st
            .webhooks
            .deliveries
            .iter()
            .rev()
            .map(|(d, _)| d)
            .filter(|d| d.endpoint_id == endpoint && status.is_none_or(|s| d.status == s))
            .cloned()
            .collect();
        if let Some(before) = before
            && let Some(i) = rows.iter().position(|d| d.id == before)
        {
            rows.drain(..=i);
        }
        rows.truncate(limit);
        Ok(rows)
    }

    async fn delivery(&self, endpoint: Uuid, id: Uuid) -> anyhow::Result<Option<Delivery>> {
        Ok(self
            .lock()
            .webhooks
            .deliveries
            .iter()
            .map(|(d, _)| d)
            .find(|d| d.id == id && d.endpoint_id == endpoint)
            .cloned())
    }

    async fn replay(
        &self,
        delivery: &Delivery,
        new_id: Uuid,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Delivery> {
        let again = Delivery {
            id: new_id,
            status: DeliveryStatus::Pending,
            attempts: 0,
            response_status: None,
            latency_ms: None,
            last_error: None,
            next_attempt_at: Some(at),
            replay_of: Some(delivery.id),
            created_at: at,
            finished_at: None,
            ..delivery.clone()
        };
        self.lock().webhooks.deliveries.push((again.clone(), None));
        Ok(again)
    }

    async fn replay_range(
        &self,
        endpoint: &WebhookEndpoint,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        max: usize,
        at: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        let mut st = self.lock();
        let picked: Vec<Delivery> = st
            .audit
            .iter()
            .filter(|e| {
                e.client_id == Some(endpoint.client_id)
                    && e.occurred_at >= from
                    && e.occurred_at < to
                    && endpoint.wants(&e.event_type)
            })
            .take(max)
            .map(|e| queued(endpoint, e, at))
            .collect();
        let n = picked.len() as u64;
        st.webhooks
            .deliveries
            .extend(picked.into_iter().map(|d| (d, None)));
        Ok(n)
    }

    async fn dispatch(&self, limit: usize, at: DateTime<Utc>) -> anyhow::Result<usize> {
        let mut st = self.lock();
        let start = st.webhooks.dispatched;
        let batch: Vec<AuditEvent> = st.audit.iter().skip(start).take(limit).cloned().collect();
        for event in &batch {
            let targets: Vec<WebhookEndpoint> = st
                .webhooks
                .endpoints
                .iter()
                .map(|s| s.endpoint.clone())
                .filter(|e| Some(e.client_id) == event.client_id && e.wants(&event.event_type))
                .collect();
            for endpoint in targets {
                st.webhooks
                    .deliveries
                    .push((queued(&endpoint, event, at), None));
            }
        }
        st.webhooks.dispatched = start + batch.len();
        Ok(batch.len())
    }

    async fn claim_due(
        &self,
        limit: usize,
        at: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> anyhow::Result<Vec<DueDelivery>> {
        let mut st = self.lock();
        let enabled: Vec<StoredEndpoint> = st
            .webhooks
            .endpoints
            .iter()
            .filter(|s| s.endpoint.enabled)
            .cloned()
            .collect();
        let audit = st.audit.clone();
        let mut out = Vec::new();
        for (d, lease) in &mut st.webhooks.deliveries {
            if out.len() == limit {
                break;
            }
            let due = d.status == DeliveryStatus::Pending
                && d.next_attempt_at.is_some_and(|n| n <= at)
                && lease.is_none_or(|l| l < at);
            let Some(endpoint) = enabled.iter().find(|s| s.endpoint.id == d.endpoint_id) else {
                continue;
            };
            if due {
                *lease = Some(lease_until);
                out.push(DueDelivery {
                    delivery: d.clone(),
                    endpoint: endpoint.clone(),
                    event: audit.iter().find(|e| e.id == d.event_id).cloned(),
                });
            }
        }
        Ok(out)
    }

    async fn purge_deliveries(&self, before: DateTime<Utc>) -> anyhow::Result<u64> {
        let mut st = self.lock();
        let was = st.webhooks.deliveries.len();
        st.webhooks.deliveries.retain(|(d, _)| {
            d.status == DeliveryStatus::Pending || d.finished_at.is_none_or(|f| f >= before)
        });
        Ok((was - st.webhooks.deliveries.len()) as u64)
    }

    async fn record_attempt(
        &self,
        delivery: &Delivery,
        result: &AttemptResult,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Option<WebhookEndpoint>> {
        let mut st = self.lock();
        if let Some((d, lease)) = st
            .webhooks
            .deliveries
            .iter_mut()
            .find(|(d, _)| d.id == delivery.id)
        {
            d.status = result.status;
            d.attempts += 1;
            d.response_status = result.response_status;
            d.latency_ms = result.latency_ms;
            d.last_error.clone_from(&result.error);
            d.next_attempt_at = result.next_attempt_at;
            d.finished_at = (result.status != DeliveryStatus::Pending).then_some(at);
            *lease = None;
        }
        let ok = result.status == DeliveryStatus::Succeeded;
        Ok(st
            .webhooks
            .endpoints
            .iter_mut()
            .find(|s| s.endpoint.id == delivery.endpoint_id)
            .map(|s| {
                s.endpoint.failing_since = if ok {
                    None
                } else {
                    s.endpoint.failing_since.or(Some(at))
                };
                s.endpoint.clone()
            }))
    }
}
