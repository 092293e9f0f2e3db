//! The audit trail's hash chain in PostgreSQL (migration 000031): the sealer, the links a
//! verification reads, and what erasures and retention purges record.

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::ports::AuditChain;
use authservice_domain::audit_chain::{
    self, ChainHash, ChainReport, ChainVerifier, Checkpoint, StoredLink,
};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Bytea, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::audit::Counted;
use super::audit::{AuditRow, PgAuditLog};

/// The event columns every read here selects (table alias `e`).
const EVENT_COLUMNS: &str = "e.id, e.occurred_at, e.client_id, e.user_id, e.event_type, \
    e.actor_type, e.actor_id, e.target_type, e.target_id, e.request_id, e.ip, e.user_agent, \
    e.metadata, e.before, e.after";

/// The sealer's lock, taken.
#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

#[derive(QueryableByName)]
struct Pending {
    #[diesel(sql_type = Text)]
    tx_text: String,
    #[diesel(embed)]
    event: AuditRow,
}

#[derive(QueryableByName)]
struct Head {
    #[diesel(sql_type = SqlUuid)]
    scope: Uuid,
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Bytea)]
    event_hash: Vec<u8>,
}

#[derive(QueryableByName)]
struct CheckpointRow {
    #[diesel(sql_type = BigInt)]
    first_seq: i64,
    #[diesel(sql_type = BigInt)]
    last_seq: i64,
    #[diesel(sql_type = Bytea)]
    last_hash: Vec<u8>,
}

/// A link and its event as stored now (the event's columns null when its row is gone).
#[derive(QueryableByName)]
struct LinkRow {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = SqlUuid)]
    event_id: Uuid,
    #[diesel(sql_type = Bytea)]
    personal_digest: Vec<u8>,
    #[diesel(sql_type = Bytea)]
    prev_hash: Vec<u8>,
    #[diesel(sql_type = Bytea)]
    event_hash: Vec<u8>,
    #[diesel(sql_type = Nullable<Array<Bytea>>)]
    erasures: Option<Vec<Vec<u8>>>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    occurred_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    client_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    user_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    event_type: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    actor_type: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    actor_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    target_type: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    target_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    request_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    ip: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    user_agent: Option<String>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    metadata: Option<Value>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    before: Option<Value>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    after: Option<Value>,
}

/// A stored hash; a value of the wrong length (an edited row) reads as all ones, which no
/// computed hash equals.
fn hash_of(bytes: &[u8]) -> ChainHash {
    bytes.try_into().unwrap_or([0xff; 32])
}

impl LinkRow {
    fn into_link(self) -> StoredLink {
        let event = match (self.id, self.occurred_at, self.event_type, self.actor_type) {
            (Some(id), Some(occurred_at), Some(event_type), Some(actor_type)) => Some(
                AuditRow {
                    id,
                    occurred_at,
                    client_id: self.client_id,
                    user_id: self.user_id,
                    event_type,
                    actor_type,
                    actor_id: self.actor_id,
                    target_type: self.target_type,
                    target_id: self.target_id,
                    request_id: self.request_id,
                    ip: self.ip,
                    user_agent: self.user_agent,
                    metadata: self.metadata.unwrap_or(Value::Null),
                    before: self.before,
                    after: self.after,
                }
                .into_event(),
            ),
            _ => None,
        };
        StoredLink {
            seq: self.seq,
            event_id: self.event_id,
            personal_digest: hash_of(&self.personal_digest),
            prev_hash: hash_of(&self.prev_hash),
            event_hash: hash_of(&self.event_hash),
            event,
            erasures: self
                .erasures
                .unwrap_or_default()
                .iter()
                .map(|d| hash_of(d))
                .collect(),
        }
    }
}

