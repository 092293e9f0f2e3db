//! An organization's authorization: the current policy on the organization row (with its
//! version, changed by one conditional UPDATE), every version in `organization_policy_versions`,
//! group mappings, and members' groups.

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::ports::{OrgAuthorizationRepository, OrgWriteError, PolicyVersion};
use authservice_domain::organization::{
    AuthorizationPolicy, GroupMapping, GroupSource, MemberGroups, OrgRole, OrganizationId,
    groups_to_value,
};
use authservice_domain::{AuditEvent, ClientId, UserId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::PgPool;
use super::audit::insert_event;
use super::organizations::rows::{TxError, write_error};
use super::schema::{
    organization_group_mappings, organization_invitations, organization_members,
    organization_policy_versions, organizations,
};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = organization_group_mappings)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct MappingRow {
    id: Uuid,
    organization_id: Uuid,
    client_id: Uuid,
    source: String,
    group_name: String,
    role: Option<String>,
    permissions: Vec<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl MappingRow {
    fn into_mapping(self) -> anyhow::Result<GroupMapping> {
        Ok(GroupMapping {
            id: self.id,
            organization_id: OrganizationId::from_uuid(self.organization_id),
            client_id: ClientId::from_uuid(self.client_id),
            source: GroupSource::parse(&self.source).context("stored mapping source")?,
            group: self.group_name,
            role: self
                .role
                .as_deref()
                .map(OrgRole::parse)
                .transpose()
                .context("stored mapping role")?,
            permissions: self.permissions,
        })
    }
}

fn version(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// Whether a member, a pending invitation or a group mapping of `org` uses `role`.
async fn role_in_use(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    org: OrganizationId,
    role: &OrgRole,
    at: DateTime<Utc>,
) -> QueryResult<bool> {
    let members: i64 = organization_members::table
        .filter(organization_members::client_id.eq(client.as_uuid()))
        .filter(organization_members::organization_id.eq(org.as_uuid()))
        .filter(organization_members::role.eq(role.as_str()))
        .count()
        .get_result(tx)
        .await?;
    let invitations: i64 = organization_invitations::table
        .filter(organization_invitations::client_id.eq(client.as_uuid()))
        .filter(organization_invitations::organization_id.eq(org.as_uuid()))
        .filter(organization_invitations::role.eq(role.as_str()))
        .filter(organization_invitations::accepted_at.is_null())
        .filter(organization_invitations::revoked_at.is_null())
        .filter(organization_invitations::expires_at.gt(at))
        .count()
        .get_result(tx)
        .await?;
    let mappings: i64 = organization_group_mappings::table
        .filter(organization_group_mappings::client_id.eq(client.as_uuid()))
        .filter(organization_group_mappings::organization_id.eq(org.as_uuid()))
        .filter(organization_group_mappings::role.eq(role.as_str()))
        .count()
        .get_result(tx)
        .await?;
    Ok(members + invitations + mappings > 0)
}

pub struct PgOrgAuthorization {
    pool: PgPool,
}

impl PgOrgAuthorization {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl OrgAuthorizationRepository for PgOrgAuthorization {
    #[tracing::instrument(name = "pg.org_authorization.set_policy", level = "debug", skip_all)]
    async fn set_policy(
        &self,
        client: ClientId,
        org: OrganizationId,
        policy: &AuthorizationPolicy,
        dropped: &[OrgRole],
        by: UserId,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, TxError, _>(async |tx| {
            let document = policy.to_value();
            let n = diesel::update(
                organizations::table
                    .filter(organizations::client_id.eq(client.as_uuid()))
                    .filter(organizations::id.eq(org.as_uuid()))
                    .filter(organizations::policy_version.eq(version(policy.version) - 1)),
            )
            .set((
                organizations::authorization_policy.eq(&document),
                organizations::policy_version.eq(version(policy.version)),
                organizations::updated_at.eq(at),
            ))
            .execute(tx)
            .await?;
            if n == 0 {
                return Err(TxError::Refused(OrgWriteError::Conflict));
            }
            // The UPDATE holds the organization row: no membership change runs meanwhile.
            for role in dropped {
                if role_in_use(tx, client, org, role, at).await? {
                    return Err(TxError::Refused(OrgWriteError::RoleInUse(
                        role.as_str().to_owned(),
                    )));
                }
            }
            diesel::insert_into(organization_policy_versions::table)
                .values((
                    organization_policy_versions::organization_id.eq(org.as_uuid()),
                    organization_policy_versions::client_id.eq(client.as_uuid()),
                    organization_policy_versions::version.eq(version(policy.version)),
                    organization_policy_versions::policy.eq(&document),
                    organization_policy_versions::created_by.eq(Some(by.as_uuid())),
                    organization_policy_versions::created_at.eq(at),
                ))
                .execute(tx)
                .await?;
            insert_event(tx, audit).await?;
            Ok(())
        })
        .await
        .map_err(|e| write_error(e, "storing policy"))
    }

    #[tracing::instrument(
        name = "pg.org_authorization.policy_versions",
        level = "debug",
        skip_all
    )]
    async fn policy_versions(
        &self,
        client: ClientId,
        org: OrganizationId,
    ) -> anyhow::Result<Vec<PolicyVersion>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let rows: Vec<(i32, DateTime<Utc>, Option<Uuid>)> = organization_policy_versions::table
            .filter(organization_policy_versions::client_id.eq(client.as_uuid()))
            .filter(organization_policy_versions::organization_id.eq(org.as_uuid()))
            .order(organization_policy_versions::version.desc())
            .select((
                organization_policy_versions::version,
                organization_policy_versions::created_at,
                organization_policy_versions::created_by,
            ))
            .load(&mut conn)
            .await
            .context("listing policy versions")?;
        Ok(rows
            .into_iter()
            .map(|(v, created_at, by)| PolicyVersion {
                version: u32::try_from(v).unwrap_or(0),
                created_at,
                created_by: by.map(UserId::from_uuid),
            })
            .collect())
    }

    #[tracing::instrument(
        name = "pg.org_authorization.policy_version",
        level = "debug",
        skip_all
    )]
    async fn policy_version(
        &self,
        client: ClientId,
        org: OrganizationId,
        wanted: u32,
    ) -> anyhow::Result<Option<AuthorizationPolicy>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let document: Option<Value> = organization_policy_versions::table
            .filter(organization_policy_versions::client_id.eq(client.as_uuid()))
            .filter(organization_policy_versions::organization_id.eq(org.as_uuid()))
            .filter(organization_policy_versions::version.eq(version(wanted)))
            .select(organization_policy_versions::policy)
            .first(&mut conn)
            .await
            .optional()
            .context("reading a policy version")?;
        document
            .map(|d| {
                AuthorizationPolicy::stored(&d, wanted)
                    .map_err(|e| anyhow::anyhow!("stored policy version: {}", e.message))
            })
            .transpose()
    }

    #[tracing::instrument(
        name = "pg.org_authorization.group_mappings",
        level = "debug",
        skip_all
    )]
    async fn group_mappings(
        &self,
        client: ClientId,
        org: OrganizationId,
    ) -> anyhow::Result<Vec<GroupMapping>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let rows: Vec<MappingRow> = organization_group_mappings::table
            .filter(organization_group_mappings::client_id.eq(client.as_uuid()))
            .filter(organization_group_mappings::organization_id.eq(org.as_uuid()))
            .order(organization_group_mappings::id.asc())
            .select(MappingRow::as_select())
            .load(&mut conn)
            .await
            .context("listing group mappings")?;
        rows.into_iter().map(MappingRow::into_mapping).collect()
    }

    #[tracing::instrument(
        name = "pg.org_authorization.save_group_mapping",
        level = "debug",
        skip_all
    )]
    async fn save_group_mapping(
        &self,
        mapping: &GroupMapping,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let now = audit.occurred_at;
        conn.transaction::<_, TxError, _>(async |tx| {
            let row = MappingRow {
                id: mapping.id,
                organization_id: mapping.organization_id.as_uuid(),
                client_id: mapping.client_id.as_uuid(),
                source: mapping.source.as_str().to_owned(),
                group_name: mapping.group.clone(),
                role: mapping.role.as_ref().map(|r| r.as_str().to_owned()),
                permissions: mapping.permissions.clone(),
                created_at: now,
                updated_at: now,
            };
            diesel::insert_into(organization_group_mappings::table)
                .values(&row)
                .on_conflict(organization_group_mappings::id)
                .do_update()
                .set((
                    organization_group_mappings::source.eq(&row.source),
                    organization_group_mappings::group_name.eq(&row.group_name),
                    organization_group_mappings::role.eq(&row.role),
                    organization_group_mappings::permissions.eq(&row.permissions),
                    organization_group_mappings::updated_at.eq(now),
                ))
                .execute(tx)
                .await?;
            insert_event(tx, audit).await?;
            Ok(())
        })
        .await
        .map_err(|e| write_error(e, "storing group mapping"))
    }

    #[tracing::instrument(
        name = "pg.org_authorization.delete_group_mapping",
        level = "debug",
        skip_all
    )]
    async fn delete_group_mapping(
        &self,
        client: ClientId,
        org: OrganizationId,
        id: Uuid,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, TxError, _>(async |tx| {
            let n = diesel::delete(
                organization_group_mappings::table
                    .filter(organization_group_mappings::client_id.eq(client.as_uuid()))
                    .filter(organization_group_mappings::organization_id.eq(org.as_uuid()))
                    .filter(organization_group_mappings::id.eq(id)),
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
        .map_err(|e| write_error(e, "deleting group mapping"))
    }

    #[tracing::instrument(
        name = "pg.org_authorization.set_member_groups",
        level = "debug",
        skip_all
    )]
    async fn set_member_groups(
        &self,
        client: ClientId,
        org: OrganizationId,
        user: UserId,
        groups: &MemberGroups,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, TxError, _>(async |tx| {
            let n = diesel::update(
                organization_members::table
                    .filter(organization_members::client_id.eq(client.as_uuid()))
                    .filter(organization_members::organization_id.eq(org.as_uuid()))
                    .filter(organization_members::user_id.eq(user.as_uuid())),
            )
            .set(organization_members::groups.eq(groups_to_value(groups)))
            .execute(tx)
            .await?;
            if n == 0 {
                return Err(TxError::Refused(OrgWriteError::NotFound));
            }
            insert_event(tx, audit).await?;
            Ok(())
        })
        .await
        .map_err(|e| write_error(e, "setting member groups"))
    }
}
