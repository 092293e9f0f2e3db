//! An organization's own authorization: its versioned policy (custom permissions and roles),
//! its group mappings, and the simulator that explains a verdict.

use authservice_domain::organization::{
    AuthorizationPolicy, Grant, GroupMapping, GroupSource, MemberGroups, OrgPermission, OrgRole,
    PolicyError, effective_permissions,
};
use authservice_domain::{EventType, UserId, ValidationError};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{OrgError, access, grants_of, org_event, require_recent_auth};
use crate::auth::{AuthConfig, AuthenticatedUser};
use crate::context::RequestCtx;
use crate::ports::{PolicyVersion, Ports};

/// A group mapping's fields as sent: all of them on create, those present on update
/// (`role: null` removes the role).
#[derive(Debug, Clone, Default)]
pub struct MappingInput {
    pub source: Option<String>,
    pub group: Option<String>,
    pub role: Option<Option<String>>,
    pub permissions: Option<Vec<String>>,
}

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
    ports: Ports,
    config: AuthConfig,
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
    async fn changed(
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

    /// The group mappings (`authorization:read`).
    pub async fn mappings(
        &self,
        caller: &AuthenticatedUser,
        org: &str,
    ) -> Result<Vec<GroupMapping>, OrgError> {
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
            .group_mappings(access.org.client_id, access.org.id)
            .await?)
    }

    /// Creates a mapping (`id` = `None`) or changes one (`authorization:write`). What it grants
    /// must exist in the policy, and the caller must hold all of it.
    #[tracing::instrument(name = "save_group_mapping", level = "debug", skip_all)]
    pub async fn save_mapping(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
        org: &str,
        id: Option<&str>,
        input: MappingInput,
    ) -> Result<GroupMapping, OrgError> {
        let access = access(
            &self.ports,
            caller,
            org,
            Some(OrgPermission::AuthorizationWrite),
        )
        .await?;
        let existing = match id {
            None => None,
            Some(raw) => {
                let id = parse_id(raw)?;
                Some(
                    self.ports
                        .org_authorization
                        .group_mappings(access.org.client_id, access.org.id)
                        .await?
                        .into_iter()
                        .find(|m| m.id == id)
                        .ok_or(OrgError::MappingNotFound)?,
                )
            }
        };
        let required = |what: &'static str| ValidationError::new(what, "is required");
        let source = match (input.source.as_deref(), &existing) {
            (Some(raw), _) => GroupSource::parse(raw)?,
            (None, Some(m)) => m.source,
            (None, None) => return Err(required("source").into()),
        };
        let group = match (input.group.as_deref(), &existing) {
            (Some(raw), _) => group_name(raw)?,
            (None, Some(m)) => m.group.clone(),
            (None, None) => return Err(required("group").into()),
        };
        let role = match (input.role, &existing) {
            (Some(raw), _) => raw.as_deref().map(OrgRole::parse).transpose()?,
            (None, Some(m)) => m.role.clone(),
            (None, None) => None,
        };
        let permissions = match (input.permissions, &existing) {
            (Some(list), _) => list,
            (None, Some(m)) => m.permissions.clone(),
            (None, None) => Vec::new(),
        };
        if role.is_none() && permissions.is_empty() {
            return Err(ValidationError::new(
                "role",
                "a mapping grants a role, permissions, or both",
            )
            .into());
        }
        if let Some(role) = &role {
            access.grantable(role)?;
        }
        if let Some(before) = &existing {
            // Changing a mapping takes away what it granted: the caller must hold that too.
            if let Some(role) = &before.role {
                access.grantable(role)?;
            }
            access.covering(&before.permissions.iter().cloned().collect())?;
        }
        let policy = &access.org.policy;
        if let Some(unknown) = permissions.iter().find(|p| !policy.has_permission(p)) {
            return Err(OrgError::InvalidPolicy(PolicyError::unknown_permission(
                unknown,
            )));
        }
        access.covering(&permissions.iter().cloned().collect())?;
        require_recent_auth(&self.ports, &self.config, caller)?;
        let mapping = GroupMapping {
            id: existing.as_ref().map_or_else(Uuid::now_v7, |m| m.id),
            organization_id: access.org.id,
            client_id: access.org.client_id,
            source,
            group,
            role,
            permissions,
        };
        let event_type = if existing.is_some() {
            EventType::OrganizationGroupMappingUpdated
        } else {
            EventType::OrganizationGroupMappingCreated
        };
        let mut event = org_event(ctx, &caller.user, &access.org, event_type)
            .metadata(json!({ "mapping_id": mapping.id.to_string() }))
            .after(mapping_json(&mapping));
        if let Some(before) = &existing {
            event = event.before(mapping_json(before));
        }
        let event = event.at(self.ports.clock.now());
        self.ports
            .org_authorization
            .save_group_mapping(&mapping, &event)
            .await?;
        self.changed(access.org.id).await?;
        Ok(mapping)
    }

    /// Deletes a mapping (`authorization:write`).
    pub async fn delete_mapping(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
        org: &str,
        id: &str,
    ) -> Result<(), OrgError> {
        let access = access(
            &self.ports,
            caller,
            org,
            Some(OrgPermission::AuthorizationWrite),
        )
        .await?;
        let id = parse_id(id)?;
        require_recent_auth(&self.ports, &self.config, caller)?;
        let event = org_event(
            ctx,
            &caller.user,
            &access.org,
            EventType::OrganizationGroupMappingDeleted,
        )
        .metadata(json!({ "mapping_id": id.to_string() }))
        .at(self.ports.clock.now());
        self.ports
            .org_authorization
            .delete_group_mapping(access.org.client_id, access.org.id, id, &event)
            .await
            .map_err(|e| match e {
                crate::ports::OrgWriteError::NotFound => OrgError::MappingNotFound,
                other => other.into(),
            })?;
        self.changed(access.org.id).await
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

fn parse_id(raw: &str) -> Result<Uuid, OrgError> {
    Uuid::try_parse(raw.trim()).map_err(|_| ValidationError::new("id", "must be a UUID").into())
}

/// A group's name: 1–256 characters, no control characters.
fn group_name(raw: &str) -> Result<String, ValidationError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 256 || name.chars().any(char::is_control) {
        return Err(ValidationError::new("group", "must be 1 to 256 characters"));
    }
    Ok(name.to_owned())
}

/// The JSON of a mapping (API answers and audit snapshots).
#[must_use]
pub fn mapping_json(m: &GroupMapping) -> Value {
    json!({
        "id": m.id.to_string(),
        "source": m.source.as_str(),
        "group": m.group,
        "role": m.role.as_ref().map(OrgRole::as_str),
        "permissions": m.permissions,
    })
}
