//! The in-memory organizations and memberships.

use authservice_application::pagination::PageRequest;
use authservice_application::ports::{
    AcceptOutcome, InvitationRepository, MemberView, OrgAuthorizationRepository, OrgWriteError,
    OrganizationRepository, PolicyVersion,
};
use authservice_domain::organization::{
    AuthorizationPolicy, GroupMapping, Invitation, MemberGroups, Membership, OrgRef, OrgRole,
    Organization, OrganizationId,
};

use super::*;

impl State {
    fn member_view(&self, m: &Membership) -> Option<MemberView> {
        let (user, _) = self
            .users
            .iter()
            .find(|(u, _)| u.client_id == m.client_id && u.id == m.user_id)?;
        Some(MemberView {
            membership: m.clone(),
            email: user.email.as_str().to_owned(),
            display_name: user.display_name.clone(),
        })
    }

    /// The member's index, refusing when they are the only owner and `keeps_owner` is false.
    fn guarded_member(
        &self,
        client: ClientId,
        org: OrganizationId,
        user: UserId,
        keeps_owner: bool,
    ) -> Result<usize, OrgWriteError> {
        if !self
            .organizations
            .iter()
            .any(|o| o.client_id == client && o.id == org)
        {
            return Err(OrgWriteError::NotFound);
        }
        let i = self
            .members
            .iter()
            .position(|m| m.organization_id == org && m.user_id == user)
            .ok_or(OrgWriteError::NotFound)?;
        let owners = self
            .members
            .iter()
            .filter(|m| m.organization_id == org && m.role.is_owner())
            .count();
        if self.members[i].role.is_owner() && owners <= 1 && !keeps_owner {
            return Err(OrgWriteError::LastOwner);
        }
        Ok(i)
    }
}

#[async_trait]
impl OrganizationRepository for MemoryDb {
    async fn create(
        &self,
        org: &Organization,
        owner: &Membership,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let mut st = self.lock();
        if st
            .organizations
            .iter()
            .any(|o| o.client_id == org.client_id && o.slug == org.slug)
        {
            return Err(OrgWriteError::SlugTaken);
        }
        st.organizations.push(org.clone());
        st.members.push(owner.clone());
        st.audit.push(audit.clone());
        Ok(())
    }

    async fn list_for_client(
        &self,
        client: ClientId,
        page: PageRequest,
    ) -> anyhow::Result<Vec<Organization>> {
        let st = self.lock();
        let mut rows: Vec<Organization> = st
            .organizations
            .iter()
            .filter(|o| o.client_id == client)
            .filter(|o| page.after.is_none_or(|after| o.id.as_uuid() > after))
            .cloned()
            .collect();
        rows.sort_by_key(|o| o.id);
        rows.truncate(page.limit + 1);
        Ok(rows)
    }

    async fn list_for_user(
        &self,
        client: ClientId,
        user: UserId,
    ) -> anyhow::Result<Vec<(Organization, Membership)>> {
        let st = self.lock();
        Ok(st
            .members
            .iter()
            .filter(|m| m.client_id == client && m.user_id == user)
            .filter_map(|m| {
                st.organizations
                    .iter()
                    .find(|o| o.id == m.organization_id)
                    .map(|o| (o.clone(), m.clone()))
            })
            .collect())
    }

    async fn find(
        &self,
        client: ClientId,
        org: &OrgRef,
        user: UserId,
    ) -> anyhow::Result<Option<(Organization, Option<Membership>)>> {
        let st = self.lock();
        let found = st.organizations.iter().find(|o| {
            o.client_id == client
                && match org {
                    OrgRef::Id(id) => o.id == *id,
                    OrgRef::Slug(slug) => o.slug == *slug,
                }
        });
        Ok(found.map(|o| {
            let member = st
                .members
                .iter()
                .find(|m| m.organization_id == o.id && m.user_id == user)
                .cloned();
            (o.clone(), member)
        }))
    }

    async fn update(&self, org: &Organization, audit: &AuditEvent) -> Result<(), OrgWriteError> {
        let mut st = self.lock();
        if st
            .organizations
            .iter()
            .any(|o| o.client_id == org.client_id && o.slug == org.slug && o.id != org.id)
        {
            return Err(OrgWriteError::SlugTaken);
        }
        let stored = st
            .organizations
            .iter_mut()
            .find(|o| o.client_id == org.client_id && o.id == org.id)
            .ok_or(OrgWriteError::NotFound)?;
        *stored = org.clone();
        st.audit.push(audit.clone());
        Ok(())
    }

