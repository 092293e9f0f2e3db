//! `scim_directories`: organizations' SCIM directories. The token is kept only as its SHA-256
//! (looked up with the directory id) and a prefix.

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::pagination::PageRequest;
use authservice_application::ports::ScimDirectoryRepository;
use authservice_domain::ClientId;
use authservice_domain::organization::OrganizationId;
use authservice_domain::scim::{DirectoryStatus, ScimDirectory};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::PgPool;
use super::schema::scim_directories as dirs;

#[derive(Queryable, Selectable)]
#[diesel(table_name = dirs)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct DirectoryRow {
    id: Uuid,
    client_id: Uuid,
    organization_id: Uuid,
    name: String,
    status: String,
    token_prefix: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    last_sync_at: Option<DateTime<Utc>>,
}

impl DirectoryRow {
    fn into_domain(self) -> anyhow::Result<ScimDirectory> {
        Ok(ScimDirectory {
            id: self.id,
            client_id: ClientId::from_uuid(self.client_id),
            organization_id: OrganizationId::from_uuid(self.organization_id),
            name: self.name,
            status: DirectoryStatus::parse(&self.status).context("stored directory status")?,
            token_prefix: self.token_prefix,
            created_at: self.created_at,
            updated_at: self.updated_at,
            last_sync_at: self.last_sync_at,
        })
    }
}

pub struct PgScimDirectories {
    pool: PgPool,
}

impl PgScimDirectories {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl ScimDirectoryRepository for PgScimDirectories {
    #[tracing::instrument(name = "pg.scim.list", level = "debug", skip_all)]
    async fn list(
        &self,
        client: ClientId,
        org: Option<OrganizationId>,
        page: PageRequest,
    ) -> anyhow::Result<Vec<ScimDirectory>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let mut query = dirs::table
            .filter(dirs::client_id.eq(client.as_uuid()))
            .order(dirs::id.asc())
            .limit(i64::try_from(page.limit + 1).unwrap_or(i64::MAX))
            .select(DirectoryRow::as_select())
            .into_boxed();
        if let Some(org) = org {
            query = query.filter(dirs::organization_id.eq(org.as_uuid()));
        }
        if let Some(after) = page.after {
            query = query.filter(dirs::id.gt(after));
        }
        let rows: Vec<DirectoryRow> = query
            .load(&mut conn)
            .await
            .context("listing SCIM directories")?;
        rows.into_iter().map(DirectoryRow::into_domain).collect()
    }

    #[tracing::instrument(name = "pg.scim.get", level = "debug", skip_all)]
    async fn get(&self, client: ClientId, id: Uuid) -> anyhow::Result<Option<ScimDirectory>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<DirectoryRow> = dirs::table
            .filter(dirs::client_id.eq(client.as_uuid()))
            .filter(dirs::id.eq(id))
            .select(DirectoryRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("loading a SCIM directory")?;
        row.map(DirectoryRow::into_domain).transpose()
    }

    #[tracing::instrument(name = "pg.scim.count", level = "debug", skip_all)]
    async fn count(&self, client: ClientId, org: OrganizationId) -> anyhow::Result<usize> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let n: i64 = dirs::table
            .filter(dirs::client_id.eq(client.as_uuid()))
            .filter(dirs::organization_id.eq(org.as_uuid()))
            .count()
            .get_result(&mut conn)
            .await
            .context("counting SCIM directories")?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    #[tracing::instrument(name = "pg.scim.authenticate", level = "debug", skip_all)]
    async fn authenticate(
        &self,
        id: Uuid,
        token_hash: &[u8; 32],
    ) -> anyhow::Result<Option<ScimDirectory>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<DirectoryRow> = dirs::table
            .filter(dirs::id.eq(id))
            .filter(dirs::token_hash.eq(token_hash.as_slice()))
            .select(DirectoryRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("authenticating a SCIM directory")?;
        row.map(DirectoryRow::into_domain).transpose()
    }

    #[tracing::instrument(name = "pg.scim.touch", level = "debug", skip_all)]
    async fn touch(&self, id: Uuid, at: DateTime<Utc>) -> anyhow::Result<()> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let stale = at - ScimDirectory::SYNC_RECORDED_EVERY;
        diesel::update(
            dirs::table.filter(dirs::id.eq(id)).filter(
                dirs::last_sync_at
                    .is_null()
                    .or(dirs::last_sync_at.lt(stale)),
            ),
        )
        .set(dirs::last_sync_at.eq(at))
        .execute(&mut conn)
        .await
        .context("recording a SCIM directory's sync")?;
        Ok(())
    }
}

/// Stores a new directory; `false` never (a duplicate id or token is a unique violation).
pub(super) async fn insert(
    tx: &mut AsyncPgConnection,
    d: &ScimDirectory,
    token_hash: &[u8; 32],
) -> QueryResult<bool> {
    diesel::insert_into(dirs::table)
        .values((
            dirs::id.eq(d.id),
            dirs::client_id.eq(d.client_id.as_uuid()),
            dirs::organization_id.eq(d.organization_id.as_uuid()),
            dirs::name.eq(&d.name),
            dirs::status.eq(d.status.as_str()),
            dirs::token_hash.eq(token_hash.as_slice()),
            dirs::token_prefix.eq(&d.token_prefix),
            dirs::created_at.eq(d.created_at),
            dirs::updated_at.eq(d.updated_at),
        ))
        .execute(tx)
        .await
        .map(|n| n > 0)
}

/// Stores the directory's name and status; `false` when it is gone.
pub(super) async fn update(tx: &mut AsyncPgConnection, d: &ScimDirectory) -> QueryResult<bool> {
    diesel::update(
        dirs::table
            .filter(dirs::client_id.eq(d.client_id.as_uuid()))
            .filter(dirs::id.eq(d.id)),
    )
    .set((
        dirs::name.eq(&d.name),
        dirs::status.eq(d.status.as_str()),
        dirs::updated_at.eq(d.updated_at),
    ))
    .execute(tx)
    .await
    .map(|n| n > 0)
}

/// Replaces the directory's token; `false` when it is gone.
pub(super) async fn set_token(
    tx: &mut AsyncPgConnection,
    d: &ScimDirectory,
    token_hash: &[u8; 32],
) -> QueryResult<bool> {
    diesel::update(
        dirs::table
            .filter(dirs::client_id.eq(d.client_id.as_uuid()))
            .filter(dirs::id.eq(d.id)),
    )
    .set((
        dirs::token_hash.eq(token_hash.as_slice()),
        dirs::token_prefix.eq(&d.token_prefix),
        dirs::updated_at.eq(d.updated_at),
    ))
    .execute(tx)
    .await
    .map(|n| n > 0)
}
