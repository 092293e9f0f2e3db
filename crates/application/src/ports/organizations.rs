use async_trait::async_trait;
use authservice_domain::organization::{Membership, OrgRef, OrgRole, Organization, OrganizationId};
use authservice_domain::{AuditEvent, ClientId, UserId};

use crate::pagination::PageRequest;

/// A member as member lists show one: the membership with the user's address and name.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberView {
    pub membership: Membership,
    pub email: String,
    pub display_name: Option<String>,
}

/// Why an organization write was refused.
#[derive(Debug, thiserror::Error)]
pub enum OrgWriteError {
    #[error("the slug is taken in this client")]
    SlugTaken,
    #[error("no such organization or member")]
    NotFound,
    /// The change would leave the organization without an owner.
    #[error("the last owner can be neither removed nor demoted")]
    LastOwner,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Organizations and their memberships (one aggregate: an organization owns its members).
/// Every method is scoped by client; an organization of another client does not exist here.
#[async_trait]
pub trait OrganizationRepository: Send + Sync {
    /// Creates `org` with its first member (`owner`) and the audit event, in one transaction.
    ///
    /// # Errors
    /// `SlugTaken`, or `Unexpected`.
    async fn create(
        &self,
        org: &Organization,
        owner: &Membership,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError>;

    /// The organizations `user` belongs to, with the membership, oldest membership first.
    ///
    /// # Errors
    /// The store failed.
    async fn list_for_user(
        &self,
        client: ClientId,
        user: UserId,
    ) -> anyhow::Result<Vec<(Organization, Membership)>>;

    /// The organization `org` of `client`, with `user`'s membership in it if there is one.
    ///
    /// # Errors
    /// The store failed.
    async fn find(
        &self,
        client: ClientId,
        org: &OrgRef,
        user: UserId,
    ) -> anyhow::Result<Option<(Organization, Option<Membership>)>>;

    /// Stores the name, slug, metadata and logo of `org` with its audit event.
    ///
    /// # Errors
    /// `NotFound`, `SlugTaken`, or `Unexpected`.
    async fn update(&self, org: &Organization, audit: &AuditEvent) -> Result<(), OrgWriteError>;

    /// Deletes `org` with its memberships (their organization tokens stop validating), with
    /// the audit event.
    ///
    /// # Errors
    /// `NotFound`, or `Unexpected`.
    async fn delete(
        &self,
        client: ClientId,
        org: OrganizationId,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError>;

    /// One page of members in joining order: up to `page.limit + 1` rows after the cursor
    /// (the extra row tells that more exist).
    ///
    /// # Errors
    /// The store failed.
    async fn members(
        &self,
        client: ClientId,
        org: OrganizationId,
        page: PageRequest,
    ) -> anyhow::Result<Vec<MemberView>>;

    /// One member of `org`.
    ///
    /// # Errors
    /// The store failed.
    async fn member(
        &self,
        client: ClientId,
        org: OrganizationId,
        user: UserId,
    ) -> anyhow::Result<Option<MemberView>>;

    /// Gives `user` the role `role`, with the audit event. Membership changes of one
    /// organization are serialized, so concurrent demotions cannot leave it without an owner.
    ///
    /// # Errors
    /// `NotFound` (not a member), `LastOwner` (the only owner would be demoted), or
    /// `Unexpected`.
    async fn change_role(
        &self,
        client: ClientId,
        org: OrganizationId,
        user: UserId,
        role: &OrgRole,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError>;

    /// Removes `user` from `org`, with the audit event; serialized like `change_role`.
    ///
    /// # Errors
    /// `NotFound` (not a member), `LastOwner` (the only owner), or `Unexpected`.
    async fn remove_member(
        &self,
        client: ClientId,
        org: OrganizationId,
        user: UserId,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError>;
}
