//! `webhook_endpoints`, `webhook_deliveries` and the dispatcher's cursor over the audit trail
//! (migration 000032).

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::ports::{
    AttemptResult, Delivery, DueDelivery, SealedSecret, StoredEndpoint, WebhookRepository,
};
use authservice_domain::webhook::{DeliveryStatus, WebhookEndpoint};
use authservice_domain::{AuditEvent, ClientId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Bool, Bytea, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::PgPool;
use super::audit::Counted;
use super::audit::{AuditRow, insert_event};

pub struct PgWebhooks {
    pool: PgPool,
}

impl PgWebhooks {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

const ENDPOINT_COLUMNS: &str = "id, client_id, url, event_types, enabled, secret, previous_secret, \
    previous_expires_at, failing_since, disabled_reason, created_at, updated_at";
const DELIVERY_COLUMNS: &str = "id, endpoint_id, client_id, event_id, event_type, status, attempts, \
    response_status, latency_ms, last_error, next_attempt_at, replay_of, created_at, finished_at";

#[derive(QueryableByName)]
struct EndpointRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    client_id: Uuid,
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = Array<Text>)]
    event_types: Vec<String>,
    #[diesel(sql_type = Bool)]
    enabled: bool,
    #[diesel(sql_type = Bytea)]
    secret: Vec<u8>,
    #[diesel(sql_type = Nullable<Bytea>)]
    previous_secret: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    previous_expires_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    failing_since: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    disabled_reason: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
}

impl EndpointRow {
    fn into_stored(self) -> StoredEndpoint {
        StoredEndpoint {
            endpoint: WebhookEndpoint {
                id: self.id,
                client_id: ClientId::from_uuid(self.client_id),
                url: self.url,
                event_types: self.event_types,
                enabled: self.enabled,
                previous_secret_expires_at: self.previous_expires_at,
                failing_since: self.failing_since,
                disabled_reason: self.disabled_reason,
                created_at: self.created_at,
                updated_at: self.updated_at,
            },
            secret: SealedSecret(self.secret),
            previous_secret: self.previous_secret.map(SealedSecret),
        }
    }
}

#[derive(QueryableByName)]
struct DeliveryRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    endpoint_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    client_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    event_id: Uuid,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Nullable<Integer>)]
    response_status: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    latency_ms: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    last_error: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    next_attempt_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    replay_of: Option<Uuid>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    finished_at: Option<DateTime<Utc>>,
}

impl DeliveryRow {
    fn into_delivery(self) -> Delivery {
        Delivery {
            id: self.id,
            endpoint_id: self.endpoint_id,
            client_id: ClientId::from_uuid(self.client_id),
            event_id: self.event_id,
            event_type: self.event_type,
            status: DeliveryStatus::parse(&self.status).unwrap_or(DeliveryStatus::Failed),
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            response_status: self.response_status.and_then(|s| u16::try_from(s).ok()),
            latency_ms: self.latency_ms.and_then(|l| u32::try_from(l).ok()),
            last_error: self.last_error,
            next_attempt_at: self.next_attempt_at,
            replay_of: self.replay_of,
            created_at: self.created_at,
            finished_at: self.finished_at,
        }
    }
}

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

async fn write_endpoint(
    tx: &mut AsyncPgConnection,
    sql: &str,
    s: &StoredEndpoint,
) -> QueryResult<usize> {
    let e = &s.endpoint;
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(e.id)
        .bind::<SqlUuid, _>(e.client_id.as_uuid())
        .bind::<Text, _>(&e.url)
        .bind::<Array<Text>, _>(&e.event_types)
        .bind::<Bool, _>(e.enabled)
        .bind::<Bytea, _>(&s.secret.0)
        .bind::<Nullable<Bytea>, _>(s.previous_secret.as_ref().map(|p| &p.0))
        .bind::<Nullable<Timestamptz>, _>(e.previous_secret_expires_at)
        .bind::<Nullable<Timestamptz>, _>(e.failing_since)
        .bind::<Nullable<Text>, _>(e.disabled_reason.as_deref())
        .bind::<Timestamptz, _>(e.created_at)
        .bind::<Timestamptz, _>(e.updated_at)
        .execute(tx)
        .await
}

#[async_trait]
impl WebhookRepository for PgWebhooks {
    async fn insert_endpoint(&self, s: &StoredEndpoint, audit: &AuditEvent) -> anyhow::Result<()> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, diesel::result::Error, _>(async |tx| {
            write_endpoint(
                tx,
                &format!(
                    "INSERT INTO webhook_endpoints ({ENDPOINT_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                ),
                s,
            )
            .await?;
            insert_event(tx, audit).await
        })
        .await
        .context("storing a webhook endpoint")
    }

