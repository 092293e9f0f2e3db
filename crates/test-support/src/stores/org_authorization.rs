//! The in-memory organization policies, group mappings and member groups.

#![allow(clippy::wildcard_imports)]

use authservice_application::ports::{OrgAuthorizationRepository, OrgWriteError, PolicyVersion};
use authservice_domain::organization::{
    AuthorizationPolicy, GroupMapping, MemberGroups, OrgRole, OrganizationId,
};

use super::*;

#[async_trait]
impl OrgAuthorizationRepository for MemoryDb {
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
        let mut st = self.lock();
        for role in dropped {
            let used = st
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
                    .any(|m| m.organization_id == org && m.role.as_ref() == Some(role));
            if used {
                return Err(OrgWriteError::RoleInUse(role.as_str().to_owned()));
            }
        }
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
