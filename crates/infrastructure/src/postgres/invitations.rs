//! `organization_invitations`: the token only as its SHA-256 hash; accepting is one
//! conditional UPDATE, so a token works once.

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::pagination::PageRequest;
use authservice_application::ports::{AcceptOutcome, InvitationRepository};
use authservice_domain::organization::{Invitation, Membership, OrgRole, OrganizationId};
use authservice_domain::{AuditEvent, ClientId, Email, UserId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::PgPool;
use super::audit::insert_event;
use super::schema::{organization_invitations, organization_members};

#[derive(Queryable, Selectable)]
#[diesel(table_name = organization_invitations)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct InvitationRow {
    id: Uuid,
    organization_id: Uuid,
    client_id: Uuid,
    email: String,
    role: String,
    invited_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    accepted_at: Option<DateTime<Utc>>,
    accepted_by: Option<Uuid>,
    revoked_at: Option<DateTime<Utc>>,
}

impl InvitationRow {
    fn into_invitation(self) -> anyhow::Result<Invitation> {
        Ok(Invitation {
            id: self.id,
            organization_id: OrganizationId::from_uuid(self.organization_id),
            client_id: ClientId::from_uuid(self.client_id),
            email: Email::parse(&self.email).context("stored invitation email")?,
            role: OrgRole::parse(&self.role).context("stored invitation role")?,
            invited_by: self.invited_by.map(UserId::from_uuid),
            created_at: self.created_at,
            expires_at: self.expires_at,
            accepted_at: self.accepted_at,
            accepted_by: self.accepted_by.map(UserId::from_uuid),
            revoked_at: self.revoked_at,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = organization_invitations)]
struct NewInvitationRow<'a> {
    id: Uuid,
    organization_id: Uuid,
    client_id: Uuid,
    email: &'a str,
    role: &'a str,
    token_hash: &'a [u8],
    invited_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

pub struct PgInvitations {
    pool: PgPool,
}

impl PgInvitations {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// Pending: neither accepted nor revoked (expiry is checked against the caller's clock).
macro_rules! pending {
    () => {
        organization_invitations::accepted_at
            .is_null()
            .and(organization_invitations::revoked_at.is_null())
    };
}

#[async_trait]
impl InvitationRepository for PgInvitations {
    #[tracing::instrument(name = "pg.invitations.list", level = "debug", skip_all)]
    async fn list(
        &self,
        client: ClientId,
        org: OrganizationId,
        page: PageRequest,
    ) -> anyhow::Result<Vec<Invitation>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let mut query = organization_invitations::table
            .filter(organization_invitations::client_id.eq(client.as_uuid()))
            .filter(organization_invitations::organization_id.eq(org.as_uuid()))
            .order(organization_invitations::id.asc())
            .limit(i64::try_from(page.limit + 1).unwrap_or(i64::MAX))
            .select(InvitationRow::as_select())
            .into_boxed();
        if let Some(after) = page.after {
            query = query.filter(organization_invitations::id.gt(after));
        }
        let rows: Vec<InvitationRow> =
            query.load(&mut conn).await.context("listing invitations")?;
        rows.into_iter()
            .map(InvitationRow::into_invitation)
            .collect()
    }

    #[tracing::instrument(name = "pg.invitations.find_by_token", level = "debug", skip_all)]
    async fn find_by_token(&self, token_hash: &[u8; 32]) -> anyhow::Result<Option<Invitation>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<InvitationRow> = organization_invitations::table
            .filter(organization_invitations::token_hash.eq(token_hash.as_slice()))
            .select(InvitationRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("finding invitation")?;
        row.map(InvitationRow::into_invitation).transpose()
    }

    #[tracing::instrument(name = "pg.invitations.revoke", level = "debug", skip_all)]
    async fn revoke(
        &self,
        client: ClientId,
        org: OrganizationId,
        id: Uuid,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<Option<Invitation>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row = conn
            .transaction::<_, DieselError, _>(async |tx| {
                let target = organization_invitations::table
                    .filter(organization_invitations::client_id.eq(client.as_uuid()))
                    .filter(organization_invitations::organization_id.eq(org.as_uuid()))
                    .filter(organization_invitations::id.eq(id));
                let n = diesel::update(target.filter(pending!()))
                    .set(organization_invitations::revoked_at.eq(at))
                    .execute(tx)
                    .await?;
                if n > 0 {
                    insert_event(tx, audit).await?;
                }
                target
                    .select(InvitationRow::as_select())
                    .first::<InvitationRow>(tx)
                    .await
                    .optional()
            })
            .await
            .context("revoking invitation")?;
        row.map(InvitationRow::into_invitation).transpose()
    }

    #[tracing::instrument(name = "pg.invitations.accept", level = "debug", skip_all)]
    async fn accept(
        &self,
        id: Uuid,
        member: &Membership,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<AcceptOutcome> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let outcome = conn
            .transaction::<_, DieselError, _>(async |tx| {
                let target = organization_invitations::table
                    .filter(organization_invitations::id.eq(id))
                    .filter(organization_invitations::client_id.eq(member.client_id.as_uuid()));
                let n = diesel::update(
                    target
                        .filter(pending!())
                        .filter(organization_invitations::expires_at.gt(at)),
                )
                .set((
                    organization_invitations::accepted_at.eq(at),
                    organization_invitations::accepted_by.eq(member.user_id.as_uuid()),
                ))
                .execute(tx)
                .await?;
                if n == 0 {
                    let row = target
                        .select(InvitationRow::as_select())
                        .first::<InvitationRow>(tx)
                        .await?;
                    return Ok(Err(row));
                }
                let inserted = diesel::insert_into(organization_members::table)
                    .values((
                        organization_members::id.eq(member.id),
                        organization_members::organization_id.eq(member.organization_id.as_uuid()),
                        organization_members::client_id.eq(member.client_id.as_uuid()),
                        organization_members::user_id.eq(member.user_id.as_uuid()),
                        organization_members::role.eq(member.role.as_str()),
                        organization_members::joined_at.eq(member.joined_at),
                    ))
                    .execute(tx)
                    .await;
                match inserted {
                    Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                        // A member already: the invitation stays pending.
                        Err(DieselError::RollbackTransaction)
                    }
                    Err(e) => Err(e),
                    Ok(_) => {
                        insert_event(tx, audit).await?;
                        Ok(Ok(()))
                    }
                }
            })
            .await;
        match outcome {
            Ok(Ok(())) => Ok(AcceptOutcome::Accepted),
            Ok(Err(row)) => Ok(AcceptOutcome::NotPending(row.into_invitation()?)),
            Err(DieselError::RollbackTransaction) => Ok(AcceptOutcome::AlreadyMember),
            Err(e) => Err(e).context("accepting invitation"),
        }
    }
}

// ------------------------------------------------------------------ writes (unit of work)

/// Stores an invitation, revoking the earlier pending ones of the same address into the same
/// organization.
pub(super) async fn create(
    tx: &mut AsyncPgConnection,
    invitation: &Invitation,
    token_hash: &[u8; 32],
) -> QueryResult<bool> {
    diesel::update(
        organization_invitations::table
            .filter(organization_invitations::client_id.eq(invitation.client_id.as_uuid()))
            .filter(
                organization_invitations::organization_id.eq(invitation.organization_id.as_uuid()),
            )
            .filter(organization_invitations::email.eq(invitation.email.as_str()))
            .filter(pending!()),
    )
    .set(organization_invitations::revoked_at.eq(invitation.created_at))
    .execute(tx)
    .await?;
    diesel::insert_into(organization_invitations::table)
        .values(NewInvitationRow {
            id: invitation.id,
            organization_id: invitation.organization_id.as_uuid(),
            client_id: invitation.client_id.as_uuid(),
            email: invitation.email.as_str(),
            role: invitation.role.as_str(),
            token_hash,
            invited_by: invitation.invited_by.map(|u| u.as_uuid()),
            created_at: invitation.created_at,
            expires_at: invitation.expires_at,
        })
        .execute(tx)
        .await
        .map(|n| n > 0)
}
