//! The in-memory organizations and memberships.

use authservice_application::pagination::PageRequest;
use authservice_application::ports::{
    CheckedMember, MemberView, OrgWriteError, OrganizationRepository,
};
use authservice_domain::organization::{Membership, OrgRef, OrgRole, Organization, OrganizationId};

use super::*;

impl State {
    /// `Conflict` when what the change was authorized against moved.
    fn still(
        &self,
        org: OrganizationId,
        member: usize,
        checked: &CheckedMember,
    ) -> Result<(), OrgWriteError> {
        let version = self
            .organizations
            .iter()
            .find(|o| o.id == org)
            .map(|o| o.policy.version);
        if version != Some(checked.policy_version) || self.members[member].role != checked.role {
            return Err(OrgWriteError::Conflict);
        }
        Ok(())
    }

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

    async fn set_security_policy(
        &self,
        org: &Organization,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let mut st = self.lock();
        let stored = st
            .organizations
            .iter_mut()
            .find(|o| o.client_id == org.client_id && o.id == org.id)
            .ok_or(OrgWriteError::NotFound)?;
        stored.security = org.security.clone();
        stored.updated_at = org.updated_at;
        st.audit.push(audit.clone());
        Ok(())
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
        // Its own fields only, as the PostgreSQL adapter writes them.
        stored.name = org.name.clone();
        stored.slug = org.slug.clone();
        stored.metadata = org.metadata.clone();
        stored.logo_url = org.logo_url.clone();
        stored.updated_at = org.updated_at;
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
        checked: &CheckedMember,
        role: &OrgRole,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let mut st = self.lock();
        let i = st.guarded_member(client, org, user, role.is_owner())?;
        st.still(org, i, checked)?;
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
        checked: &CheckedMember,
        audit: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let mut st = self.lock();
        let i = st.guarded_member(client, org, user, false)?;
        st.still(org, i, checked)?;
        st.members.remove(i);
        st.audit.push(audit.clone());
        Ok(())
    }
}
