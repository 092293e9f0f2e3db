//! `passkeys`: WebAuthn credentials, scoped by client (a credential of one client never signs
//! in to another).

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::ports::{PasskeyRepository, StoredPasskey};
use authservice_domain::{ClientId, UserId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::PgPool;
use super::schema::passkeys;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = passkeys)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct PasskeyRow {
    id: Uuid,
    client_id: Uuid,
    user_id: Uuid,
    credential_id: Vec<u8>,
    passkey: Value,
    name: String,
    sign_count: i64,
    attestation_format: Option<String>,
    backed_up: bool,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
}

impl From<PasskeyRow> for StoredPasskey {
    fn from(r: PasskeyRow) -> Self {
        Self {
            id: r.id,
            client_id: ClientId::from_uuid(r.client_id),
            user_id: UserId::from_uuid(r.user_id),
            credential_id: r.credential_id,
            passkey: r.passkey,
            name: r.name,
            sign_count: u32::try_from(r.sign_count).unwrap_or(u32::MAX),
            attestation_format: r.attestation_format,
            backed_up: r.backed_up,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        }
    }
}

pub struct PgPasskeys {
    pool: PgPool,
}

impl PgPasskeys {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl PasskeyRepository for PgPasskeys {
    #[tracing::instrument(name = "pg.passkeys.list", level = "debug", skip_all)]
    async fn list(&self, client: ClientId, user: UserId) -> anyhow::Result<Vec<StoredPasskey>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let rows: Vec<PasskeyRow> = passkeys::table
            .filter(passkeys::client_id.eq(client.as_uuid()))
            .filter(passkeys::user_id.eq(user.as_uuid()))
            .order(passkeys::created_at.asc())
            .select(PasskeyRow::as_select())
            .load(&mut conn)
            .await
            .context("listing passkeys")?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    #[tracing::instrument(name = "pg.passkeys.find_by_credential", level = "debug", skip_all)]
    async fn find_by_credential(
        &self,
        client: ClientId,
        credential_id: &[u8],
    ) -> anyhow::Result<Option<StoredPasskey>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        Ok(passkeys::table
            .filter(passkeys::client_id.eq(client.as_uuid()))
            .filter(passkeys::credential_id.eq(credential_id))
            .select(PasskeyRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("finding a passkey")?
            .map(Into::into))
    }

    #[tracing::instrument(name = "pg.passkeys.record_use", level = "debug", skip_all)]
    async fn record_use(
        &self,
        id: Uuid,
        passkey: &Value,
        previous: u32,
        sign_count: u32,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let n = diesel::update(
            passkeys::table
                .filter(passkeys::id.eq(id))
                .filter(passkeys::sign_count.eq(i64::from(previous))),
        )
        .set((
            passkeys::passkey.eq(passkey),
            passkeys::sign_count.eq(i64::from(sign_count)),
            passkeys::last_used_at.eq(Some(at)),
        ))
        .execute(&mut conn)
        .await
        .context("recording a passkey login")?;
        Ok(n > 0)
    }
}

// ------------------------------------------------------------------ writes (unit of work)

/// Stores a new passkey; `false` when its credential is already registered with the client.
pub(super) async fn insert(tx: &mut AsyncPgConnection, p: &StoredPasskey) -> QueryResult<bool> {
    let row = PasskeyRow {
        id: p.id,
        client_id: p.client_id.as_uuid(),
        user_id: p.user_id.as_uuid(),
        credential_id: p.credential_id.clone(),
        passkey: p.passkey.clone(),
        name: p.name.clone(),
        sign_count: i64::from(p.sign_count),
        attestation_format: p.attestation_format.clone(),
        backed_up: p.backed_up,
        created_at: p.created_at,
        last_used_at: p.last_used_at,
    };
    diesel::insert_into(passkeys::table)
        .values(&row)
        .on_conflict_do_nothing()
        .execute(tx)
        .await
        .map(|n| n > 0)
}

/// Renames passkey `id` of the user; `false` when there is none.
pub(super) async fn rename(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    user: UserId,
    id: Uuid,
    name: &str,
) -> QueryResult<bool> {
    diesel::update(
        passkeys::table
            .filter(passkeys::client_id.eq(client.as_uuid()))
            .filter(passkeys::user_id.eq(user.as_uuid()))
            .filter(passkeys::id.eq(id)),
    )
    .set(passkeys::name.eq(name))
    .execute(tx)
    .await
    .map(|n| n > 0)
}

/// Deletes passkey `id` of the user; `false` when there is none.
pub(super) async fn delete(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    user: UserId,
    id: Uuid,
) -> QueryResult<bool> {
    diesel::delete(
        passkeys::table
            .filter(passkeys::client_id.eq(client.as_uuid()))
            .filter(passkeys::user_id.eq(user.as_uuid()))
            .filter(passkeys::id.eq(id)),
    )
    .execute(tx)
    .await
    .map(|n| n > 0)
}
