//! `service_accounts` and `service_account_keys`: machine identities of a client; a key's
//! secret only as its SHA-256 (unique, so a secret finds its key in one indexed lookup).

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::pagination::PageRequest;
use authservice_application::ports::ServiceAccountRepository;
use authservice_domain::service_account::{
    ServiceAccount, ServiceAccountKey, ServiceAccountStatus,
};
use authservice_domain::{ClientId, ClientName};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::PgPool;
use super::schema::{service_account_keys as keys, service_accounts as accounts};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = accounts)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct AccountRow {
    id: Uuid,
    client_id: Uuid,
    name: String,
    scopes: Vec<String>,
    status: String,
    tokens_valid_after: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl AccountRow {
    fn of(a: &ServiceAccount) -> Self {
        Self {
            id: a.id,
            client_id: a.client_id.as_uuid(),
            name: a.name.as_str().to_owned(),
            scopes: a.scopes.clone(),
            status: a.status.as_str().to_owned(),
            tokens_valid_after: a.tokens_valid_after,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }

    fn into_account(self) -> anyhow::Result<ServiceAccount> {
        Ok(ServiceAccount {
            id: self.id,
            client_id: ClientId::from_uuid(self.client_id),
            name: ClientName::parse(&self.name).context("stored service account name")?,
            scopes: self.scopes,
            status: ServiceAccountStatus::parse(&self.status)
                .context("stored service account status")?,
            tokens_valid_after: self.tokens_valid_after,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = keys)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct KeyRow {
    id: Uuid,
    client_id: Uuid,
    service_account_id: Uuid,
    prefix: String,
    scopes: Option<Vec<String>>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl KeyRow {
    fn into_key(self) -> ServiceAccountKey {
        ServiceAccountKey {
            id: self.id,
            client_id: ClientId::from_uuid(self.client_id),
            service_account_id: self.service_account_id,
            prefix: self.prefix,
            scopes: self.scopes,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            created_at: self.created_at,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = keys)]
struct NewKeyRow {
    id: Uuid,
    client_id: Uuid,
    service_account_id: Uuid,
    prefix: String,
    secret_hash: Vec<u8>,
    scopes: Option<Vec<String>>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

fn insert_key(key: &ServiceAccountKey, secret_hash: &[u8; 32]) -> NewKeyRow {
    NewKeyRow {
        id: key.id,
        client_id: key.client_id.as_uuid(),
        service_account_id: key.service_account_id,
        prefix: key.prefix.clone(),
        secret_hash: secret_hash.to_vec(),
        scopes: key.scopes.clone(),
        expires_at: key.expires_at,
        revoked_at: key.revoked_at,
        created_at: key.created_at,
    }
}

pub struct PgServiceAccounts {
    pool: PgPool,
}

impl PgServiceAccounts {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl ServiceAccountRepository for PgServiceAccounts {
    #[tracing::instrument(name = "pg.service_accounts.list", level = "debug", skip_all)]
    async fn list(
        &self,
        client: ClientId,
        page: PageRequest,
    ) -> anyhow::Result<Vec<ServiceAccount>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let mut query = accounts::table
            .filter(accounts::client_id.eq(client.as_uuid()))
            .order(accounts::id.asc())
            .limit(i64::try_from(page.limit + 1).unwrap_or(i64::MAX))
            .select(AccountRow::as_select())
            .into_boxed();
        if let Some(after) = page.after {
            query = query.filter(accounts::id.gt(after));
        }
        let rows: Vec<AccountRow> = query
            .load(&mut conn)
            .await
            .context("listing service accounts")?;
        rows.into_iter().map(AccountRow::into_account).collect()
    }

    #[tracing::instrument(name = "pg.service_accounts.get", level = "debug", skip_all)]
    async fn get(&self, client: ClientId, id: Uuid) -> anyhow::Result<Option<ServiceAccount>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<AccountRow> = accounts::table
            .filter(accounts::client_id.eq(client.as_uuid()))
            .filter(accounts::id.eq(id))
            .select(AccountRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("loading service account")?;
        row.map(AccountRow::into_account).transpose()
    }

    #[tracing::instrument(name = "pg.service_accounts.keys", level = "debug", skip_all)]
    async fn keys(
        &self,
        client: ClientId,
        account: Uuid,
    ) -> anyhow::Result<Vec<ServiceAccountKey>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let rows: Vec<KeyRow> = keys::table
            .filter(keys::client_id.eq(client.as_uuid()))
            .filter(keys::service_account_id.eq(account))
            .order(keys::id.desc())
            .select(KeyRow::as_select())
            .load(&mut conn)
            .await
            .context("listing service account keys")?;
        Ok(rows.into_iter().map(KeyRow::into_key).collect())
    }

    #[tracing::instrument(name = "pg.service_accounts.by_secret", level = "debug", skip_all)]
    async fn by_secret(
        &self,
        secret_hash: &[u8; 32],
    ) -> anyhow::Result<Option<(ServiceAccount, ServiceAccountKey)>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<(AccountRow, KeyRow)> = keys::table
            .inner_join(
                accounts::table.on(accounts::id
                    .eq(keys::service_account_id)
                    .and(accounts::client_id.eq(keys::client_id))),
            )
            .filter(keys::secret_hash.eq(secret_hash.to_vec()))
            .select((AccountRow::as_select(), KeyRow::as_select()))
            .first(&mut conn)
            .await
            .optional()
            .context("looking up service account key")?;
        row.map(|(a, k)| Ok((a.into_account()?, k.into_key())))
            .transpose()
    }
}

// ------------------------------------------------------------------ writes (unit of work)

/// Stores a new account.
pub(super) async fn insert_account(
    tx: &mut AsyncPgConnection,
    account: &ServiceAccount,
) -> QueryResult<bool> {
    diesel::insert_into(accounts::table)
        .values(AccountRow::of(account))
        .execute(tx)
        .await?;
    Ok(true)
}

/// Stores the account's name, scopes, status and `tokens_valid_after`; `false` when gone.
pub(super) async fn update_account(
    tx: &mut AsyncPgConnection,
    account: &ServiceAccount,
) -> QueryResult<bool> {
    let row = AccountRow::of(account);
    let n = diesel::update(
        accounts::table
            .filter(accounts::client_id.eq(row.client_id))
            .filter(accounts::id.eq(row.id)),
    )
    .set((
        accounts::name.eq(&row.name),
        accounts::scopes.eq(&row.scopes),
        accounts::status.eq(&row.status),
        accounts::tokens_valid_after.eq(row.tokens_valid_after),
        accounts::updated_at.eq(row.updated_at),
    ))
    .execute(tx)
    .await?;
    Ok(n > 0)
}

/// Stores a new key unless the account is gone or holds `max_live` usable keys (the
/// account's row is locked: key changes of one account are serialized).
pub(super) async fn add_key(
    tx: &mut AsyncPgConnection,
    key: &ServiceAccountKey,
    secret_hash: &[u8; 32],
    max_live: usize,
) -> QueryResult<bool> {
    let now = key.created_at;
    // Serialize key changes of one account.
    let locked: Option<Uuid> = accounts::table
        .filter(accounts::client_id.eq(key.client_id.as_uuid()))
        .filter(accounts::id.eq(key.service_account_id))
        .select(accounts::id)
        .for_update()
        .first(tx)
        .await
        .optional()?;
    if locked.is_none() {
        return Ok(false);
    }
    let live: i64 = keys::table
        .filter(keys::client_id.eq(key.client_id.as_uuid()))
        .filter(keys::service_account_id.eq(key.service_account_id))
        .filter(keys::revoked_at.is_null())
        .filter(keys::expires_at.is_null().or(keys::expires_at.gt(now)))
        .count()
        .get_result(tx)
        .await?;
    if usize::try_from(live).unwrap_or(usize::MAX) >= max_live {
        return Ok(false);
    }
    diesel::insert_into(keys::table)
        .values(insert_key(key, secret_hash))
        .execute(tx)
        .await?;
    Ok(true)
}

/// Revokes a live key and voids the account's earlier tokens; `false` when there is none.
pub(super) async fn revoke_key(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    account: Uuid,
    key: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let n = diesel::update(
        keys::table
            .filter(keys::client_id.eq(client.as_uuid()))
            .filter(keys::service_account_id.eq(account))
            .filter(keys::id.eq(key))
            .filter(keys::revoked_at.is_null()),
    )
    .set(keys::revoked_at.eq(now))
    .execute(tx)
    .await?;
    if n == 0 {
        return Ok(false);
    }
    diesel::update(
        accounts::table
            .filter(accounts::client_id.eq(client.as_uuid()))
            .filter(accounts::id.eq(account)),
    )
    .set((
        accounts::tokens_valid_after.eq(now),
        accounts::updated_at.eq(now),
    ))
    .execute(tx)
    .await?;
    Ok(true)
}

/// Ends key `old` at `old_expires_at` (or earlier) and stores `new_key`; `false` when `old`
/// is not usable.
pub(super) async fn rotate_key(
    tx: &mut AsyncPgConnection,
    old: Uuid,
    old_expires_at: DateTime<Utc>,
    new_key: &ServiceAccountKey,
    secret_hash: &[u8; 32],
) -> QueryResult<bool> {
    let now = new_key.created_at;
    let current: Option<Option<DateTime<Utc>>> = keys::table
        .filter(keys::client_id.eq(new_key.client_id.as_uuid()))
        .filter(keys::service_account_id.eq(new_key.service_account_id))
        .filter(keys::id.eq(old))
        .filter(keys::revoked_at.is_null())
        .filter(keys::expires_at.is_null().or(keys::expires_at.gt(now)))
        .select(keys::expires_at)
        .for_update()
        .first(tx)
        .await
        .optional()?;
    let Some(current) = current else {
        return Ok(false);
    };
    let expires = current.map_or(old_expires_at, |at| at.min(old_expires_at));
    diesel::update(keys::table.filter(keys::id.eq(old)))
        .set(keys::expires_at.eq(expires))
        .execute(tx)
        .await?;
    diesel::insert_into(keys::table)
        .values(insert_key(new_key, secret_hash))
        .execute(tx)
        .await?;
    Ok(true)
}
