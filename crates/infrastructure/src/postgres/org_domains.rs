//! `organization_domains`: the domains organizations claim; at most one verified claim per
//! domain and client (a partial unique index, and the verifying UPDATE's own condition).

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::pagination::PageRequest;
use authservice_application::ports::OrgDomainRepository;
use authservice_domain::ClientId;
use authservice_domain::organization::{DomainStatus, OrgDomain, OrganizationId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::PgPool;
use super::schema::organization_domains as domains;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = domains)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct DomainRow {
    id: Uuid,
    client_id: Uuid,
    organization_id: Uuid,
    domain: String,
    status: String,
    txt_name: String,
    txt_value: String,
    created_at: DateTime<Utc>,
    verified_at: Option<DateTime<Utc>>,
}

impl DomainRow {
    fn of(d: &OrgDomain) -> Self {
        Self {
            id: d.id,
            client_id: d.client_id.as_uuid(),
            organization_id: d.organization_id.as_uuid(),
            domain: d.domain.clone(),
            status: d.status.as_str().to_owned(),
            txt_name: d.txt_name.clone(),
            txt_value: d.txt_value.clone(),
            created_at: d.created_at,
            verified_at: d.verified_at,
        }
    }

    fn into_domain(self) -> anyhow::Result<OrgDomain> {
        Ok(OrgDomain {
            id: self.id,
            client_id: ClientId::from_uuid(self.client_id),
            organization_id: OrganizationId::from_uuid(self.organization_id),
            domain: self.domain,
            status: DomainStatus::parse(&self.status).context("stored domain status")?,
            txt_name: self.txt_name,
            txt_value: self.txt_value,
            created_at: self.created_at,
            verified_at: self.verified_at,
        })
    }
}

pub struct PgOrgDomains {
    pool: PgPool,
}

impl PgOrgDomains {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl OrgDomainRepository for PgOrgDomains {
    #[tracing::instrument(name = "pg.org_domains.list", level = "debug", skip_all)]
    async fn list(
        &self,
        client: ClientId,
        org: Option<OrganizationId>,
        page: PageRequest,
    ) -> anyhow::Result<Vec<OrgDomain>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let mut query = domains::table
            .filter(domains::client_id.eq(client.as_uuid()))
            .order(domains::id.asc())
            .limit(i64::try_from(page.limit + 1).unwrap_or(i64::MAX))
            .select(DomainRow::as_select())
            .into_boxed();
        if let Some(org) = org {
            query = query.filter(domains::organization_id.eq(org.as_uuid()));
        }
        if let Some(after) = page.after {
            query = query.filter(domains::id.gt(after));
        }
        let rows: Vec<DomainRow> = query.load(&mut conn).await.context("listing domains")?;
        rows.into_iter().map(DomainRow::into_domain).collect()
    }

    #[tracing::instrument(name = "pg.org_domains.verified_elsewhere", level = "debug", skip_all)]
    async fn verified_elsewhere(
        &self,
        client: ClientId,
        org: OrganizationId,
        domain: &str,
    ) -> anyhow::Result<bool> {
        use diesel::dsl::exists;
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        diesel::select(exists(
            domains::table
                .filter(domains::client_id.eq(client.as_uuid()))
                .filter(domains::domain.eq(domain))
                .filter(domains::status.eq(DomainStatus::Verified.as_str()))
                .filter(domains::organization_id.ne(org.as_uuid())),
        ))
        .get_result(&mut conn)
        .await
        .context("checking a domain")
    }

    #[tracing::instrument(name = "pg.org_domains.verified_for", level = "debug", skip_all)]
    async fn verified_for(
        &self,
        client: ClientId,
        domain: &str,
    ) -> anyhow::Result<Option<OrganizationId>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let org: Option<Uuid> = domains::table
            .filter(domains::client_id.eq(client.as_uuid()))
            .filter(domains::domain.eq(domain))
            .filter(domains::status.eq(DomainStatus::Verified.as_str()))
            .select(domains::organization_id)
            .first(&mut conn)
            .await
            .optional()
            .context("finding a verified domain")?;
        Ok(org.map(OrganizationId::from_uuid))
    }

    #[tracing::instrument(name = "pg.org_domains.count", level = "debug", skip_all)]
    async fn count(&self, client: ClientId, org: OrganizationId) -> anyhow::Result<usize> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let n: i64 = domains::table
            .filter(domains::client_id.eq(client.as_uuid()))
            .filter(domains::organization_id.eq(org.as_uuid()))
            .count()
            .get_result(&mut conn)
            .await
            .context("counting domains")?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    #[tracing::instrument(name = "pg.org_domains.get", level = "debug", skip_all)]
    async fn get(&self, client: ClientId, id: Uuid) -> anyhow::Result<Option<OrgDomain>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<DomainRow> = domains::table
            .filter(domains::client_id.eq(client.as_uuid()))
            .filter(domains::id.eq(id))
            .select(DomainRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("loading a domain")?;
        row.map(DomainRow::into_domain).transpose()
    }
}

// ------------------------------------------------------------------ writes (unit of work)

/// Stores a new claim; `false` when the organization claims the domain already.
pub(super) async fn insert(tx: &mut AsyncPgConnection, d: &OrgDomain) -> QueryResult<bool> {
    diesel::insert_into(domains::table)
        .values(DomainRow::of(d))
        .on_conflict((domains::organization_id, domains::domain))
        .do_nothing()
        .execute(tx)
        .await
        .map(|n| n > 0)
}

/// Marks a pending claim verified; `false` when it is gone, verified already, or the domain is
/// verified for another organization of the client.
pub(super) async fn verify(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    id: Uuid,
    at: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::sql_query(
        "UPDATE organization_domains d SET status = 'verified', verified_at = $3 \
         WHERE d.id = $2 AND d.client_id = $1 AND d.status = 'pending' \
         AND NOT EXISTS (SELECT 1 FROM organization_domains o WHERE o.client_id = $1 \
         AND o.domain = d.domain AND o.status = 'verified')",
    )
    .bind::<diesel::sql_types::Uuid, _>(client.as_uuid())
    .bind::<diesel::sql_types::Uuid, _>(id)
    .bind::<diesel::sql_types::Timestamptz, _>(at)
    .execute(tx)
    .await
    .map(|n| n > 0)
}

/// Deletes a claim; `false` when there was none.
pub(super) async fn delete(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    id: Uuid,
) -> QueryResult<bool> {
    diesel::delete(
        domains::table
            .filter(domains::client_id.eq(client.as_uuid()))
            .filter(domains::id.eq(id)),
    )
    .execute(tx)
    .await
    .map(|n| n > 0)
}
