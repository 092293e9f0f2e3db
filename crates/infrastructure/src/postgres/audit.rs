//! `audit_events`: append and query; `audit_legal_holds` and retention purges.

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::ports::{
    AuditFilter, AuditLog, AuditRetention, LegalHold, PurgeCount,
};
use authservice_domain::{ActorType, AuditEvent, ClientId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::PgPool;
use super::schema::{audit_events, audit_legal_holds};

#[derive(Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub(super) struct AuditRow {
    pub(super) id: Uuid,
    pub(super) occurred_at: DateTime<Utc>,
    pub(super) client_id: Option<Uuid>,
    pub(super) user_id: Option<Uuid>,
    pub(super) event_type: String,
    pub(super) actor_type: String,
    pub(super) actor_id: Option<String>,
    pub(super) target_type: Option<String>,
    pub(super) target_id: Option<String>,
    pub(super) request_id: Option<String>,
    pub(super) ip: Option<String>,
    pub(super) user_agent: Option<String>,
    pub(super) metadata: Value,
    pub(super) before: Option<Value>,
    pub(super) after: Option<Value>,
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
    pub(super) fn into_event(self) -> AuditEvent {
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
    pub(super) pool: PgPool,
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
        if let Some(org) = filter.organization_id {
            let org = org.to_string();
            query = query.filter(
                diesel::dsl::sql::<diesel::sql_types::Bool>(
                    "((audit_events.target_type = 'organization' AND audit_events.target_id = ",
                )
                .bind::<diesel::sql_types::Text, _>(org.clone())
                .sql(") OR audit_events.metadata->>'organization_id' = ")
                .bind::<diesel::sql_types::Text, _>(org)
                .sql(")"),
            );
        }
        if let Some(held) = filter.legal_hold {
            let covered = diesel::dsl::sql::<diesel::sql_types::Bool>(&held_unaliased());
            query = if held {
                query.filter(covered)
            } else {
                query.filter(diesel::dsl::not(covered))
            };
        }
        let rows: Vec<AuditRow> = query
            .load(&mut conn)
            .await
            .context("querying audit events")?;
        Ok(rows.into_iter().map(AuditRow::into_event).collect())
    }
}

/// Past its retention: before the client's own cutoff (`$2`/`$3`, its id and cutoff) or the
/// default one (`$1`); `$4` is the latest of them all (for the index on `occurred_at`).
const PAST: &str = "e.occurred_at < $4 AND e.occurred_at < COALESCE((SELECT o.cutoff \
    FROM UNNEST($2::uuid[], $3::timestamptz[]) AS o(client_id, cutoff) \
    WHERE o.client_id = e.client_id), $1)";

/// Events a standing hold covers (`e` is the audit_events row).
const HELD: &str = "EXISTS (SELECT 1 FROM audit_legal_holds h WHERE h.released_at IS NULL \
     AND (h.client_id IS NULL OR h.client_id = e.client_id) \
     AND (h.user_id IS NULL OR h.user_id = e.user_id) \
     AND (h.from_at IS NULL OR e.occurred_at >= h.from_at) \
     AND (h.to_at IS NULL OR e.occurred_at < h.to_at))";

/// [`HELD`] for a query over `audit_events` without an alias.
fn held_unaliased() -> String {
    HELD.replace(" e.", " audit_events.")
}

/// A `count(*) AS n` (or any one `int8` named `n`).
#[derive(QueryableByName)]
pub(super) struct Counted {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(super) n: i64,
}

type HoldRow = (
    Uuid,
    Option<Uuid>,
    Option<Uuid>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    String,
    String,
    DateTime<Utc>,
);