/// Takes the sealer's lock (waiting for a running batch): an erasure holds it so that no
/// batch seals an event with the columns the erasure is rewriting.
pub(super) async fn lock_sealer(tx: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query("SELECT true AS locked FROM audit_chain_cursor FOR UPDATE")
        .load::<Locked>(tx)
        .await
        .map(|_| ())
}

/// Records, for the events of `ids` already sealed, the digest of their personal columns as
/// an erasure left them (call after the rewrite, under [`lock_sealer`]).
pub(super) async fn record_erasures(tx: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let sealed: Vec<AuditRow> = diesel::sql_query(format!(
        "SELECT {EVENT_COLUMNS} FROM audit_events e \
         JOIN audit_chain c ON c.event_id = e.id WHERE e.id = ANY($1)"
    ))
    .bind::<Array<SqlUuid>, _>(ids)
    .load(tx)
    .await?;
    if sealed.is_empty() {
        return Ok(());
    }
    let (event_ids, digests): (Vec<Uuid>, Vec<Vec<u8>>) = sealed
        .into_iter()
        .map(|row| {
            let event = row.into_event();
            (event.id, audit_chain::personal_digest(&event).to_vec())
        })
        .unzip();
    diesel::sql_query(
        "INSERT INTO audit_chain_erasures (event_id, personal_digest, erased_at) \
         SELECT id, digest, clock_timestamp() FROM UNNEST($1::uuid[], $2::bytea[]) AS u(id, digest)",
    )
    .bind::<Array<SqlUuid>, _>(event_ids)
    .bind::<Array<Bytea>, _>(digests)
    .execute(tx)
    .await
    .map(|_| ())
}

