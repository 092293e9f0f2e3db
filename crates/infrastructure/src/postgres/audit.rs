//! `audit_events`: append and query.

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::ports::{AuditFilter, AuditLog};
use authservice_domain::{ActorType, AuditEvent, ClientId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::PgPool;
use super::schema::audit_events;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct AuditRow {
    id: Uuid,
    occurred_at: DateTime<Utc>,
    client_id: Option<Uuid>,
    user_id: Option<Uuid>,
    event_type: String,
    actor_type: String,
    actor_id: Option<String>,
    target_type: Option<String>,
    target_id: Option<String>,
    request_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    metadata: Value,
    before: Option<Value>,
    after: Option<Value>,
}

impl From<&AuditEvent> for AuditRow {
    fn from(e: &AuditEvent) -> Self {
        Self {
            id: e.id,
            occurred_at: e.occurred_at,
            client_id: e.client_id.map(|c| c.as_uuid()),
            user_id: e.user_id,
            event_type: e.event_type.clone(),
            actor_type: e.actor_type.as_str().to_owned(),
            actor_id: e.actor_id.clone(),
            target_type: e.target_type.clone(),
            target_id: e.target_id.clone(),
            request_id: e.request_id.clone(),
            ip: e.ip.clone(),
            user_agent: e.user_agent.clone(),
            metadata: e.metadata.clone(),
            before: e.before.clone(),
            after: e.after.clone(),
        }
    }
}

impl AuditRow {
    fn into_event(self) -> AuditEvent {
        AuditEvent {
            id: self.id,
            occurred_at: self.occurred_at,
            client_id: self.client_id.map(ClientId::from_uuid),
            user_id: self.user_id,
            event_type: self.event_type,
            actor_type: ActorType::parse(&self.actor_type).unwrap_or(ActorType::System),
            actor_id: self.actor_id,
            target_type: self.target_type,
            target_id: self.target_id,
            request_id: self.request_id,
            ip: self.ip,
            user_agent: self.user_agent,
            metadata: self.metadata,
            before: self.before,
            after: self.after,
        }
    }
}

/// Inserts one event on an existing connection (used inside other adapters' transactions).
pub(super) async fn insert_event(
    conn: &mut AsyncPgConnection,
    event: &AuditEvent,
) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values(AuditRow::from(event))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The insert of one event as a future bound only to the connection, to pipeline it with
/// other statements of a transaction.
pub(super) fn insert_event_pipelined<'a>(
    conn: &mut &'a AsyncPgConnection,
    event: &AuditEvent,
) -> futures_util::future::BoxFuture<'a, QueryResult<usize>> {
    diesel::insert_into(audit_events::table)
        .values(AuditRow::from(event))
        .execute(conn)
}

pub struct PgAuditLog {
    pool: PgPool,
}

impl PgAuditLog {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl AuditLog for PgAuditLog {
    #[tracing::instrument(name = "pg.audit.record", level = "debug", skip_all)]
    async fn record(&self, event: &AuditEvent) -> anyhow::Result<()> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        insert_event(&mut conn, event)
            .await
            .context("inserting audit event")
    }

    #[tracing::instrument(name = "pg.audit.list", level = "debug", skip_all)]
    async fn list(
        &self,
        filter: &AuditFilter,
        before: Option<Uuid>,
        limit: usize,
    ) -> anyhow::Result<Vec<AuditEvent>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let mut query = audit_events::table
            .select(AuditRow::as_select())
            .order(audit_events::id.desc())
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .into_boxed();
        if let Some(before) = before {
            query = query.filter(audit_events::id.lt(before));
        }
        if let Some(client) = filter.client_id {
            query = query.filter(audit_events::client_id.eq(client.as_uuid()));
        }
        if let Some(user) = filter.user_id {
            query = query.filter(audit_events::user_id.eq(user));
        }
        if !filter.event_types.is_empty() {
            query = query.filter(audit_events::event_type.eq_any(filter.event_types.clone()));
        }
        if let Some(v) = filter.actor_type {
            query = query.filter(audit_events::actor_type.eq(v.as_str()));
        }
        if let Some(v) = &filter.actor_id {
            query = query.filter(audit_events::actor_id.eq(v.clone()));
        }
        if let Some(v) = &filter.target_type {
            query = query.filter(audit_events::target_type.eq(v.clone()));
        }
        if let Some(v) = &filter.target_id {
            query = query.filter(audit_events::target_id.eq(v.clone()));
        }
        if let Some(v) = &filter.request_id {
            query = query.filter(audit_events::request_id.eq(v.clone()));
        }
        if let Some(from) = filter.from {
            query = query.filter(audit_events::occurred_at.ge(from));
        }
        if let Some(to) = filter.to {
            query = query.filter(audit_events::occurred_at.lt(to));
        }
        let rows: Vec<AuditRow> = query
            .load(&mut conn)
            .await
            .context("querying audit events")?;
        Ok(rows.into_iter().map(AuditRow::into_event).collect())
    }
}