    async fn delete(
        &self,
        client: ClientId,
        org: OrganizationId,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let mut st = self.lock();
        let before = st.organizations.len();
        st.organizations
            .retain(|o| !(o.client_id == client && o.id == org));
        if st.organizations.len() == before {
            return Err(OrgWriteError::NotFound);
        }
        st.members.retain(|m| m.organization_id != org);
        st.audit.push(audit.clone());
        Ok(())
    }

    async fn members(
        &self,
        client: ClientId,
        org: OrganizationId,
        page: PageRequest,
    ) -> anyhow::Result<Vec<MemberView>> {
        let st = self.lock();
        let mut rows: Vec<&Membership> = st
            .members
            .iter()
            .filter(|m| m.client_id == client && m.organization_id == org)
            .filter(|m| page.after.is_none_or(|after| m.id > after))
            .collect();
        rows.sort_by_key(|m| m.id);
        Ok(rows
            .into_iter()
            .take(page.limit + 1)
            .filter_map(|m| st.member_view(m))
            .collect())
    }

    async fn member(
        &self,
        client: ClientId,
        org: OrganizationId,
        user: UserId,
    ) -> anyhow::Result<Option<MemberView>> {
        let st = self.lock();
        Ok(st
            .members
            .iter()
            .find(|m| m.client_id == client && m.organization_id == org && m.user_id == user)
            .and_then(|m| st.member_view(m)))
    }

    async fn change_role(
        &self,
        client: ClientId,
        org: OrganizationId,
        user: UserId,
        role: &OrgRole,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let mut st = self.lock();
        let i = st.guarded_member(client, org, user, role.is_owner())?;
        if st.members[i].role != *role {
            st.members[i].role = role.clone();
            st.audit.push(audit.clone());
        }
        Ok(())
    }

    async fn remove_member(
        &self,
        client: ClientId,
        org: OrganizationId,
        user: UserId,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let mut st = self.lock();
        let i = st.guarded_member(client, org, user, false)?;
        st.members.remove(i);
        st.audit.push(audit.clone());
        Ok(())
    }
}

#[async_trait]
impl InvitationRepository for MemoryDb {
    async fn create(
        &self,
        invitation: &Invitation,
        token_hash: &[u8; 32],
        email: &QueuedEmail,
        audit: &AuditEvent,
    ) -> anyhow::Result<()> {
        let mut st = self.lock();
        for (earlier, _) in &mut st.invitations {
            if earlier.organization_id == invitation.organization_id
                && earlier.email == invitation.email
                && earlier.accepted_at.is_none()
                && earlier.revoked_at.is_none()
            {
                earlier.revoked_at = Some(invitation.created_at);
            }
        }
        st.invitations.push((invitation.clone(), *token_hash));
        st.queue(email);
        st.audit.push(audit.clone());
        Ok(())
    }

    async fn list(
        &self,
        client: ClientId,
        org: OrganizationId,
        page: PageRequest,
    ) -> anyhow::Result<Vec<Invitation>> {
        let st = self.lock();
        let mut rows: Vec<Invitation> = st
            .invitations
            .iter()
            .map(|(i, _)| i)
            .filter(|i| i.client_id == client && i.organization_id == org)
            .filter(|i| page.after.is_none_or(|after| i.id > after))
            .cloned()
            .collect();
        rows.sort_by_key(|i| i.id);
        rows.truncate(page.limit + 1);
        Ok(rows)
    }

    async fn find_by_token(&self, token_hash: &[u8; 32]) -> anyhow::Result<Option<Invitation>> {
        Ok(self
            .lock()
            .invitations
            .iter()
            .find(|(_, hash)| hash == token_hash)
            .map(|(i, _)| i.clone()))
    }

