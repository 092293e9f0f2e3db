//! The in-memory organization invitations.

#![allow(clippy::wildcard_imports)]

use authservice_application::pagination::PageRequest;
use authservice_application::ports::{AcceptOutcome, InvitationRepository};
use authservice_domain::organization::{Invitation, Membership, OrganizationId};

use super::*;

#[async_trait]
impl InvitationRepository for MemoryDb {
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

impl State {
    /// Stores an invitation, revoking the earlier pending ones of the address into the
    /// organization.
    pub(super) fn create_invitation(
        &mut self,
        invitation: &authservice_domain::organization::Invitation,
        token_hash: [u8; 32],
    ) {
        for (earlier, _) in &mut self.invitations {
            if earlier.client_id == invitation.client_id
                && earlier.organization_id == invitation.organization_id
                && earlier.email == invitation.email
                && earlier.accepted_at.is_none()
                && earlier.revoked_at.is_none()
            {
                earlier.revoked_at = Some(invitation.created_at);
            }
        }
        self.invitations.push((invitation.clone(), token_hash));
    }
}
