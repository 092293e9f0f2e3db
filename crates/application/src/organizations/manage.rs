//! Creating, reading, changing and deleting organizations.

use authservice_domain::organization::{
    AuthorizationPolicy, LogoUrl, MemberGroups, Membership, OrgPermission, OrgRole, Organization,
    OrganizationId, SecurityPolicy,
};
use authservice_domain::{ClientName, EventType};
use serde_json::Value;
use uuid::Uuid;

use super::{OrgError, access, org_event, require_recent_auth, snapshot};
use crate::auth::{AuthConfig, AuthenticatedUser};
use crate::context::RequestCtx;
use crate::ports::{Committed, Ports, Write};

/// An organization as its member sees it: with their role.
#[derive(Debug, Clone)]
pub struct OrganizationView {
    pub organization: Organization,
    pub role: OrgRole,
}

/// `POST /organizations`.
#[derive(Debug, Clone, Default)]
pub struct NewOrganization {
    pub name: String,
    /// Derived from the name when omitted.
    pub slug: Option<String>,
    pub metadata: Option<Value>,
    pub logo_url: Option<String>,
}

/// `PATCH /organizations/{org}`: only the fields present change; `logo_url: null` removes it.
#[derive(Debug, Clone, Default)]
pub struct OrganizationPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub metadata: Option<Value>,
    pub logo_url: Option<Option<String>>,
}

pub struct ManageOrganizations {
    ports: Ports,
    config: AuthConfig,
}

