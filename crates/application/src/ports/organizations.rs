use async_trait::async_trait;
use authservice_domain::organization::{
    AuthorizationPolicy, GroupMapping, Invitation, MemberGroups, Membership, OrgRef, OrgRole,
    Organization, OrganizationId,
};
use authservice_domain::{AuditEvent, ClientId, UserId};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::pagination::PageRequest;

/// What a membership change was authorized against: the member's role and the policy version
/// the caller's permissions were read under. The adapter refuses (`Conflict`) when either moved
/// before its transaction, so no decision is made on stale facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedMember {
    pub role: OrgRole,
    pub policy_version: u32,
}

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
    /// Another change came first (a policy version, a mapping's group, the member's role).
    #[error("conflicting change")]
    Conflict,
    /// A role the new policy drops is still held by a member, a pending invitation or a mapping.
    #[error("role {0} is still assigned")]
    RoleInUse(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Organizations and their memberships (one aggregate: an organization owns its members).
/// Every method is scoped by client; an organization of another client does not exist here.
/// Organizations are created, changed and deleted through [`super::UnitOfWork`]; membership
/// changes, serialized per organization, stay here.
#[async_trait]
pub trait OrganizationRepository: Send + Sync {
    /// One page of the client's organizations, oldest first: up to `page.limit + 1` after the
    /// cursor (operators).
    ///
    /// # Errors
    /// The store failed.
    async fn list_for_client(
        &self,
        client: ClientId,
        page: PageRequest,
    ) -> anyhow::Result<Vec<Organization>>;

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
    /// `NotFound` (not a member), `Conflict` (`checked` is out of date), `LastOwner` (the only
    /// owner would be demoted), or `Unexpected`.
    async fn change_role(
        &self,
        client: ClientId,
        org: OrganizationId,
        user: UserId,
        checked: &CheckedMember,
        role: &OrgRole,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError>;

    /// Removes `user` from `org`, with the audit event; serialized like `change_role`.
    ///
    /// # Errors
    /// `NotFound` (not a member), `Conflict` (`checked` is out of date), `LastOwner` (the only
    /// owner), or `Unexpected`.
    async fn remove_member(
        &self,
        client: ClientId,
        org: OrganizationId,
        user: UserId,
        checked: &CheckedMember,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError>;
}

/// One version in an organization's policy history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    pub version: u32,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<UserId>,
}

/// An organization's authorization: its versioned policy, its group mappings and its
/// members' groups (the same aggregate as the organization).
#[async_trait]
pub trait OrgAuthorizationRepository: Send + Sync {
    /// Makes `policy` (whose `version` is the next one) the organization's current policy and
    /// keeps it in the history, with the audit event — only if the current version is still
    /// `policy.version - 1`, and none of the `dropped` roles is in use (checked under the same
    /// lock as membership changes).
    ///
    /// # Errors
    /// `Conflict` (another change came first), `RoleInUse`, `NotFound`, or `Unexpected`.
    #[allow(clippy::too_many_arguments)]
    async fn set_policy(
        &self,
        client: ClientId,
        org: OrganizationId,
        policy: &AuthorizationPolicy,
        dropped: &[OrgRole],
        by: UserId,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError>;

    /// The policy history, newest first.
    ///
    /// # Errors
    /// The store failed.
    async fn policy_versions(
        &self,
        client: ClientId,
        org: OrganizationId,
    ) -> anyhow::Result<Vec<PolicyVersion>>;

    /// One earlier (or the current) version of the policy.
    ///
    /// # Errors
    /// The store failed.
    async fn policy_version(
        &self,
        client: ClientId,
        org: OrganizationId,
        version: u32,
    ) -> anyhow::Result<Option<AuthorizationPolicy>>;

    /// The organization's group mappings, oldest first.
    ///
    /// # Errors
    /// The store failed.
    async fn group_mappings(
        &self,
        client: ClientId,
        org: OrganizationId,
    ) -> anyhow::Result<Vec<GroupMapping>>;

    /// Creates or replaces (by id) a group mapping, with the audit event.
    ///
    /// # Errors
    /// `Conflict` (another mapping has its source and group), or `Unexpected`.
    async fn save_group_mapping(
        &self,
        mapping: &GroupMapping,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError>;

    /// Deletes group mapping `id` of `org`, with the audit event.
    ///
    /// # Errors
    /// `NotFound`, or `Unexpected`.
    async fn delete_group_mapping(
        &self,
        client: ClientId,
        org: OrganizationId,
        id: Uuid,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError>;

    /// Replaces a member's groups, with the audit event.
    ///
    /// # Errors
    /// `NotFound` (not a member), or `Unexpected`.
    async fn set_member_groups(
        &self,
        client: ClientId,
        org: OrganizationId,
        user: UserId,
        groups: &MemberGroups,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError>;
}

/// What presenting an invitation token did.
#[derive(Debug, Clone)]
pub enum AcceptOutcome {
    /// The invitation was pending and is now accepted; the user is a member.
    Accepted,
    /// The invitation is no longer pending (accepted, revoked or expired meanwhile).
    NotPending(Invitation),
    /// The user is a member already; nothing changed.
    AlreadyMember,
}

/// Invitations into organizations (their own aggregate: an emailed single-use token). Scoped
/// by client like organizations.
#[async_trait]
pub trait InvitationRepository: Send + Sync {
    /// One page of `org`'s invitations, oldest first: up to `page.limit + 1` after the cursor.
    ///
    /// # Errors
    /// The store failed.
    async fn list(
        &self,
        client: ClientId,
        org: OrganizationId,
        page: PageRequest,
    ) -> anyhow::Result<Vec<Invitation>>;

    /// The invitation whose token hashes to `token_hash`, whatever its state or client.
    ///
    /// # Errors
    /// The store failed.
    async fn find_by_token(&self, token_hash: &[u8; 32]) -> anyhow::Result<Option<Invitation>>;

    /// Revokes invitation `id` of `org` if it is still pending (with the audit event); the
    /// invitation as it is afterwards, `None` when there is no such invitation.
    ///
    /// # Errors
    /// The store failed.
    async fn revoke(
        &self,
        client: ClientId,
        org: OrganizationId,
        id: Uuid,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<Option<Invitation>>;

    /// Accepts the invitation `id` for `member` (its user and role) if it is still pending at
    /// `at` — one conditional update, so a token works once — adding the membership and the
    /// audit event in the same transaction.
    ///
    /// # Errors
    /// The store failed (nothing is written).
    async fn accept(
        &self,
        id: Uuid,
        member: &Membership,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<AcceptOutcome>;
}
