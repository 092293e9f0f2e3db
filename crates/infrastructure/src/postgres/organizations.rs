//! `organizations` and `organization_members`. Every query names the client; the foreign keys
//! carry it too, so a membership can only join an organization and a user of one client.

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::pagination::PageRequest;
use authservice_application::ports::{MemberView, OrgWriteError, OrganizationRepository};
use authservice_domain::organization::{
    AuthorizationPolicy, LogoUrl, Membership, OrgRef, OrgRole, Organization, OrganizationId,
    SecurityPolicy, groups_from_value, groups_to_value,
};
use authservice_domain::{AuditEvent, ClientId, ClientName, Slug, UserId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::PgPool;
use super::audit::insert_event;
use super::schema::{organization_members, organizations, users};

const SLUG_CONSTRAINT: &str = "organizations_client_slug_key";

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct OrgRow {
    id: Uuid,
    client_id: Uuid,
    name: String,
    slug: String,
    metadata: Value,
    logo_url: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    security_policy: Value,
    authorization_policy: Value,
    policy_version: i32,
}

impl OrgRow {
    fn of(org: &Organization) -> Self {
        Self {
            id: org.id.as_uuid(),
            client_id: org.client_id.as_uuid(),
            name: org.name.as_str().to_owned(),
            slug: org.slug.as_str().to_owned(),
            metadata: org.metadata.clone(),
            logo_url: org.logo_url.as_ref().map(|l| l.as_str().to_owned()),
            created_at: org.created_at,
            updated_at: org.updated_at,
            security_policy: org.security.to_value(),
            authorization_policy: org.policy.to_value(),
            policy_version: i32::try_from(org.policy.version).unwrap_or(i32::MAX),
        }
    }

    fn into_org(self) -> anyhow::Result<Organization> {
        Ok(Organization {
            id: OrganizationId::from_uuid(self.id),
            client_id: ClientId::from_uuid(self.client_id),
            name: ClientName::parse(&self.name).context("stored organization name")?,
            slug: Slug::parse(&self.slug).context("stored organization slug")?,
            metadata: self.metadata,
            logo_url: self
                .logo_url
                .as_deref()
                .map(LogoUrl::parse)
                .transpose()
                .context("stored logo URL")?,
            security: SecurityPolicy::parse(&self.security_policy)
                .context("stored security policy")?,
            policy: AuthorizationPolicy::stored(
                &self.authorization_policy,
                u32::try_from(self.policy_version).unwrap_or(0),
            )
            .map_err(|e| anyhow::anyhow!("stored authorization policy: {}", e.message))?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = organization_members)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct MemberRow {
    id: Uuid,
    organization_id: Uuid,
    client_id: Uuid,
    user_id: Uuid,
    role: String,
    joined_at: DateTime<Utc>,
    groups: Value,
}

impl MemberRow {
    fn of(m: &Membership) -> Self {
        Self {
            id: m.id,
            organization_id: m.organization_id.as_uuid(),
            client_id: m.client_id.as_uuid(),
            user_id: m.user_id.as_uuid(),
            role: m.role.as_str().to_owned(),
            joined_at: m.joined_at,
            groups: groups_to_value(&m.groups),
        }
    }

    fn into_membership(self) -> anyhow::Result<Membership> {
        Ok(Membership {
            id: self.id,
            organization_id: OrganizationId::from_uuid(self.organization_id),
            client_id: ClientId::from_uuid(self.client_id),
            user_id: UserId::from_uuid(self.user_id),
            role: OrgRole::parse(&self.role).context("stored role")?,
            groups: groups_from_value(&self.groups),
            joined_at: self.joined_at,
        })
    }
}

fn member_view(
    (row, email, display_name): (MemberRow, String, Option<String>),
) -> anyhow::Result<MemberView> {
    Ok(MemberView {
        membership: row.into_membership()?,
        email,
        display_name,
    })
}

/// A refusal inside a transaction, or the database's error.
enum TxError {
    Refused(OrgWriteError),
    Db(DieselError),
}

impl From<DieselError> for TxError {
    fn from(err: DieselError) -> Self {
        Self::Db(err)
    }
}

fn write_error(err: TxError, what: &'static str) -> OrgWriteError {
    match err {
        TxError::Refused(refusal) => refusal,
        TxError::Db(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info))
            if info.constraint_name() == Some(SLUG_CONSTRAINT) =>
        {
            OrgWriteError::SlugTaken
        }
        TxError::Db(err) => OrgWriteError::Unexpected(anyhow::Error::new(err).context(what)),
    }
}

/// Locks the organization row: membership changes of one organization run one at a time, so
/// the owner count read next stays true until the transaction ends.
async fn lock_org(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    org: OrganizationId,
) -> Result<(), TxError> {
    organizations::table
        .filter(organizations::client_id.eq(client.as_uuid()))
        .filter(organizations::id.eq(org.as_uuid()))
        .select(organizations::id)
        .for_update()
        .first::<Uuid>(tx)
        .await
        .optional()?
        .map(|_| ())
        .ok_or(TxError::Refused(OrgWriteError::NotFound))
}

/// The member's role, and whether they are the only owner.
async fn role_and_last_owner(
    tx: &mut AsyncPgConnection,
    org: OrganizationId,
    user: UserId,
) -> Result<(String, bool), TxError> {
    let members =
        organization_members::table.filter(organization_members::organization_id.eq(org.as_uuid()));
    let role: String = members
        .filter(organization_members::user_id.eq(user.as_uuid()))
        .select(organization_members::role)
        .first(tx)
        .await
        .optional()?
        .ok_or(TxError::Refused(OrgWriteError::NotFound))?;
    if role != OrgRole::OWNER {
        return Ok((role, false));
    }
    let owners: i64 = members
        .filter(organization_members::role.eq(OrgRole::OWNER))
        .count()
        .get_result(tx)
        .await?;
    Ok((role, owners <= 1))
}

pub struct PgOrganizations {
    pool: PgPool,
}

impl PgOrganizations {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl OrganizationRepository for PgOrganizations {
    #[tracing::instrument(name = "pg.organizations.create", level = "debug", skip_all)]
    async fn create(
        &self,
        org: &Organization,
        owner: &Membership,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, TxError, _>(async |tx| {
            diesel::insert_into(organizations::table)
                .values(OrgRow::of(org))
                .execute(tx)
                .await?;
            diesel::insert_into(organization_members::table)
                .values(MemberRow::of(owner))
                .execute(tx)
                .await?;
            insert_event(tx, audit).await?;
            Ok(())
        })
        .await
        .map_err(|e| write_error(e, "creating organization"))
    }

    #[tracing::instrument(name = "pg.organizations.list_for_client", level = "debug", skip_all)]
    async fn list_for_client(
        &self,
        client: ClientId,
        page: PageRequest,
    ) -> anyhow::Result<Vec<Organization>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let mut query = organizations::table
            .filter(organizations::client_id.eq(client.as_uuid()))
            .order(organizations::id.asc())
            .limit(i64::try_from(page.limit + 1).unwrap_or(i64::MAX))
            .select(OrgRow::as_select())
            .into_boxed();
        if let Some(after) = page.after {
            query = query.filter(organizations::id.gt(after));
        }
        let rows: Vec<OrgRow> = query
            .load(&mut conn)
            .await
            .context("listing a client's organizations")?;
        rows.into_iter().map(OrgRow::into_org).collect()
    }

    #[tracing::instrument(name = "pg.organizations.list_for_user", level = "debug", skip_all)]
    async fn list_for_user(
        &self,
        client: ClientId,
        user: UserId,
    ) -> anyhow::Result<Vec<(Organization, Membership)>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let rows: Vec<(OrgRow, MemberRow)> = organizations::table
            .inner_join(organization_members::table)
            .filter(organization_members::client_id.eq(client.as_uuid()))
            .filter(organization_members::user_id.eq(user.as_uuid()))
            .order(organization_members::id.asc())
            .select((OrgRow::as_select(), MemberRow::as_select()))
            .load(&mut conn)
            .await
            .context("listing organizations")?;
        rows.into_iter()
            .map(|(org, member)| Ok((org.into_org()?, member.into_membership()?)))
            .collect()
    }

    #[tracing::instrument(name = "pg.organizations.find", level = "debug", skip_all)]
    async fn find(
        &self,
        client: ClientId,
        org: &OrgRef,
        user: UserId,
    ) -> anyhow::Result<Option<(Organization, Option<Membership>)>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let query = organizations::table
            .filter(organizations::client_id.eq(client.as_uuid()))
            .into_boxed();
        let query = match org {
            OrgRef::Id(id) => query.filter(organizations::id.eq(id.as_uuid())),
            OrgRef::Slug(slug) => query.filter(organizations::slug.eq(slug.as_str())),
        };
        let row: Option<(OrgRow, Option<MemberRow>)> = query
            .left_join(
                organization_members::table.on(organization_members::organization_id
                    .eq(organizations::id)
                    .and(organization_members::user_id.eq(user.as_uuid()))),
            )
            .select((OrgRow::as_select(), Option::<MemberRow>::as_select()))
            .first(&mut conn)
            .await
            .optional()
            .context("finding organization")?;
        row.map(|(org, member)| {
            Ok((
                org.into_org()?,
                member.map(MemberRow::into_membership).transpose()?,
            ))
        })
        .transpose()
    }

    #[tracing::instrument(name = "pg.organizations.update", level = "debug", skip_all)]
    async fn update(&self, org: &Organization, audit: &AuditEvent) -> Result<(), OrgWriteError> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, TxError, _>(async |tx| {
            let n = diesel::update(
                organizations::table
                    .filter(organizations::client_id.eq(org.client_id.as_uuid()))
                    .filter(organizations::id.eq(org.id.as_uuid())),
            )
            // Its own fields only: the policy changes through `set_policy`, versioned.
            .set((
                organizations::name.eq(org.name.as_str()),
                organizations::slug.eq(org.slug.as_str()),
                organizations::metadata.eq(&org.metadata),
                organizations::logo_url.eq(org.logo_url.as_ref().map(|l| l.as_str())),
                organizations::security_policy.eq(org.security.to_value()),
                organizations::updated_at.eq(org.updated_at),
            ))
            .execute(tx)
            .await?;
            if n == 0 {
                return Err(TxError::Refused(OrgWriteError::NotFound));
            }
            insert_event(tx, audit).await?;
            Ok(())
        })
        .await
        .map_err(|e| write_error(e, "updating organization"))
    }

    #[tracing::instrument(name = "pg.organizations.delete", level = "debug", skip_all)]
    async fn delete(
        &self,
        client: ClientId,
        org: OrganizationId,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, TxError, _>(async |tx| {
            // Memberships go with it (ON DELETE CASCADE).
            let n = diesel::delete(
                organizations::table
                    .filter(organizations::client_id.eq(client.as_uuid()))
                    .filter(organizations::id.eq(org.as_uuid())),
            )
            .execute(tx)
            .await?;
            if n == 0 {
                return Err(TxError::Refused(OrgWriteError::NotFound));
            }
            insert_event(tx, audit).await?;
            Ok(())
        })
        .await
        .map_err(|e| write_error(e, "deleting organization"))
    }

    #[tracing::instrument(name = "pg.organizations.members", level = "debug", skip_all)]
    async fn members(
        &self,
        client: ClientId,
        org: OrganizationId,
        page: PageRequest,
    ) -> anyhow::Result<Vec<MemberView>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let mut query = organization_members::table
            .inner_join(users::table)
            .filter(organization_members::client_id.eq(client.as_uuid()))
            .filter(organization_members::organization_id.eq(org.as_uuid()))
            .order(organization_members::id.asc())
            .limit(i64::try_from(page.limit + 1).unwrap_or(i64::MAX))
            .select((MemberRow::as_select(), users::email, users::display_name))
            .into_boxed();
        if let Some(after) = page.after {
            query = query.filter(organization_members::id.gt(after));
        }
        let rows: Vec<(MemberRow, String, Option<String>)> =
            query.load(&mut conn).await.context("listing members")?;
        rows.into_iter().map(member_view).collect()
    }

    #[tracing::instrument(name = "pg.organizations.member", level = "debug", skip_all)]
    async fn member(
        &self,
        client: ClientId,
        org: OrganizationId,
        user: UserId,
    ) -> anyhow::Result<Option<MemberView>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<(MemberRow, String, Option<String>)> = organization_members::table
            .inner_join(users::table)
            .filter(organization_members::client_id.eq(client.as_uuid()))
            .filter(organization_members::organization_id.eq(org.as_uuid()))
            .filter(organization_members::user_id.eq(user.as_uuid()))
            .select((MemberRow::as_select(), users::email, users::display_name))
            .first(&mut conn)
            .await
            .optional()
            .context("finding member")?;
        row.map(member_view).transpose()
    }

    #[tracing::instrument(name = "pg.organizations.change_role", level = "debug", skip_all)]
    async fn change_role(
        &self,
        client: ClientId,
        org: OrganizationId,
        user: UserId,
        role: &OrgRole,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, TxError, _>(async |tx| {
            lock_org(tx, client, org).await?;
            let (current, last_owner) = role_and_last_owner(tx, org, user).await?;
            if last_owner && !role.is_owner() {
                return Err(TxError::Refused(OrgWriteError::LastOwner));
            }
            if current != role.as_str() {
                diesel::update(
                    organization_members::table
                        .filter(organization_members::organization_id.eq(org.as_uuid()))
                        .filter(organization_members::user_id.eq(user.as_uuid())),
                )
                .set(organization_members::role.eq(role.as_str()))
                .execute(tx)
                .await?;
                insert_event(tx, audit).await?;
            }
            Ok(())
        })
        .await
        .map_err(|e| write_error(e, "changing a member's role"))
    }

    #[tracing::instrument(name = "pg.organizations.remove_member", level = "debug", skip_all)]
    async fn remove_member(
        &self,
        client: ClientId,
        org: OrganizationId,
        user: UserId,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, TxError, _>(async |tx| {
            lock_org(tx, client, org).await?;
            let (_, last_owner) = role_and_last_owner(tx, org, user).await?;
            if last_owner {
                return Err(TxError::Refused(OrgWriteError::LastOwner));
            }
            diesel::delete(
                organization_members::table
                    .filter(organization_members::organization_id.eq(org.as_uuid()))
                    .filter(organization_members::user_id.eq(user.as_uuid())),
            )
            .execute(tx)
            .await?;
            insert_event(tx, audit).await?;
            Ok(())
        })
        .await
        .map_err(|e| write_error(e, "removing a member"))
    }
}
