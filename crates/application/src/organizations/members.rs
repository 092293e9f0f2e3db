//! The members of an organization: listing, changing a role, removing one, leaving.

use authservice_domain::organization::{OrgPermission, OrgRole};
use authservice_domain::{EventType, UserId};
use serde_json::json;

use super::{OrgError, access, org_event, require_recent_auth};
use crate::auth::{AuthConfig, AuthenticatedUser};
use crate::context::RequestCtx;
use crate::pagination::{Page, PageRequest};
use crate::ports::{CheckedMember, MemberView, Ports};
use crate::tokens::note_membership_change;

pub struct ManageMembers {
    ports: Ports,
    config: AuthConfig,
}

impl ManageMembers {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
        }
    }

    /// One page of members, in joining order (`members:read`).
    #[tracing::instrument(name = "list_members", level = "debug", skip_all)]
    pub async fn list(
        &self,
        caller: &AuthenticatedUser,
        org: &str,
        page: PageRequest,
    ) -> Result<Page<MemberView>, OrgError> {
        let access = access(&self.ports, caller, org, Some(OrgPermission::MembersRead)).await?;
        let rows = self
            .ports
            .organizations
            .members(access.org.client_id, access.org.id, page)
            .await?;
        Ok(Page::from_overfetch(rows, page.limit, |m| m.membership.id))
    }

    /// Gives member `user` the role `role` (`members:update`, a recent sign-in). The caller
    /// must hold every permission of both the member's current role and the new one: an admin
    /// can neither make an owner nor demote one.
    #[tracing::instrument(name = "change_member_role", level = "debug", skip_all)]
    pub async fn change_role(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
        org: &str,
        user: &str,
        role: &str,
    ) -> Result<MemberView, OrgError> {
        let access = access(&self.ports, caller, org, Some(OrgPermission::MembersUpdate)).await?;
        let role = OrgRole::parse(role)?;
        let user = UserId::parse(user)?;
        let mut member = self
            .ports
            .organizations
            .member(access.org.client_id, access.org.id, user)
            .await?
            .ok_or(OrgError::MemberNotFound)?;
        access.grantable(&role)?;
        access.grantable(&member.membership.role)?;
        require_recent_auth(&self.ports, &self.config, caller)?;
        let before = member.membership.role.clone();
        if before == role {
            return Ok(member);
        }
        let event = org_event(
            ctx,
            &caller.user,
            &access.org,
            EventType::OrganizationMemberRoleChanged,
        )
        .metadata(json!({ "user_id": user.to_string() }))
        .before(json!({ "role": before.as_str() }))
        .after(json!({ "role": role.as_str() }))
        .at(self.ports.clock.now());
        self.ports
            .organizations
            .change_role(
                access.org.client_id,
                access.org.id,
                user,
                &CheckedMember {
                    role: before.clone(),
                    policy_version: access.org.policy.version,
                },
                &role,
                &event,
            )
            .await
            .map_err(member_error)?;
        note_membership_change(
            &self.ports,
            self.config.access_ttl,
            access.org.id,
            Some(user),
        )
        .await?;
        member.membership.role = role;
        Ok(member)
    }

    /// Removes member `user` (`members:remove`, a recent sign-in, and every permission of
    /// the member's role), or — for `me` — lets the caller leave (no permission needed).
    #[tracing::instrument(name = "remove_member", level = "debug", skip_all)]
    pub async fn remove(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
        org: &str,
        user: &str,
    ) -> Result<(), OrgError> {
        let leaving = user == "me" || user == caller.user.id.to_string();
        let access = if leaving {
            access(&self.ports, caller, org, None).await?
        } else {
            access(&self.ports, caller, org, Some(OrgPermission::MembersRemove)).await?
        };
        let (user, event_type, role) = if leaving {
            (
                caller.user.id,
                EventType::OrganizationMemberLeft,
                access.membership.role.clone(),
            )
        } else {
            let user = UserId::parse(user)?;
            let member = self
                .ports
                .organizations
                .member(access.org.client_id, access.org.id, user)
                .await?
                .ok_or(OrgError::MemberNotFound)?;
            access.grantable(&member.membership.role)?;
            require_recent_auth(&self.ports, &self.config, caller)?;
            (
                user,
                EventType::OrganizationMemberRemoved,
                member.membership.role,
            )
        };
        let event = org_event(ctx, &caller.user, &access.org, event_type)
            .metadata(json!({ "user_id": user.to_string() }))
            .at(self.ports.clock.now());
        self.ports
            .organizations
            .remove_member(
                access.org.client_id,
                access.org.id,
                user,
                &CheckedMember {
                    role,
                    policy_version: access.org.policy.version,
                },
                &event,
            )
            .await
            .map_err(member_error)?;
        note_membership_change(
            &self.ports,
            self.config.access_ttl,
            access.org.id,
            Some(user),
        )
        .await?;
        Ok(())
    }
}

/// `NotFound` from a membership write is the member, not the organization.
fn member_error(err: crate::ports::OrgWriteError) -> OrgError {
    match err {
        crate::ports::OrgWriteError::NotFound => OrgError::MemberNotFound,
        other => other.into(),
    }
}
