//! `email_outbox`, the delivery side: claims are leases taken with `FOR UPDATE SKIP LOCKED`, so
//! several replicas' workers never hold the same message, and a crashed worker's claim expires
//! and the message is retried.

use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::ports::{ClaimedEmail, EmailOutbox, OutboxStats, SealedSecret};
use authservice_domain::{AuditEvent, ClientId, UserId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::sql_types::{BigInt, Bytea, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::PgPool;
use super::audit::insert_event;
use super::schema::email_outbox;

#[derive(QueryableByName)]
struct ClaimedRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    client_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    user_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    recipient: String,
    #[diesel(sql_type = Nullable<Bytea>)]
    message_sealed: Option<Vec<u8>>,
    #[diesel(sql_type = Integer)]
    attempts: i32,
}

#[derive(QueryableByName)]
struct StatusCount {
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Inserts a message into the outbox, due now (inside the caller's transaction).
pub(super) async fn insert_queued(
    conn: &mut diesel_async::AsyncPgConnection,
    e: &authservice_application::ports::QueuedEmail,
) -> QueryResult<()> {
    diesel::insert_into(email_outbox::table)
        .values((
            email_outbox::id.eq(e.id),
            email_outbox::client_id.eq(e.client_id.as_uuid()),
            email_outbox::user_id.eq(e.user_id.map(|u| u.as_uuid())),
            email_outbox::kind.eq(&e.kind),
            email_outbox::recipient.eq(e.recipient.as_str()),
            email_outbox::message_sealed.eq(Some(&e.sealed.0)),
            email_outbox::status.eq("pending"),
            email_outbox::attempts.eq(0),
            email_outbox::next_attempt_at.eq(e.created_at),
            email_outbox::created_at.eq(e.created_at),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

pub struct PgEmailOutbox {
    pool: PgPool,
}

impl PgEmailOutbox {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

const CLAIM: &str = "\
UPDATE email_outbox
SET locked_until = now() + $1 * interval '1 millisecond', claim_id = $2,
    attempts = attempts + 1, last_attempt_at = now()
WHERE id = (
    SELECT id FROM email_outbox
    WHERE status = 'pending' AND next_attempt_at <= now()
      AND (locked_until IS NULL OR locked_until <= now())
    ORDER BY next_attempt_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED)
RETURNING id, client_id, user_id, kind, recipient, message_sealed, attempts";

/// The rows a claim still holds.
macro_rules! held {
    ($claim:expr) => {
        email_outbox::table
            .filter(email_outbox::id.eq($claim.id))
            .filter(email_outbox::claim_id.eq($claim.claim))
            .filter(email_outbox::status.eq("pending"))
    };
}

#[async_trait]
impl EmailOutbox for PgEmailOutbox {
    #[tracing::instrument(name = "pg.outbox.enqueue", level = "debug", skip_all)]
    async fn enqueue(
        &self,
        email: &authservice_application::ports::QueuedEmail,
    ) -> anyhow::Result<()> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        insert_queued(&mut conn, email)
            .await
            .context("queueing a message")
    }

    #[tracing::instrument(name = "pg.outbox.claim_next", level = "debug", skip_all)]
    async fn claim_next(&self, lease: Duration) -> anyhow::Result<Option<ClaimedEmail>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let claim = Uuid::new_v4();
        let row: Option<ClaimedRow> = diesel::sql_query(CLAIM)
            .bind::<BigInt, _>(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX))
            .bind::<SqlUuid, _>(claim)
            .get_result(&mut conn)
            .await
            .optional()
            .context("claiming a due email")?;
        Ok(row.map(|r| ClaimedEmail {
            id: r.id,
            claim,
            client_id: ClientId::from_uuid(r.client_id),
            user_id: r.user_id.map(UserId::from_uuid),
            kind: r.kind,
            recipient: r.recipient,
            sealed: SealedSecret(r.message_sealed.unwrap_or_default()),
            attempts: u32::try_from(r.attempts).unwrap_or(0),
        }))
    }

    #[tracing::instrument(name = "pg.outbox.mark_sent", level = "debug", skip_all)]
    async fn mark_sent(
        &self,
        claim: &ClaimedEmail,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, DieselError, _>(async |tx| {
            let n = diesel::update(held!(claim))
                .set((
                    email_outbox::status.eq("sent"),
                    email_outbox::sent_at.eq(Some(at)),
                    email_outbox::message_sealed.eq(None::<Vec<u8>>),
                    email_outbox::locked_until.eq(None::<DateTime<Utc>>),
                    email_outbox::last_error.eq(None::<String>),
                ))
                .execute(tx)
                .await?;
            if n > 0 {
                insert_event(tx, audit).await?;
            }
            Ok(n > 0)
        })
        .await
        .context("marking an email sent")
    }

    #[tracing::instrument(name = "pg.outbox.mark_failed", level = "debug", skip_all)]
    async fn mark_failed(
        &self,
        claim: &ClaimedEmail,
        error: &str,
        retry_in: Option<Duration>,
        audit: Option<&AuditEvent>,
    ) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, DieselError, _>(async |tx| {
            let n = match retry_in {
                Some(delay) => {
                    let millis = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
                    diesel::update(held!(claim))
                        .set((
                            email_outbox::next_attempt_at.eq(diesel::dsl::sql::<Timestamptz>(
                                &format!("now() + interval '{millis} milliseconds'"),
                            )),
                            email_outbox::locked_until.eq(None::<DateTime<Utc>>),
                            email_outbox::last_error.eq(error),
                        ))
                        .execute(tx)
                        .await?
                }
                None => {
                    diesel::update(held!(claim))
                        .set((
                            email_outbox::status.eq("failed"),
                            email_outbox::message_sealed.eq(None::<Vec<u8>>),
                            email_outbox::locked_until.eq(None::<DateTime<Utc>>),
                            email_outbox::last_error.eq(error),
                        ))
                        .execute(tx)
                        .await?
                }
            };
            if n > 0
                && let Some(audit) = audit
            {
                insert_event(tx, audit).await?;
            }
            Ok(n > 0)
        })
        .await
        .context("recording a failed email attempt")
    }

    #[tracing::instrument(name = "pg.outbox.stats", level = "debug", skip_all)]
    async fn stats(&self, client: ClientId) -> anyhow::Result<OutboxStats> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let rows: Vec<StatusCount> = diesel::sql_query(
            "SELECT status, count(*) AS count FROM email_outbox WHERE client_id = $1 GROUP BY status",
        )
        .bind::<SqlUuid, _>(client.as_uuid())
        .load(&mut conn)
        .await
        .context("counting emails")?;
        let mut stats = OutboxStats::default();
        for row in rows {
            let n = u64::try_from(row.count).unwrap_or(0);
            match row.status.as_str() {
                "pending" => stats.pending = n,
                "sent" => stats.sent = n,
                "failed" => stats.failed = n,
                _ => {}
            }
        }
        Ok(stats)
    }
}