    async fn revoke(
        &self,
        client: ClientId,
        org: OrganizationId,
        id: Uuid,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<Option<Invitation>> {
        let mut st = self.lock();
        let Some((invitation, _)) = st
            .invitations
            .iter_mut()
            .find(|(i, _)| i.client_id == client && i.organization_id == org && i.id == id)
        else {
            return Ok(None);
        };
        let revoked = invitation.accepted_at.is_none() && invitation.revoked_at.is_none();
        if revoked {
            invitation.revoked_at = Some(at);
        }
        let invitation = invitation.clone();
        if revoked {
            st.audit.push(audit.clone());
        }
        Ok(Some(invitation))
    }

    async fn accept(
        &self,
        id: Uuid,
        member: &Membership,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<AcceptOutcome> {
        let mut st = self.lock();
        let already = st
            .members
            .iter()
            .any(|m| m.organization_id == member.organization_id && m.user_id == member.user_id);
        let Some((invitation, _)) = st
            .invitations
            .iter_mut()
            .find(|(i, _)| i.id == id && i.client_id == member.client_id)
        else {
            anyhow::bail!("no invitation {id}");
        };
        if invitation.accepted_at.is_some()
            || invitation.revoked_at.is_some()
            || invitation.expires_at <= at
        {
            return Ok(AcceptOutcome::NotPending(invitation.clone()));
        }
        if already {
            return Ok(AcceptOutcome::AlreadyMember);
        }
        invitation.accepted_at = Some(at);
        invitation.accepted_by = Some(member.user_id);
        st.members.push(member.clone());
        st.audit.push(audit.clone());
        Ok(AcceptOutcome::Accepted)
    }
}

#[async_trait]
impl OrgAuthorizationRepository for MemoryDb {
    async fn set_policy(
        &self,
        client: ClientId,
        org: OrganizationId,
        policy: &AuthorizationPolicy,
        by: UserId,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let mut st = self.lock();
        let stored = st
            .organizations
            .iter_mut()
            .find(|o| o.client_id == client && o.id == org)
            .ok_or(OrgWriteError::NotFound)?;
        if stored.policy.version + 1 != policy.version {
            return Err(OrgWriteError::Conflict);
        }
        stored.policy = policy.clone();
        st.policy_versions.push((
            org,
            policy.clone(),
            PolicyVersion {
                version: policy.version,
                created_at: at,
                created_by: Some(by),
            },
        ));
        st.audit.push(audit.clone());
        Ok(())
    }

    async fn policy_versions(
        &self,
        _client: ClientId,
        org: OrganizationId,
    ) -> anyhow::Result<Vec<PolicyVersion>> {
        let st = self.lock();
        let mut out: Vec<PolicyVersion> = st
            .policy_versions
            .iter()
            .filter(|(o, _, _)| *o == org)
            .map(|(_, _, v)| v.clone())
            .collect();
        out.reverse();
        Ok(out)
    }

    async fn policy_version(
        &self,
        _client: ClientId,
        org: OrganizationId,
        version: u32,
    ) -> anyhow::Result<Option<AuthorizationPolicy>> {
        Ok(self
            .lock()
            .policy_versions
            .iter()
            .find(|(o, p, _)| *o == org && p.version == version)
            .map(|(_, p, _)| p.clone()))
    }

    async fn role_in_use(
        &self,
        _client: ClientId,
        org: OrganizationId,
        role: &OrgRole,
    ) -> anyhow::Result<bool> {
        let st = self.lock();
        Ok(st
            .members
            .iter()
            .any(|m| m.organization_id == org && m.role == *role)
            || st.invitations.iter().any(|(i, _)| {
                i.organization_id == org
                    && i.role == *role
                    && i.accepted_at.is_none()
                    && i.revoked_at.is_none()
            })
            || st
                .mappings
                .iter()
                .any(|m| m.organization_id == org && m.role.as_ref() == Some(role)))
    }

    async fn group_mappings(
        &self,
        client: ClientId,
        org: OrganizationId,
    ) -> anyhow::Result<Vec<GroupMapping>> {
        Ok(self
            .lock()
            .mappings
            .iter()
            .filter(|m| m.client_id == client && m.organization_id == org)
            .cloned()
            .collect())
    }

    async fn save_group_mapping(
        &self,
        mapping: &GroupMapping,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let mut st = self.lock();
        if st.mappings.iter().any(|m| {
            m.organization_id == mapping.organization_id
                && m.source == mapping.source
                && m.group == mapping.group
                && m.id != mapping.id
        }) {
            return Err(OrgWriteError::Conflict);
        }
        st.mappings.retain(|m| m.id != mapping.id);
        st.mappings.push(mapping.clone());
        st.audit.push(audit.clone());
        Ok(())
    }

    async fn delete_group_mapping(
        &self,
        client: ClientId,
        org: OrganizationId,
        id: Uuid,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let mut st = self.lock();
        let before = st.mappings.len();
        st.mappings
            .retain(|m| !(m.client_id == client && m.organization_id == org && m.id == id));
        if st.mappings.len() == before {
            return Err(OrgWriteError::NotFound);
        }
        st.audit.push(audit.clone());
        Ok(())
    }

    async fn set_member_groups(
        &self,
        client: ClientId,
        org: OrganizationId,
        user: UserId,
        groups: &MemberGroups,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let mut st = self.lock();
        let member = st
            .members
            .iter_mut()
            .find(|m| m.client_id == client && m.organization_id == org && m.user_id == user)
            .ok_or(OrgWriteError::NotFound)?;
        member.groups = groups.clone();
        st.audit.push(audit.clone());
        Ok(())
    }
}
