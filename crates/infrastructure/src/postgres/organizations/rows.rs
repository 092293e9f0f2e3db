//! The rows of `organizations` and `organization_members`, and the transaction helpers that
//! keep membership changes of one organization serialized.

#![allow(clippy::wildcard_imports)]

use super::*;

const SLUG_CONSTRAINT: &str = "organizations_client_slug_key";

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub(super) struct OrgRow {
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
    pub(super) fn of(org: &Organization) -> Self {
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

    pub(super) fn into_org(self) -> anyhow::Result<Organization> {
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
pub(super) struct MemberRow {
    id: Uuid,
    organization_id: Uuid,
    client_id: Uuid,
    user_id: Uuid,
    role: String,
    joined_at: DateTime<Utc>,
    groups: Value,
}

impl MemberRow {
    pub(super) fn of(m: &Membership) -> Self {
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

    pub(super) fn into_membership(self) -> anyhow::Result<Membership> {
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

pub(super) fn member_view(
    (row, email, display_name): (MemberRow, String, Option<String>),
) -> anyhow::Result<MemberView> {
    Ok(MemberView {
        membership: row.into_membership()?,
        email,
        display_name,
    })
}

/// A refusal inside a transaction, or the database's error (organization writes share it).
pub(in crate::postgres) enum TxError {
    Refused(OrgWriteError),
    Db(DieselError),
}

impl From<DieselError> for TxError {
    fn from(err: DieselError) -> Self {
        Self::Db(err)
    }
}

/// One group mapping per organization, source and group.
const MAPPING_CONSTRAINT: &str = "organization_group_mappings_key";

/// The answer for a failed organization write: the refusal, a taken slug, a second mapping of a
/// group, or an unexpected failure.
pub(in crate::postgres) fn write_error(err: TxError, what: &'static str) -> OrgWriteError {
    match err {
        TxError::Refused(refusal) => refusal,
        TxError::Db(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info))
            if info.constraint_name() == Some(SLUG_CONSTRAINT) =>
        {
            OrgWriteError::SlugTaken
        }
        TxError::Db(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info))
            if info.constraint_name() == Some(MAPPING_CONSTRAINT) =>
        {
            OrgWriteError::Conflict
        }
        TxError::Db(err) => OrgWriteError::Unexpected(anyhow::Error::new(err).context(what)),
    }
}

/// Locks the organization row — membership and policy changes of one organization run one at a
/// time, so the owner count stays true until the transaction ends — and returns the member's
/// role and whether they are the only owner, refusing when `checked` is out of date.
pub(super) async fn lock_org(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    org: OrganizationId,
    checked: &CheckedMember,
    user: UserId,
) -> Result<(String, bool), TxError> {
    let version: i32 = organizations::table
        .filter(organizations::client_id.eq(client.as_uuid()))
        .filter(organizations::id.eq(org.as_uuid()))
        .select(organizations::policy_version)
        .for_update()
        .first(tx)
        .await
        .optional()?
        .ok_or(TxError::Refused(OrgWriteError::NotFound))?;
    let (role, last_owner) = role_and_last_owner(tx, org, user).await?;
    // The caller's authority was checked against these: if they moved, decide again.
    if i64::from(version) != i64::from(checked.policy_version) || role != checked.role.as_str() {
        return Err(TxError::Refused(OrgWriteError::Conflict));
    }
    Ok((role, last_owner))
}

/// The member's role, and whether they are the only owner.
pub(super) async fn role_and_last_owner(
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