impl ManageOrganizations {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
        }
    }

    /// The caller's organizations with their role in each.
    #[tracing::instrument(name = "list_organizations", level = "debug", skip_all)]
    pub async fn list(
        &self,
        caller: &AuthenticatedUser,
    ) -> Result<Vec<OrganizationView>, OrgError> {
        let user = &caller.user;
        Ok(self
            .ports
            .organizations
            .list_for_user(user.client_id, user.id)
            .await?
            .into_iter()
            .map(|(organization, membership)| OrganizationView {
                organization,
                role: membership.role,
            })
            .collect())
    }

    /// Creates an organization; the caller becomes its owner.
    #[tracing::instrument(name = "create_organization", level = "debug", skip_all)]
    pub async fn create(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
        input: NewOrganization,
    ) -> Result<OrganizationView, OrgError> {
        let user = &caller.user;
        let name = ClientName::parse(&input.name)?;
        let slug = match input.slug.as_deref() {
            Some(raw) => Organization::slug(raw)?,
            None => Organization::slug(authservice_domain::Slug::from_name(&name)?.as_str())?,
        };
        let now = self.ports.clock.now();
        let org = Organization {
            id: OrganizationId::from_uuid(Uuid::now_v7()),
            client_id: user.client_id,
            name,
            slug,
            metadata: Organization::metadata(input.metadata.unwrap_or(Value::Null))?,
            logo_url: input.logo_url.as_deref().map(LogoUrl::parse).transpose()?,
            security: SecurityPolicy::default(),
            policy: AuthorizationPolicy::default(),
            created_at: now,
            updated_at: now,
        };
        let owner = Membership {
            id: Uuid::now_v7(),
            organization_id: org.id,
            client_id: org.client_id,
            user_id: user.id,
            role: OrgRole::owner(),
            groups: MemberGroups::new(),
            joined_at: now,
        };
        let event = org_event(ctx, user, &org, EventType::OrganizationCreated)
            .after(snapshot(&org))
            .at(now);
        let writes = vec![
            Write::CreateOrganization {
                org: org.clone(),
                owner: owner.clone(),
            },
            Write::Audit(event),
        ];
        written(self.ports.uow.commit(writes).await?)?;
        Ok(OrganizationView {
            organization: org,
            role: owner.role,
        })
    }

    /// One organization of the caller (`org:read`).
    #[tracing::instrument(name = "get_organization", level = "debug", skip_all)]
    pub async fn get(
        &self,
        caller: &AuthenticatedUser,
        org: &str,
    ) -> Result<OrganizationView, OrgError> {
        let access = access(&self.ports, caller, org, Some(OrgPermission::OrgRead)).await?;
        Ok(OrganizationView {
            organization: access.org,
            role: access.membership.role,
        })
    }

    /// Changes name, slug, metadata or logo (`org:update`).
    #[tracing::instrument(name = "update_organization", level = "debug", skip_all)]
    pub async fn update(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
        org: &str,
        patch: OrganizationPatch,
    ) -> Result<OrganizationView, OrgError> {
        let access = access(&self.ports, caller, org, Some(OrgPermission::OrgUpdate)).await?;
        let before = snapshot(&access.org);
        let mut org = access.org;
        if let Some(name) = patch.name.as_deref() {
            org.name = ClientName::parse(name)?;
        }
        if let Some(slug) = patch.slug.as_deref() {
            org.slug = Organization::slug(slug)?;
        }
        if let Some(metadata) = patch.metadata {
            org.metadata = Organization::metadata(metadata)?;
        }
        if let Some(logo) = patch.logo_url {
            org.logo_url = logo.as_deref().map(LogoUrl::parse).transpose()?;
        }
        let now = self.ports.clock.now();
        org.updated_at = now;
        let event = org_event(ctx, &caller.user, &org, EventType::OrganizationUpdated)
            .before(before)
            .after(snapshot(&org))
            .at(now);
        let writes = vec![Write::UpdateOrganization(org.clone()), Write::Audit(event)];
        written(self.ports.uow.commit(writes).await?)?;
        Ok(OrganizationView {
            organization: org,
            role: access.membership.role,
        })
    }

    /// Deletes the organization with its memberships (`org:delete`, a recent sign-in).
    #[tracing::instrument(name = "delete_organization", level = "debug", skip_all)]
    pub async fn delete(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
        org: &str,
    ) -> Result<(), OrgError> {
        let access = access(&self.ports, caller, org, Some(OrgPermission::OrgDelete)).await?;
        require_recent_auth(&self.ports, &self.config, caller)?;
        let event = org_event(
            ctx,
            &caller.user,
            &access.org,
            EventType::OrganizationDeleted,
        )
        .before(snapshot(&access.org))
        .at(self.ports.clock.now());
        let writes = vec![
            Write::DeleteOrganization {
                client: access.org.client_id,
                org: access.org.id,
            },
            Write::Audit(event),
        ];
        written(self.ports.uow.commit(writes).await?)?;
        crate::tokens::note_membership_change(
            &self.ports,
            self.config.access_ttl,
            access.org.id,
            None,
        )
        .await?;
        Ok(())
    }

    /// The organization's security policy (`org:read`).
    pub async fn security_policy(
        &self,
        caller: &AuthenticatedUser,
        org: &str,
    ) -> Result<SecurityPolicy, OrgError> {
        let access = access(&self.ports, caller, org, Some(OrgPermission::OrgRead)).await?;
        Ok(access.org.security)
    }

    /// Replaces the security policy (`org:update`, a recent sign-in); omitted fields take
    /// their defaults.
    #[tracing::instrument(name = "set_security_policy", level = "debug", skip_all)]
    pub async fn set_security_policy(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
        org: &str,
        body: &Value,
    ) -> Result<SecurityPolicy, OrgError> {
        let access = access(&self.ports, caller, org, Some(OrgPermission::OrgUpdate)).await?;
        let policy = SecurityPolicy::parse(body)?;
        require_recent_auth(&self.ports, &self.config, caller)?;
        let before = access.org.security.to_value();
        let mut org = access.org;
        org.security = policy.clone();
        let now = self.ports.clock.now();
        org.updated_at = now;
        let event = org_event(
            ctx,
            &caller.user,
            &org,
            EventType::OrganizationSecurityPolicyUpdated,
        )
        .before(before)
        .after(policy.to_value())
        .at(now);
        let writes = vec![
            Write::SetOrgSecurityPolicy(org.clone()),
            Write::Audit(event),
        ];
        written(self.ports.uow.commit(writes).await?)?;
        Ok(policy)
    }

    /// The roles of the organization with their permissions (`org:read`).
    pub async fn roles(
        &self,
        caller: &AuthenticatedUser,
        org: &str,
    ) -> Result<Vec<(OrgRole, authservice_domain::organization::RoleSet)>, OrgError> {
        let access = access(&self.ports, caller, org, Some(OrgPermission::OrgRead)).await?;
        let policy = &access.org.policy;
        Ok(policy
            .roles()
            .into_iter()
            .filter_map(|role| policy.role_permissions(&role).map(|set| (role, set)))
            .collect())
    }
}

/// What a refused unit of organization writes means: a slug taken, or the organization gone.
fn written(committed: Committed) -> Result<(), OrgError> {
    match committed {
        Committed::All(_) => Ok(()),
        Committed::Duplicate(_) => Err(OrgError::SlugTaken),
        Committed::Refused(_) => Err(OrgError::NotFound),
    }
}
