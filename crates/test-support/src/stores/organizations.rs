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

/// How an organization write went, in memory.
pub(super) enum OrgWrite {
    Done,
    Missing,
    SlugTaken,
}

impl State {
    fn slug_taken(&self, org: &Organization) -> bool {
        self.organizations
            .iter()
            .any(|o| o.client_id == org.client_id && o.slug == org.slug && o.id != org.id)
    }

    pub(super) fn create_organization(
        &mut self,
        org: &Organization,
        owner: &Membership,
    ) -> OrgWrite {
        if self.slug_taken(org) {
            return OrgWrite::SlugTaken;
        }
        self.organizations.push(org.clone());
        self.members.push(owner.clone());
        OrgWrite::Done
    }

    /// Its own fields only, as the PostgreSQL adapter writes them.
    pub(super) fn update_organization(&mut self, org: &Organization) -> OrgWrite {
        if self.slug_taken(org) {
            return OrgWrite::SlugTaken;
        }
        let Some(stored) = self
            .organizations
            .iter_mut()
            .find(|o| o.client_id == org.client_id && o.id == org.id)
        else {
            return OrgWrite::Missing;
        };
        stored.name = org.name.clone();
        stored.slug = org.slug.clone();
        stored.metadata = org.metadata.clone();
        stored.logo_url = org.logo_url.clone();
        stored.updated_at = org.updated_at;
        OrgWrite::Done
    }

    pub(super) fn set_org_security_policy(&mut self, org: &Organization) -> bool {
        let Some(stored) = self
            .organizations
            .iter_mut()
            .find(|o| o.client_id == org.client_id && o.id == org.id)
        else {
            return false;
        };
        stored.security = org.security.clone();
        stored.updated_at = org.updated_at;
        true
    }

    pub(super) fn delete_organization(&mut self, client: ClientId, org: OrganizationId) -> bool {
        let before = self.organizations.len();
        self.organizations
            .retain(|o| !(o.client_id == client && o.id == org));
        if self.organizations.len() == before {
            return false;
        }
        self.members.retain(|m| m.organization_id != org);
        self.org_domains.retain(|d| d.organization_id != org);
        true
    }
}
