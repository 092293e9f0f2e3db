//! `client_signing_keys`: the key lifecycle (active → published until `retires_at` → retired)
//! and the read side of the token adapter. A client's first key is written with the client.

use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::ports::{SealedSigningKey, SigningKeyInfo, SigningKeyStore};
use authservice_domain::ClientId;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::PgPool;
use super::schema::{client_signing_keys, clients};

/// A stored key; the private half is still sealed.
#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = client_signing_keys)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct StoredKey {
    pub kid: String,
    pub client_id: Uuid,
    pub alg: String,
    pub private_key_sealed: Vec<u8>,
    pub public_jwk: Value,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub retires_at: Option<DateTime<Utc>>,
}

impl StoredKey {
    /// Whether the key verifies tokens at `now`.
    #[must_use]
    pub fn verifies_at(&self, now: DateTime<Utc>) -> bool {
        match self.status.as_str() {
            "active" => true,
            "published" => self.retires_at.is_some_and(|t| t > now),
            _ => false,
        }
    }
}

#[derive(Clone)]
pub struct PgSigningKeys {
    pool: PgPool,
}

impl PgSigningKeys {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The key that signs new tokens of `client`.
    pub async fn active_for(&self, client: Uuid) -> anyhow::Result<Option<StoredKey>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        client_signing_keys::table
            .filter(client_signing_keys::client_id.eq(client))
            .filter(client_signing_keys::status.eq("active"))
            .select(StoredKey::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("loading active signing key")
    }

    pub async fn by_kid(&self, kid: &str) -> anyhow::Result<Option<StoredKey>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        client_signing_keys::table
            .filter(client_signing_keys::kid.eq(kid))
            .select(StoredKey::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("loading signing key")
    }

    /// Public JWKs of keys that verify tokens now (active, or published and not yet past
    /// `retires_at`) of active clients.
    pub async fn published(&self, client: Option<Uuid>) -> anyhow::Result<Vec<Value>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let now = Utc::now();
        let mut query = client_signing_keys::table
            .inner_join(clients::table)
            .filter(clients::status.eq("active"))
            .filter(
                client_signing_keys::status
                    .eq("active")
                    .or(client_signing_keys::status
                        .eq("published")
                        .and(client_signing_keys::retires_at.gt(now))),
            )
            .select(client_signing_keys::public_jwk)
            .order((
                client_signing_keys::client_id,
                client_signing_keys::created_at,
            ))
            .into_boxed();
        if let Some(client) = client {
            query = query.filter(client_signing_keys::client_id.eq(client));
        }
        query
            .load(&mut conn)
            .await
            .context("listing published keys")
    }
}

#[async_trait]
impl SigningKeyStore for PgSigningKeys {
    #[tracing::instrument(name = "pg.signing_keys.list", level = "debug", skip_all)]
    async fn list(
        &self,
        client: ClientId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<SigningKeyInfo>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let keys: Vec<StoredKey> = client_signing_keys::table
            .filter(client_signing_keys::client_id.eq(client.as_uuid()))
            .order(client_signing_keys::created_at.desc())
            .select(StoredKey::as_select())
            .load(&mut conn)
            .await
            .context("listing signing keys")?;
        Ok(keys
            .into_iter()
            .map(|k| SigningKeyInfo {
                status: if k.status == "active" || k.verifies_at(now) {
                    k.status.clone()
                } else {
                    "retired".to_owned()
                },
                kid: k.kid,
                alg: k.alg,
                created_at: k.created_at,
                retires_at: k.retires_at,
            })
            .collect())
    }
}

// ------------------------------------------------------------------ writes (unit of work)

/// Makes `new_key` the client's active key; the previous one stays published until
/// `now + overlap` (retired at once when zero).
pub(super) async fn rotate(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    new_key: &SealedSigningKey,
    overlap: Duration,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let retires_at = now
        + chrono::Duration::from_std(overlap)
            .map_err(|e| DieselError::SerializationError(Box::new(e)))?;
    let old_status = if overlap.is_zero() {
        "retired"
    } else {
        "published"
    };
    diesel::update(
        client_signing_keys::table
            .filter(client_signing_keys::client_id.eq(client.as_uuid()))
            .filter(client_signing_keys::status.eq("active")),
    )
    .set((
        client_signing_keys::status.eq(old_status),
        client_signing_keys::retires_at.eq(retires_at),
    ))
    .execute(tx)
    .await?;
    diesel::insert_into(client_signing_keys::table)
        .values((
            client_signing_keys::kid.eq(&new_key.kid),
            client_signing_keys::client_id.eq(client.as_uuid()),
            client_signing_keys::alg.eq(&new_key.alg),
            client_signing_keys::private_key_sealed.eq(&new_key.private_key.0),
            client_signing_keys::public_jwk.eq(&new_key.public_jwk),
            client_signing_keys::status.eq("active"),
            client_signing_keys::created_at.eq(now),
        ))
        .execute(tx)
        .await
        .map(|n| n > 0)
}
