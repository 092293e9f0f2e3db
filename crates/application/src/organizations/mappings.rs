//! Group mappings: "members in group G of SSO or SCIM get role R and/or permissions P". What a
//! mapping grants must exist in the policy and be held by whoever writes it.

use authservice_domain::organization::{
    GroupMapping, GroupSource, OrgPermission, OrgRole, PolicyError,
};
use authservice_domain::{EventType, ValidationError};
use serde_json::{Value, json};
use uuid::Uuid;

use super::authorization::ManageAuthorization;
use super::{OrgError, access, org_event, require_recent_auth};
use crate::auth::AuthenticatedUser;
use crate::context::RequestCtx;

/// A group mapping's fields as sent: all of them on create, those present on update
/// (`role: null` removes the role).
#[derive(Debug, Clone, Default)]
pub struct MappingInput {
    pub source: Option<String>,
    pub group: Option<String>,
    pub role: Option<Option<String>>,
    pub permissions: Option<Vec<String>>,
}

impl ManageAuthorization {
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
