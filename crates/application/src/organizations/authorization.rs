//! An organization's own authorization: its versioned policy (custom permissions and roles)
//! and the simulator that explains a verdict (group mappings: `mappings.rs`).

use authservice_domain::organization::{
    AuthorizationPolicy, Grant, MemberGroups, OrgPermission, OrgRole, effective_permissions,
};
use authservice_domain::{EventType, UserId, ValidationError};
use serde_json::{Value, json};

use super::{OrgError, access, grants_of, org_event, require_recent_auth};
use crate::auth::{AuthConfig, AuthenticatedUser};
use crate::context::RequestCtx;
use crate::ports::{PolicyVersion, Ports};

/// Whom the simulator asks about: a member, or a role with groups.
#[derive(Debug, Clone)]
pub enum SimulationSubject {
    User(String),
    Role { role: String, groups: MemberGroups },
}

/// The simulator's answer: the verdict and what granted it.
#[derive(Debug, Clone)]
pub struct Simulation {
    pub allowed: bool,
    pub permission: String,
    pub granted_by: Vec<Grant>,
    pub policy_version: u32,
}

pub struct ManageAuthorization {
    pub(super) ports: Ports,
    pub(super) config: AuthConfig,
}

impl ManageAuthorization {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
        }
    }

    /// After a change that may alter what members may do: their organization tokens are
    /// checked again.
    pub(super) async fn changed(
        &self,
        org: authservice_domain::organization::OrganizationId,
    ) -> Result<(), OrgError> {
        crate::tokens::note_membership_change(&self.ports, self.config.access_ttl, org, None)
            .await?;
        Ok(())
    }

    /// The current policy (`authorization:read`).
    pub async fn policy(
        &self,
        caller: &AuthenticatedUser,
        org: &str,
    ) -> Result<AuthorizationPolicy, OrgError> {
        let access = access(
            &self.ports,
            caller,
            org,
            Some(OrgPermission::AuthorizationRead),
        )
        .await?;
        Ok(access.org.policy)
    }

    /// Replaces the policy (`authorization:write`) if `expected` is still the current version
    /// (`If-Match` or the body's `version`; else `Conflict`). A role still held by a member, a
    /// pending invitation or a group mapping cannot be removed.
    #[tracing::instrument(name = "put_policy", level = "debug", skip_all)]
    pub async fn put_policy(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
        org: &str,
        body: &Value,
        expected: Option<u32>,
    ) -> Result<AuthorizationPolicy, OrgError> {
        let access = access(
            &self.ports,
            caller,
            org,
            Some(OrgPermission::AuthorizationWrite),
        )
        .await?;
        let expected = expected
            .or_else(|| {
                body.get("version")
                    .and_then(Value::as_u64)
                    .and_then(|v| u32::try_from(v).ok())
            })
            .ok_or_else(|| {
                ValidationError::new("version", "send the version you read (If-Match or version)")
            })?;
        let mut policy = AuthorizationPolicy::parse(body).map_err(OrgError::InvalidPolicy)?;
        let current = &access.org.policy;
        if expected != current.version {
            return Err(OrgError::Conflict);
        }
        // Whoever changes what a role means must hold all it meant and all it will mean: an
        // admin cannot grow a role they hold (or will give) into more than they have.
        let names: std::collections::BTreeSet<&OrgRole> = current
            .roles
            .iter()
            .chain(policy.roles.iter())
            .map(|r| &r.name)
            .collect();
        for name in names {
            let before = current.roles.iter().find(|r| r.name == *name);
            let after = policy.roles.iter().find(|r| r.name == *name);
            let (old_set, new_set) = (
                current.role_permissions(name),
                policy.role_permissions(name),
            );
            // The owner holds every permission, those being declared now too.
            if !access.membership.role.is_owner() && (before != after || old_set != new_set) {
                let all = old_set
                    .unwrap_or_default()
                    .iter()
                    .chain(new_set.unwrap_or_default().iter())
                    .map(str::to_owned)
                    .collect();
                access.covering(&all)?;
            }
        }
        require_recent_auth(&self.ports, &self.config, caller)?;
        let dropped: Vec<OrgRole> = current
            .roles
            .iter()
            .filter(|r| !policy.roles.iter().any(|n| n.name == r.name))
            .map(|r| r.name.clone())
            .collect();
        policy.version = current.version + 1;
        let now = self.ports.clock.now();
        let event = org_event(
            ctx,
            &caller.user,
            &access.org,
            EventType::OrganizationPolicyUpdated,
        )
        .metadata(json!({ "version": policy.version }))
        .before(current.to_value())
        .after(policy.to_value())
        .at(now);
        self.ports
            .org_authorization
            .set_policy(
                access.org.client_id,
                access.org.id,
                &policy,
                &dropped,
                caller.user.id,
                now,
                &event,
            )
            .await?;
        self.changed(access.org.id).await?;
        Ok(policy)
    }

    /// The policy's history, newest first (`authorization:read`).
    pub async fn versions(
        &self,
        caller: &AuthenticatedUser,
        org: &str,
    ) -> Result<Vec<PolicyVersion>, OrgError> {
        let access = access(
            &self.ports,
            caller,
            org,
            Some(OrgPermission::AuthorizationRead),
        )
        .await?;
        Ok(self
            .ports
            .org_authorization
            .policy_versions(access.org.client_id, access.org.id)
            .await?)
    }

    /// One version of the policy (`authorization:read`).
    pub async fn version(
        &self,
        caller: &AuthenticatedUser,
        org: &str,
        version: &str,
    ) -> Result<AuthorizationPolicy, OrgError> {
        let access = access(
            &self.ports,
            caller,
            org,
            Some(OrgPermission::AuthorizationRead),
        )
        .await?;
        let version: u32 = version
            .parse()
            .map_err(|_| ValidationError::new("version", "must be a version number"))?;
        self.ports
            .org_authorization
            .policy_version(access.org.client_id, access.org.id, version)
            .await?
            .ok_or(OrgError::PolicyVersionNotFound)
    }

    /// Would `subject` hold `permission`, and through what (`authorization:read`)?
    pub async fn simulate(
        &self,
        caller: &AuthenticatedUser,
        org: &str,
        subject: SimulationSubject,
        permission: &str,
    ) -> Result<Simulation, OrgError> {
        let access = access(
            &self.ports,
            caller,
            org,
            Some(OrgPermission::AuthorizationRead),
        )
        .await?;
        let policy = &access.org.policy;
        let grants = match subject {
            SimulationSubject::User(raw) => {
                let user = UserId::parse(&raw)?;
                let member = self
                    .ports
                    .organizations
                    .member(access.org.client_id, access.org.id, user)
                    .await?
                    .ok_or(OrgError::MemberNotFound)?
                    .membership;
                grants_of(&self.ports, &access.org, &member.role, &member.groups).await?
            }
            SimulationSubject::Role { role, groups } => {
                let role = OrgRole::parse(&role)?;
                if policy.role_permissions(&role).is_none() {
                    return Err(OrgError::RoleNotFound);
                }
                let mappings = self
                    .ports
                    .org_authorization
                    .group_mappings(access.org.client_id, access.org.id)
                    .await?;
                effective_permissions(policy, &role, &groups, &mappings)
            }
        };
        let granted_by = grants.get(permission).cloned().unwrap_or_default();
        Ok(Simulation {
            allowed: !granted_by.is_empty(),
            permission: permission.to_owned(),
            granted_by,
            policy_version: policy.version,
        })
    }
}