    async fn update_endpoint(
        &self,
        s: &StoredEndpoint,
        audit: Option<&AuditEvent>,
    ) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, diesel::result::Error, _>(async |tx| {
            let n = write_endpoint(
                tx,
                "UPDATE webhook_endpoints SET url = $3, event_types = $4, enabled = $5, secret = $6, \
                   previous_secret = $7, previous_expires_at = $8, failing_since = $9, \
                   disabled_reason = $10, created_at = $11, updated_at = $12 \
                 WHERE id = $1 AND client_id = $2",
                s,
            )
            .await?;
            if n > 0
                && let Some(audit) = audit
            {
                insert_event(tx, audit).await?;
            }
            Ok(n > 0)
        })
        .await
        .context("updating a webhook endpoint")
    }

    async fn disable_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        reason: &str,
        audit: &AuditEvent,
    ) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, diesel::result::Error, _>(async |tx| {
            let n = diesel::sql_query(
                "UPDATE webhook_endpoints SET enabled = false, disabled_reason = $3, updated_at = $4 \
                 WHERE id = $1 AND client_id = $2 AND enabled",
            )
            .bind::<SqlUuid, _>(endpoint.id)
            .bind::<SqlUuid, _>(endpoint.client_id.as_uuid())
            .bind::<Text, _>(reason)
            .bind::<Timestamptz, _>(audit.occurred_at)
            .execute(tx)
            .await?;
            if n > 0 {
                insert_event(tx, audit).await?;
            }
            Ok(n > 0)
        })
        .await
        .context("disabling a webhook endpoint")
    }

    async fn delete_endpoint(
        &self,
        client: ClientId,
        id: Uuid,
        audit: &AuditEvent,
    ) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, diesel::result::Error, _>(async |tx| {
            let n =
                diesel::sql_query("DELETE FROM webhook_endpoints WHERE id = $1 AND client_id = $2")
                    .bind::<SqlUuid, _>(id)
                    .bind::<SqlUuid, _>(client.as_uuid())
                    .execute(tx)
                    .await?;
            if n > 0 {
                insert_event(tx, audit).await?;
            }
            Ok(n > 0)
        })
        .await
        .context("deleting a webhook endpoint")
    }

    async fn endpoint(&self, client: ClientId, id: Uuid) -> anyhow::Result<Option<StoredEndpoint>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<EndpointRow> = diesel::sql_query(format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND client_id = $2"
        ))
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(client.as_uuid())
        .get_result(&mut conn)
        .await
        .optional()
        .context("reading a webhook endpoint")?;
        Ok(row.map(EndpointRow::into_stored))
    }

    async fn endpoints(&self, client: ClientId) -> anyhow::Result<Vec<StoredEndpoint>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let rows: Vec<EndpointRow> = diesel::sql_query(format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE client_id = $1 ORDER BY created_at, id"
        ))
        .bind::<SqlUuid, _>(client.as_uuid())
        .load(&mut conn)
        .await
        .context("listing webhook endpoints")?;
        Ok(rows.into_iter().map(EndpointRow::into_stored).collect())
    }

    async fn deliveries(
        &self,
        endpoint: Uuid,
        status: Option<DeliveryStatus>,
        before: Option<Uuid>,
        limit: usize,
    ) -> anyhow::Result<Vec<Delivery>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let rows: Vec<DeliveryRow> = diesel::sql_query(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.endpoint_id = $1 \
               AND ($2::text IS NULL OR d.status = $2) \
               AND ($3::uuid IS NULL OR (d.created_at, d.id) < \
                 (SELECT b.created_at, b.id FROM webhook_deliveries b WHERE b.id = $3)) \
             ORDER BY d.created_at DESC, d.id DESC LIMIT $4"
        ))
        .bind::<SqlUuid, _>(endpoint)
        .bind::<Nullable<Text>, _>(status.map(DeliveryStatus::as_str))
        .bind::<Nullable<SqlUuid>, _>(before)
        .bind::<BigInt, _>(limit_of(limit))
        .load(&mut conn)
        .await
        .context("listing webhook deliveries")?;
        Ok(rows.into_iter().map(DeliveryRow::into_delivery).collect())
    }

    async fn delivery(&self, endpoint: Uuid, id: Uuid) -> anyhow::Result<Option<Delivery>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<DeliveryRow> = diesel::sql_query(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1 AND endpoint_id = $2"
        ))
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(endpoint)
        .get_result(&mut conn)
        .await
        .optional()
        .context("reading a webhook delivery")?;
        Ok(row.map(DeliveryRow::into_delivery))
    }

    async fn replay(
        &self,
        delivery: &Delivery,
        new_id: Uuid,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Delivery> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: DeliveryRow = diesel::sql_query(format!(
            "INSERT INTO webhook_deliveries (id, endpoint_id, client_id, event_id, event_type, status, \
               attempts, next_attempt_at, replay_of, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7, $6) RETURNING {DELIVERY_COLUMNS}"
        ))
        .bind::<SqlUuid, _>(new_id)
        .bind::<SqlUuid, _>(delivery.endpoint_id)
        .bind::<SqlUuid, _>(delivery.client_id.as_uuid())
        .bind::<SqlUuid, _>(delivery.event_id)
        .bind::<Text, _>(&delivery.event_type)
        .bind::<Timestamptz, _>(at)
        .bind::<SqlUuid, _>(delivery.id)
        .get_result(&mut conn)
        .await
        .context("queueing a webhook replay")?;
        Ok(row.into_delivery())
    }

    async fn replay_range(
        &self,
        endpoint: &WebhookEndpoint,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        max: usize,
        at: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let n = diesel::sql_query(
            "INSERT INTO webhook_deliveries (id, endpoint_id, client_id, event_id, event_type, status, \
               attempts, next_attempt_at, created_at) \
             SELECT gen_random_uuid(), $1, e.client_id, e.id, e.event_type, 'pending', 0, $6, $6 \
             FROM (SELECT e.* FROM audit_events e WHERE e.client_id = $2 AND e.occurred_at >= $3 \
                     AND e.occurred_at < $4 AND (e.event_type = ANY($5) OR '*' = ANY($5)) \
                   ORDER BY e.occurred_at LIMIT $7) e",
        )
        .bind::<SqlUuid, _>(endpoint.id)
        .bind::<SqlUuid, _>(endpoint.client_id.as_uuid())
        .bind::<Timestamptz, _>(from)
        .bind::<Timestamptz, _>(to)
        .bind::<Array<Text>, _>(&endpoint.event_types)
        .bind::<Timestamptz, _>(at)
        .bind::<BigInt, _>(limit_of(max))
        .execute(&mut conn)
        .await
        .context("queueing a webhook replay")?;
        Ok(n as u64)
    }

    #[tracing::instrument(name = "pg.webhooks.dispatch", level = "debug", skip_all)]
    async fn dispatch(&self, limit: usize, at: DateTime<Utc>) -> anyhow::Result<usize> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let read = conn
            .transaction::<_, diesel::result::Error, _>(async |tx| {
                // One dispatcher at a time: another replica holding the cursor is at work.
                let mine: Vec<Counted> = diesel::sql_query(
                    "SELECT 1::int8 AS n FROM webhook_dispatch_cursor FOR UPDATE SKIP LOCKED",
                )
                .load(tx)
                .await?;
                if mine.is_empty() {
                    return Ok(0);
                }
                // As the audit chain's sealer: only events of transactions that have ended.
                let read: Counted = diesel::sql_query(
                    "WITH batch AS (SELECT e.tx, e.id, e.client_id, e.event_type \
                       FROM audit_events e, webhook_dispatch_cursor k \
                       WHERE e.tx < pg_snapshot_xmin(pg_current_snapshot()) \
                         AND (e.tx, e.id) > (k.tx, k.event_id) \
                       ORDER BY e.tx, e.id LIMIT $1), \
                     queued AS (INSERT INTO webhook_deliveries (id, endpoint_id, client_id, event_id, \
                         event_type, status, attempts, next_attempt_at, created_at) \
                       SELECT gen_random_uuid(), w.id, b.client_id, b.id, b.event_type, 'pending', 0, $2, $2 \
                       FROM batch b JOIN webhook_endpoints w ON w.client_id = b.client_id AND w.enabled \
                         AND (b.event_type = ANY(w.event_types) OR '*' = ANY(w.event_types))), \
                     last AS (SELECT tx, id FROM batch ORDER BY tx DESC, id DESC LIMIT 1), \
                     moved AS (UPDATE webhook_dispatch_cursor k SET tx = last.tx, event_id = last.id FROM last) \
                     SELECT count(*) AS n FROM batch",
                )
                .bind::<BigInt, _>(limit_of(limit))
                .bind::<Timestamptz, _>(at)
                .get_result(tx)
                .await?;
                Ok(usize::try_from(read.n).unwrap_or(0))
            })
            .await
            .context("queueing webhook deliveries")?;
        Ok(read)
    }

    #[tracing::instrument(name = "pg.webhooks.claim_due", level = "debug", skip_all)]
    async fn claim_due(
        &self,
        limit: usize,
        at: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> anyhow::Result<Vec<DueDelivery>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let rows: Vec<DeliveryRow> = diesel::sql_query(format!(
            // At most four of one endpoint per claim: a slow or flooded endpoint cannot take
            // every slot from the others.
            "WITH ranked AS (SELECT d.id, d.next_attempt_at, row_number() OVER \
                 (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at) AS rn \
               FROM webhook_deliveries d \
               JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.enabled \
               WHERE d.status = 'pending' AND d.next_attempt_at <= $1 \
                 AND (d.lease_until IS NULL OR d.lease_until < $1)), \
             due AS (SELECT d.id FROM webhook_deliveries d JOIN ranked r ON r.id = d.id \
               WHERE r.rn <= 4 AND d.status = 'pending' \
                 AND (d.lease_until IS NULL OR d.lease_until < $1) \
               ORDER BY r.next_attempt_at LIMIT $2 FOR UPDATE OF d SKIP LOCKED) \
             UPDATE webhook_deliveries d SET lease_until = $3 FROM due WHERE d.id = due.id \
             RETURNING {}",
            DELIVERY_COLUMNS
                .split(", ")
                .map(|c| format!("d.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .bind::<Timestamptz, _>(at)
        .bind::<BigInt, _>(limit_of(limit))
        .bind::<Timestamptz, _>(lease_until)
        .load(&mut conn)
        .await
        .context("claiming webhook deliveries")?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let deliveries: Vec<Delivery> = rows.into_iter().map(DeliveryRow::into_delivery).collect();
        let endpoint_ids: Vec<Uuid> = deliveries.iter().map(|d| d.endpoint_id).collect();
        let event_ids: Vec<Uuid> = deliveries.iter().map(|d| d.event_id).collect();
        let endpoints: Vec<EndpointRow> = diesel::sql_query(format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ANY($1)"
        ))
        .bind::<Array<SqlUuid>, _>(&endpoint_ids)
        .load(&mut conn)
        .await
        .context("reading webhook endpoints")?;
        let events: Vec<AuditRow> = diesel::sql_query(
            "SELECT e.id, e.occurred_at, e.client_id, e.user_id, e.event_type, e.actor_type, \
               e.actor_id, e.target_type, e.target_id, e.request_id, e.ip, e.user_agent, \
               e.metadata, e.before, e.after FROM audit_events e WHERE e.id = ANY($1)",
        )
        .bind::<Array<SqlUuid>, _>(&event_ids)
        .load(&mut conn)
        .await
        .context("reading the events to deliver")?;
        let endpoints: std::collections::HashMap<Uuid, StoredEndpoint> = endpoints
            .into_iter()
            .map(|e| (e.id, e.into_stored()))
            .collect();
        let events: std::collections::HashMap<Uuid, AuditEvent> = events
            .into_iter()
            .map(|e| {
                let e = e.into_event();
                (e.id, e)
            })
            .collect();
        Ok(deliveries
            .into_iter()
            .filter_map(|d| {
                let endpoint = endpoints.get(&d.endpoint_id)?.clone();
                let event = events.get(&d.event_id).cloned();
                Some(DueDelivery {
                    delivery: d,
                    endpoint,
                    event,
                })
            })
            .collect())
    }

    async fn purge_deliveries(&self, before: DateTime<Utc>) -> anyhow::Result<u64> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let n = diesel::sql_query(
            "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < $1",
        )
        .bind::<Timestamptz, _>(before)
        .execute(&mut conn)
        .await
        .context("purging the webhook delivery log")?;
        Ok(n as u64)
    }

    async fn record_attempt(
        &self,
        delivery: &Delivery,
        result: &AttemptResult,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Option<WebhookEndpoint>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<EndpointRow> = conn
            .transaction::<_, diesel::result::Error, _>(async |tx| {
                diesel::sql_query(
                    "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, \
                       response_status = $3, latency_ms = $4, last_error = $5, next_attempt_at = $6, \
                       lease_until = NULL, finished_at = CASE WHEN $2 = 'pending' THEN NULL ELSE $7 END \
                     WHERE id = $1 AND status = 'pending'",
                )
                .bind::<SqlUuid, _>(delivery.id)
                .bind::<Text, _>(result.status.as_str())
                .bind::<Nullable<Integer>, _>(result.response_status.map(i32::from))
                .bind::<Nullable<Integer>, _>(
                    result.latency_ms.map(|l| i32::try_from(l).unwrap_or(i32::MAX)),
                )
                .bind::<Nullable<Text>, _>(result.error.as_deref())
                .bind::<Nullable<Timestamptz>, _>(result.next_attempt_at)
                .bind::<Timestamptz, _>(at)
                .execute(tx)
                .await?;
                let ok = result.status == DeliveryStatus::Succeeded;
                diesel::sql_query(format!(
                    "UPDATE webhook_endpoints SET failing_since = \
                       CASE WHEN $2 THEN NULL ELSE COALESCE(failing_since, $3) END \
                     WHERE id = $1 RETURNING {ENDPOINT_COLUMNS}"
                ))
                .bind::<SqlUuid, _>(delivery.endpoint_id)
                .bind::<Bool, _>(ok)
                .bind::<Timestamptz, _>(at)
                .get_result(tx)
                .await
                .optional()
            })
            .await
            .context("recording a webhook attempt")?;
        Ok(row.map(|r| r.into_stored().endpoint))
    }
}