#[async_trait]
impl AuditRetention for PgAuditLog {
    #[tracing::instrument(name = "pg.audit.add_hold", level = "debug", skip_all)]
    async fn add_hold(&self, hold: &LegalHold) -> anyhow::Result<()> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        diesel::insert_into(audit_legal_holds::table)
            .values((
                audit_legal_holds::id.eq(hold.id),
                audit_legal_holds::client_id.eq(hold.client_id.map(|c| c.as_uuid())),
                audit_legal_holds::user_id.eq(hold.user_id),
                audit_legal_holds::from_at.eq(hold.from),
                audit_legal_holds::to_at.eq(hold.to),
                audit_legal_holds::reason.eq(&hold.reason),
                audit_legal_holds::created_by.eq(&hold.created_by),
                audit_legal_holds::created_at.eq(hold.created_at),
            ))
            .execute(&mut conn)
            .await
            .context("adding a legal hold")?;
        Ok(())
    }

    #[tracing::instrument(name = "pg.audit.holds", level = "debug", skip_all)]
    async fn holds(&self) -> anyhow::Result<Vec<LegalHold>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let rows: Vec<HoldRow> = audit_legal_holds::table
            .filter(audit_legal_holds::released_at.is_null())
            .order(audit_legal_holds::created_at.desc())
            .limit(1000)
            .select((
                audit_legal_holds::id,
                audit_legal_holds::client_id,
                audit_legal_holds::user_id,
                audit_legal_holds::from_at,
                audit_legal_holds::to_at,
                audit_legal_holds::reason,
                audit_legal_holds::created_by,
                audit_legal_holds::created_at,
            ))
            .load(&mut conn)
            .await
            .context("listing legal holds")?;
        Ok(rows
            .into_iter()
            .map(
                |(id, client, user_id, from, to, reason, created_by, created_at)| LegalHold {
                    id,
                    client_id: client.map(ClientId::from_uuid),
                    user_id,
                    from,
                    to,
                    reason,
                    created_by,
                    created_at,
                },
            )
            .collect())
    }

    #[tracing::instrument(name = "pg.audit.release_hold", level = "debug", skip_all)]
    async fn release_hold(&self, id: Uuid, at: DateTime<Utc>) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let n = diesel::update(
            audit_legal_holds::table
                .find(id)
                .filter(audit_legal_holds::released_at.is_null()),
        )
        .set(audit_legal_holds::released_at.eq(at))
        .execute(&mut conn)
        .await
        .context("releasing a legal hold")?;
        Ok(n > 0)
    }

    #[tracing::instrument(name = "pg.audit.purge", level = "debug", skip_all)]
    async fn purge(
        &self,
        cutoff: DateTime<Utc>,
        clients: &[(ClientId, DateTime<Utc>)],
        dry_run: bool,
    ) -> anyhow::Result<PurgeCount> {
        use diesel::sql_types::{Array, Timestamptz, Uuid as SqlUuid};
        let (ids, cutoffs): (Vec<Uuid>, Vec<DateTime<Utc>>) =
            clients.iter().map(|(c, at)| (c.as_uuid(), *at)).unzip();
        let latest = cutoffs.iter().copied().fold(cutoff, DateTime::max);
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, diesel::result::Error, _>(async |tx| {
            let older: Counted = diesel::sql_query(format!(
                "SELECT count(*) AS n FROM audit_events e WHERE {PAST}"
            ))
            .bind::<Timestamptz, _>(cutoff)
            .bind::<Array<SqlUuid>, _>(&ids)
            .bind::<Array<Timestamptz>, _>(&cutoffs)
            .bind::<Timestamptz, _>(latest)
            .get_result(tx)
            .await?;
            let held: Counted = diesel::sql_query(format!(
                "SELECT count(*) AS n FROM audit_events e WHERE {PAST} AND {HELD}"
            ))
            .bind::<Timestamptz, _>(cutoff)
            .bind::<Array<SqlUuid>, _>(&ids)
            .bind::<Array<Timestamptz>, _>(&cutoffs)
            .bind::<Timestamptz, _>(latest)
            .get_result(tx)
            .await?;
            let deleted = if dry_run {
                0
            } else {
                // No sealing batch links an event this purge removes (it would leave a link
                // to a missing event).
                super::audit_chain::lock_sealer(tx).await?;
                // The append-only trigger admits deletes in this transaction only.
                diesel::sql_query("SET LOCAL authservice.audit_retention = 'on'")
                    .execute(tx)
                    .await?;
                // The removed events' links go too; each run of removed links leaves its
                // last hash as a checkpoint, so the links after it still verify.
                let purged: Counted = diesel::sql_query(format!(
                    "WITH gone AS (DELETE FROM audit_events e WHERE {PAST} AND NOT {HELD} \
                       RETURNING e.id), \
                     unlinked AS (DELETE FROM audit_chain c USING gone WHERE c.event_id = gone.id \
                       RETURNING c.scope, c.seq, c.event_hash), \
                     runs AS (SELECT scope, seq, event_hash, \
                       seq - row_number() OVER (PARTITION BY scope ORDER BY seq) AS run FROM unlinked), \
                     checkpoints AS (INSERT INTO audit_chain_checkpoints (scope, first_seq, last_seq, last_hash, created_at) \
                       SELECT scope, min(seq), max(seq), (array_agg(event_hash ORDER BY seq DESC))[1], now() \
                       FROM runs GROUP BY scope, run) \
                     SELECT count(*) AS n FROM gone"
                ))
                .bind::<Timestamptz, _>(cutoff)
                .bind::<Array<SqlUuid>, _>(&ids)
                .bind::<Array<Timestamptz>, _>(&cutoffs)
                .bind::<Timestamptz, _>(latest)
                .get_result(tx)
                .await?;
                let n = purged.n;
                diesel::sql_query("SET LOCAL authservice.audit_retention = 'off'")
                    .execute(tx)
                    .await?;
                n
            };
            let count = |n: i64| u64::try_from(n).unwrap_or(0);
            Ok(PurgeCount {
                older: count(older.n),
                held: count(held.n),
                deleted: count(deleted),
            })
        })
        .await
        .context("purging the audit trail")
    }
}