/// One batch: events whose transactions ended, after the cursor, in (tx, id) order.
async fn seal_batch(
    tx: &mut AsyncPgConnection,
    limit: usize,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    // Another replica sealing right now holds the cursor: nothing to do here.
    let cursor: Option<Locked> =
        diesel::sql_query("SELECT true AS locked FROM audit_chain_cursor FOR UPDATE SKIP LOCKED")
            .get_result(tx)
            .await
            .optional()?;
    if !cursor.is_some_and(|c| c.locked) {
        return Ok(0);
    }
    // Every transaction older than the oldest one still running has ended: an event that
    // commits late has a newer `tx` than the horizon and waits for a later batch.
    let pending: Vec<Pending> = diesel::sql_query(format!(
        "SELECT e.tx::text AS tx_text, {EVENT_COLUMNS} FROM audit_events e, audit_chain_cursor k \
         WHERE e.tx < pg_snapshot_xmin(pg_current_snapshot()) AND (e.tx, e.id) > (k.tx, k.event_id) \
         ORDER BY e.tx, e.id LIMIT $1"
    ))
    .bind::<BigInt, _>(i64::try_from(limit).unwrap_or(i64::MAX))
    .load(tx)
    .await?;
    let Some(last) = pending.last() else {
        return Ok(0);
    };
    let (last_tx, last_id) = (last.tx_text.clone(), last.event.id);
    let events: Vec<_> = pending.into_iter().map(|p| p.event.into_event()).collect();
    let mut scopes: Vec<Uuid> = events.iter().map(audit_chain::scope_of).collect();
    scopes.sort_unstable();
    scopes.dedup();
    let heads: Vec<Head> = diesel::sql_query(
        "SELECT scope, seq, event_hash FROM audit_chain_heads WHERE scope = ANY($1)",
    )
    .bind::<Array<SqlUuid>, _>(&scopes)
    .load(tx)
    .await?;
    let mut heads: std::collections::HashMap<Uuid, (i64, ChainHash)> = heads
        .into_iter()
        .map(|h| (h.scope, (h.seq, hash_of(&h.event_hash))))
        .collect();
    let n = events.len();
    let mut links = Links::with_capacity(n);
    for event in &events {
        let scope = audit_chain::scope_of(event);
        let (prev_seq, prev) = heads
            .get(&scope)
            .copied()
            .unwrap_or((0, audit_chain::GENESIS));
        let seq = prev_seq + 1;
        let (personal, hash) = audit_chain::seal(scope, seq, &prev, event);
        links.push(scope, seq, event.id, personal, prev, hash);
        heads.insert(scope, (seq, hash));
    }
    diesel::sql_query(
        "INSERT INTO audit_chain (scope, seq, event_id, personal_digest, prev_hash, event_hash, sealed_at) \
         SELECT u.*, $7 FROM UNNEST($1::uuid[], $2::int8[], $3::uuid[], $4::bytea[], $5::bytea[], $6::bytea[]) AS u",
    )
    .bind::<Array<SqlUuid>, _>(&links.scope)
    .bind::<Array<BigInt>, _>(&links.seq)
    .bind::<Array<SqlUuid>, _>(&links.event_id)
    .bind::<Array<Bytea>, _>(&links.personal)
    .bind::<Array<Bytea>, _>(&links.prev)
    .bind::<Array<Bytea>, _>(&links.hash)
    .bind::<Timestamptz, _>(at)
    .execute(tx)
    .await?;
    let (head_scopes, rest): (Vec<Uuid>, Vec<(i64, ChainHash)>) = scopes
        .iter()
        .filter_map(|s| heads.get(s).map(|h| (*s, *h)))
        .unzip();
    let (head_seqs, head_hashes): (Vec<i64>, Vec<Vec<u8>>) =
        rest.into_iter().map(|(seq, h)| (seq, h.to_vec())).unzip();
    diesel::sql_query(
        "INSERT INTO audit_chain_heads (scope, seq, event_hash, updated_at) \
         SELECT u.*, $4 FROM UNNEST($1::uuid[], $2::int8[], $3::bytea[]) AS u \
         ON CONFLICT (scope) DO UPDATE SET seq = EXCLUDED.seq, event_hash = EXCLUDED.event_hash, \
           updated_at = EXCLUDED.updated_at",
    )
    .bind::<Array<SqlUuid>, _>(&head_scopes)
    .bind::<Array<BigInt>, _>(&head_seqs)
    .bind::<Array<Bytea>, _>(&head_hashes)
    .bind::<Timestamptz, _>(at)
    .execute(tx)
    .await?;
    diesel::sql_query("UPDATE audit_chain_cursor SET tx = $1::xid8, event_id = $2")
        .bind::<Text, _>(&last_tx)
        .bind::<SqlUuid, _>(last_id)
        .execute(tx)
        .await?;
    Ok(n)
}

/// A batch's new links, column by column (bound as arrays).
struct Links {
    scope: Vec<Uuid>,
    seq: Vec<i64>,
    event_id: Vec<Uuid>,
    personal: Vec<Vec<u8>>,
    prev: Vec<Vec<u8>>,
    hash: Vec<Vec<u8>>,
}

impl Links {
    fn with_capacity(n: usize) -> Self {
        Self {
            scope: Vec::with_capacity(n),
            seq: Vec::with_capacity(n),
            event_id: Vec::with_capacity(n),
            personal: Vec::with_capacity(n),
            prev: Vec::with_capacity(n),
            hash: Vec::with_capacity(n),
        }
    }

    fn push(
        &mut self,
        scope: Uuid,
        seq: i64,
        event_id: Uuid,
        personal: ChainHash,
        prev: ChainHash,
        hash: ChainHash,
    ) {
        self.scope.push(scope);
        self.seq.push(seq);
        self.event_id.push(event_id);
        self.personal.push(personal.to_vec());
        self.prev.push(prev.to_vec());
        self.hash.push(hash.to_vec());
    }
}

