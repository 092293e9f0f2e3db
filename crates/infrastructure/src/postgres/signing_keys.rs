//! `client_signing_keys`: read side for the token adapter (writes happen with the client).

use anyhow::Context;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
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

    /// Public JWKs of keys that verify tokens (active or published) of active clients.
    pub async fn published(&self, client: Option<Uuid>) -> anyhow::Result<Vec<Value>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let mut query = client_signing_keys::table
            .inner_join(clients::table)
            .filter(clients::status.eq("active"))
            .filter(client_signing_keys::status.eq_any(["active", "published"]))
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
