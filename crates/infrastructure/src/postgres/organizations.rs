//! `organizations` and `organization_members`. Every query names the client; the foreign keys
//! carry it too, so a membership can only join an organization and a user of one client.

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::pagination::PageRequest;
use authservice_application::ports::{
    CheckedMember, MemberView, OrgWriteError, OrganizationRepository,
};
use authservice_domain::organization::{
    AuthorizationPolicy, LogoUrl, MemberGroups, Membership, OrgRef, OrgRole, Organization,
    OrganizationId, SecurityPolicy, groups_from_value, groups_to_value,
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

pub(super) mod rows;

use rows::*;

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
        checked: &CheckedMember,
        role: &OrgRole,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, TxError, _>(async |tx| {
            let (current, last_owner) = lock_org(tx, client, org, checked, user).await?;
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
        checked: &CheckedMember,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, TxError, _>(async |tx| {
            let (_, last_owner) = lock_org(tx, client, org, checked, user).await?;
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

// ------------------------------------------------------------------ writes (unit of work)

/// Stores a new organization with its first member (a taken slug is a unique violation).
pub(super) async fn create(
    tx: &mut AsyncPgConnection,
    org: &Organization,
    owner: &Membership,
) -> QueryResult<bool> {
    diesel::insert_into(organizations::table)
        .values(OrgRow::of(org))
        .execute(tx)
        .await?;
    diesel::insert_into(organization_members::table)
        .values(MemberRow::of(owner))
        .execute(tx)
        .await
        .map(|n| n > 0)
}

/// Adds a member; nothing when they are one already.
pub(super) async fn add_member(tx: &mut AsyncPgConnection, member: &Membership) -> QueryResult<()> {
    diesel::insert_into(organization_members::table)
        .values(MemberRow::of(member))
        .on_conflict((
            organization_members::organization_id,
            organization_members::user_id,
        ))
        .do_nothing()
        .execute(tx)
        .await
        .map(|_| ())
}

/// Replaces a member's groups; `false` when they are not a member.
pub(super) async fn set_member_groups(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    org: OrganizationId,
    user: UserId,
    groups: &MemberGroups,
) -> QueryResult<bool> {
    diesel::update(
        organization_members::table
            .filter(organization_members::client_id.eq(client.as_uuid()))
            .filter(organization_members::organization_id.eq(org.as_uuid()))
            .filter(organization_members::user_id.eq(user.as_uuid())),
    )
    .set(organization_members::groups.eq(groups_to_value(groups)))
    .execute(tx)
    .await
    .map(|n| n > 0)
}

/// Stores the organization's own fields; `false` when it is gone.
pub(super) async fn update(tx: &mut AsyncPgConnection, org: &Organization) -> QueryResult<bool> {
    diesel::update(
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
        organizations::updated_at.eq(org.updated_at),
    ))
    .execute(tx)
    .await
    .map(|n| n > 0)
}

/// Stores the organization's security policy; `false` when it is gone.
pub(super) async fn set_security_policy(
    tx: &mut AsyncPgConnection,
    org: &Organization,
) -> QueryResult<bool> {
    diesel::update(
        organizations::table
            .filter(organizations::client_id.eq(org.client_id.as_uuid()))
            .filter(organizations::id.eq(org.id.as_uuid())),
    )
    .set((
        organizations::security_policy.eq(org.security.to_value()),
        organizations::updated_at.eq(org.updated_at),
    ))
    .execute(tx)
    .await
    .map(|n| n > 0)
}

/// Deletes the organization (its memberships go with it: ON DELETE CASCADE); `false` when
/// there was none.
pub(super) async fn delete(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    org: OrganizationId,
) -> QueryResult<bool> {
    diesel::delete(
        organizations::table
            .filter(organizations::client_id.eq(client.as_uuid()))
            .filter(organizations::id.eq(org.as_uuid())),
    )
    .execute(tx)
    .await
    .map(|n| n > 0)
}