/// The scope's links with `after < seq <= up_to`, with their events as stored now and the
/// digests erasures recorded.
async fn links(
    tx: &mut AsyncPgConnection,
    scope: Uuid,
    after: i64,
    up_to: i64,
    limit: usize,
) -> QueryResult<Vec<StoredLink>> {
    let rows: Vec<LinkRow> = diesel::sql_query(format!(
        "SELECT c.seq, c.event_id, c.personal_digest, c.prev_hash, c.event_hash, \
           (SELECT array_agg(x.personal_digest ORDER BY x.erased_at) FROM audit_chain_erasures x \
             WHERE x.event_id = c.event_id) AS erasures, {EVENT_COLUMNS} \
         FROM audit_chain c LEFT JOIN audit_events e ON e.id = c.event_id \
         WHERE c.scope = $1 AND c.seq > $2 AND c.seq <= $3 ORDER BY c.seq LIMIT $4"
    ))
    .bind::<SqlUuid, _>(scope)
    .bind::<BigInt, _>(after)
    .bind::<BigInt, _>(up_to)
    .bind::<BigInt, _>(i64::try_from(limit).unwrap_or(i64::MAX))
    .load(tx)
    .await?;
    Ok(rows.into_iter().map(LinkRow::into_link).collect())
}

#[async_trait]
impl AuditChain for PgAuditLog {
    #[tracing::instrument(name = "pg.audit_chain.seal", level = "debug", skip_all)]
    async fn seal(&self, limit: usize, at: DateTime<Utc>) -> anyhow::Result<usize> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, diesel::result::Error, _>(async |tx| seal_batch(tx, limit, at).await)
            .await
            .context("sealing the audit chain")
    }

    #[tracing::instrument(name = "pg.audit_chain.verify", level = "debug", skip_all)]
    async fn verify(&self, scope: Uuid, page: usize) -> anyhow::Result<ChainReport> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.build_transaction()
            .repeatable_read()
            .read_only()
            .run::<_, diesel::result::Error, _>(async |tx| {
                let head: Option<Head> = diesel::sql_query(
                    "SELECT scope, seq, event_hash FROM audit_chain_heads WHERE scope = $1",
                )
                .bind::<SqlUuid, _>(scope)
                .get_result(tx)
                .await
                .optional()?;
                let head = head.map(|h| (h.seq, hash_of(&h.event_hash)));
                let checkpoints: Vec<CheckpointRow> = diesel::sql_query(
                    "SELECT first_seq, last_seq, last_hash FROM audit_chain_checkpoints \
                     WHERE scope = $1 ORDER BY first_seq",
                )
                .bind::<SqlUuid, _>(scope)
                .load(tx)
                .await?;
                let mut verifier = ChainVerifier::new(
                    scope,
                    checkpoints
                        .into_iter()
                        .map(|r| Checkpoint {
                            first_seq: r.first_seq,
                            last_seq: r.last_seq,
                            last_hash: hash_of(&r.last_hash),
                        })
                        .collect(),
                );
                if let Some((up_to, _)) = head {
                    let mut after = 0;
                    loop {
                        let rows = links(tx, scope, after, up_to, page).await?;
                        let Some(last) = rows.last() else { break };
                        after = last.seq;
                        let full = rows.len() == page;
                        if !rows.iter().all(|link| verifier.feed(link)) || !full {
                            break;
                        }
                    }
                }
                Ok(verifier.finish(head))
            })
            .await
            .context("verifying the audit chain")
    }

    async fn unsealed(&self, scope: Uuid) -> anyhow::Result<u64> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let client = (scope != audit_chain::GLOBAL_SCOPE).then_some(scope);
        let counted: Counted = diesel::sql_query(
            "SELECT count(*) AS n FROM audit_events e, audit_chain_cursor k \
             WHERE (e.tx, e.id) > (k.tx, k.event_id) AND e.client_id IS NOT DISTINCT FROM $1",
        )
        .bind::<Nullable<SqlUuid>, _>(client)
        .get_result(&mut conn)
        .await
        .context("counting unsealed audit events")?;
        Ok(u64::try_from(counted.n).unwrap_or(0))
    }
}
