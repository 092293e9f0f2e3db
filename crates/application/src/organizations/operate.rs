//! Operators' view of a client's organizations (`X-Admin-Key`): listing them and their members,
//! and setting a member's groups (what SSO and SCIM will feed). Scoped like every admin action:
//! the permission, then the client in the caller's scope.

use authservice_domain::organization::{MemberGroups, OrgRef, Organization, groups_to_value};
use authservice_domain::{ClientId, EventType, Permission, UserId, ValidationError};
use serde_json::json;

use super::OrgError;
use crate::audit::record_quietly;
use crate::context::RequestCtx;
use crate::pagination::{Page, PageRequest};
use crate::ports::{MemberView, Ports};

/// The client an operator names in the path, if `permission` reaches it.
pub(crate) fn operator_client(
    ctx: &RequestCtx,
    permission: Permission,
    raw: &str,
) -> Result<ClientId, OrgError> {
    ctx.require(permission).map_err(|_| OrgError::Forbidden)?;
    let client = ClientId::parse(raw)?;
    ctx.require_for_client(permission, client)
        .map_err(|_| OrgError::Forbidden)?;
    Ok(client)
}

/// Organization `raw` (id or slug) of `client`, as operators see it.
pub(crate) async fn operator_org(
    ports: &Ports,
    client: ClientId,
    raw: &str,
) -> Result<Organization, OrgError> {
    let org_ref = OrgRef::parse(raw)?;
    // The user id only selects a membership row; operators see the organization itself.
    let nobody = UserId::from_uuid(uuid::Uuid::nil());
    Ok(ports
        .organizations
        .find(client, &org_ref, nobody)
        .await?
        .ok_or(OrgError::NotFound)?
        .0)
}

pub struct OperateOrganizations {
    ports: Ports,
    config: crate::auth::AuthConfig,
}

impl OperateOrganizations {
    #[must_use]
    pub fn new(ports: &Ports, config: &crate::auth::AuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
        }
    }

    fn client(ctx: &RequestCtx, permission: Permission, raw: &str) -> Result<ClientId, OrgError> {
        operator_client(ctx, permission, raw)
    }

    async fn org(&self, client: ClientId, raw: &str) -> Result<Organization, OrgError> {
        operator_org(&self.ports, client, raw).await
    }

    /// Client and organization of an organization route: the admin's scope must reach the
    /// organization (an organization-scoped admin reaches its own one only).
    async fn scoped_org(
        &self,
        ctx: &RequestCtx,
        permission: Permission,
        client: &str,
        org: &str,
    ) -> Result<(ClientId, Organization), OrgError> {
        let admin = ctx.require(permission).map_err(|_| OrgError::Forbidden)?;
        let client = ClientId::parse(client)?;
        if !matches!(
            admin.scope,
            authservice_domain::AdminScope::Organization { .. }
        ) {
            ctx.require_for_client(permission, client)
                .map_err(|_| OrgError::Forbidden)?;
        }
        let org = self.org(client, org).await?;
        if !admin.can_access_organization(client, org.id) {
            return Err(OrgError::Forbidden);
        }
        Ok((client, org))
    }

    async fn listed(&self, ctx: &RequestCtx, client: ClientId, what: serde_json::Value) {
        let event = ctx
            .audit(EventType::OrganizationsListed)
            .client(client)
            .metadata(what)
            .at(self.ports.clock.now());
        record_quietly(&self.ports, &event).await;
    }

    /// One page of the client's organizations (`users:read`).
    pub async fn list(
        &self,
        ctx: &RequestCtx,
        client: &str,
        page: PageRequest,
    ) -> Result<Page<Organization>, OrgError> {
        let client = Self::client(ctx, Permission::UsersRead, client)?;
        let rows = self
            .ports
            .organizations
            .list_for_client(client, page)
            .await?;
        let page = Page::from_overfetch(rows, page.limit, |o| o.id.as_uuid());
        self.listed(ctx, client, json!({ "count": page.items.len() }))
            .await;
        Ok(page)
    }

    /// One page of an organization's members (`users:read`).
    pub async fn members(
        &self,
        ctx: &RequestCtx,
        client: &str,
        org: &str,
        page: PageRequest,
    ) -> Result<Page<MemberView>, OrgError> {
        let (client, org) = self
            .scoped_org(ctx, Permission::UsersRead, client, org)
            .await?;
        let rows = self
            .ports
            .organizations
            .members(client, org.id, page)
            .await?;
        let page = Page::from_overfetch(rows, page.limit, |m| m.membership.id);
        self.listed(
            ctx,
            client,
            json!({ "organization_id": org.id.to_string(), "members": page.items.len() }),
        )
        .await;
        Ok(page)
    }

    /// Replaces a member's groups (`users:update`): `{sso: [..], scim: [..]}`.
    pub async fn set_member_groups(
        &self,
        ctx: &RequestCtx,
        client: &str,
        org: &str,
        user: &str,
        groups: &serde_json::Value,
    ) -> Result<MemberView, OrgError> {
        let (client, org) = self
            .scoped_org(ctx, Permission::UsersUpdate, client, org)
            .await?;
        let user = UserId::parse(user)?;
        let groups = checked_groups(groups)?;
        let member = self
            .ports
            .organizations
            .member(client, org.id, user)
            .await?
            .ok_or(OrgError::MemberNotFound)?;
        let event = ctx
            .audit(EventType::OrganizationMemberGroupsSet)
            .client(client)
            .target("organization", org.id)
            .metadata(json!({ "user_id": user.to_string() }))
            .before(groups_to_value(&member.membership.groups))
            .after(groups_to_value(&groups))
            .at(self.ports.clock.now());
        self.ports
            .org_authorization
            .set_member_groups(client, org.id, user, &groups, &event)
            .await?;
        crate::tokens::note_membership_change(
            &self.ports,
            self.config.access_ttl,
            org.id,
            Some(user),
        )
        .await?;
        Ok(MemberView {
            membership: authservice_domain::organization::Membership {
                groups,
                ..member.membership
            },
            ..member
        })
    }
}

/// `{sso: [..], scim: [..]}` with at most 100 names of 1–256 characters per source.
fn checked_groups(value: &serde_json::Value) -> Result<MemberGroups, ValidationError> {
    let bad = || ValidationError::new("groups", "must be {sso: [names], scim: [names]}");
    let serde_json::Value::Object(map) = value else {
        return Err(bad());
    };
    if map.keys().any(|k| k != "sso" && k != "scim") {
        return Err(bad());
    }
    for names in map.values() {
        let serde_json::Value::Array(names) = names else {
            return Err(bad());
        };
        let ok = names.len() <= 100
            && names.iter().all(|n| {
                n.as_str()
                    .is_some_and(|s| !s.trim().is_empty() && s.chars().count() <= 256)
            });
        if !ok {
            return Err(bad());
        }
    }
    Ok(authservice_domain::organization::groups_from_value(value))
}
