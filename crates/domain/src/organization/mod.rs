//! Organizations: the customer companies of a tenant's app, their members and roles. Every
//! organization belongs to one client; nothing of it shows through another client.

mod authorization;
mod domain;
mod grants;
mod invitation;
mod roles;
mod security;

pub use authorization::{AuthorizationPolicy, PermissionDef, PolicyError, RoleDef};
pub use domain::{DomainStatus, OrgDomain, TXT_LABEL, TXT_VALUE_PREFIX, parse_domain};
pub use grants::{
    Grant, GroupMapping, GroupSource, MemberGroups, effective_permissions, groups_from_value,
    groups_to_value,
};
pub use invitation::{DEFAULT_INVITATION_DAYS, Invitation, InvitationStatus, MAX_INVITATION_DAYS};
pub use roles::{BUILTIN_ROLES, OrgPermission, OrgRole, RoleSet};
pub use security::SecurityPolicy;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::client::{ClientId, ClientName, Slug, ValidationError};
use crate::user::UserId;

/// An organization's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrganizationId(Uuid);

impl OrganizationId {
    #[must_use]
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    #[must_use]
    pub fn as_uuid(self) -> Uuid {
        self.0
    }
}

impl std::fmt::Display for OrganizationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// How a route names an organization: its id, or its slug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgRef {
    Id(OrganizationId),
    Slug(Slug),
}

impl OrgRef {
    /// A UUID is an id (slugs may not look like one); anything else must be a valid slug.
    ///
    /// # Errors
    /// Neither an id nor a slug.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if let Ok(id) = Uuid::try_parse(raw.trim()) {
            return Ok(Self::Id(OrganizationId(id)));
        }
        Slug::parse(raw)
            .map(Self::Slug)
            .map_err(|_| ValidationError::new("org", "must be an organization id or slug"))
    }
}

/// The largest `metadata` object, serialized.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// An organization of a client.
#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    pub id: OrganizationId,
    pub client_id: ClientId,
    pub name: ClientName,
    pub slug: Slug,
    /// A JSON object the app keeps with the organization (at most 16 KiB).
    pub metadata: Value,
    pub logo_url: Option<LogoUrl>,
    pub security: SecurityPolicy,
    /// The current version of its own roles and permissions (version 0: built-in roles only).
    pub policy: AuthorizationPolicy,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Organization {
    /// Validates a slug for an organization: a slug that is also a UUID could not be told
    /// from an id in routes.
    ///
    /// # Errors
    /// Not a slug, or shaped like a UUID.
    pub fn slug(raw: &str) -> Result<Slug, ValidationError> {
        let slug = Slug::parse(raw)?;
        if Uuid::try_parse(slug.as_str()).is_ok() {
            return Err(ValidationError::new("slug", "must not be a UUID"));
        }
        Ok(slug)
    }

    /// Validates `metadata`: a JSON object of at most [`MAX_METADATA_BYTES`].
    ///
    /// # Errors
    /// Not an object, or too large.
    pub fn metadata(value: Value) -> Result<Value, ValidationError> {
        let value = match value {
            Value::Null => Value::Object(serde_json::Map::new()),
            Value::Object(_) => value,
            _ => return Err(ValidationError::new("metadata", "must be a JSON object")),
        };
        if value.to_string().len() > MAX_METADATA_BYTES {
            return Err(ValidationError::new("metadata", "must be at most 16 KiB"));
        }
        Ok(value)
    }
}

/// An organization's logo: an `https` URL of at most 2048 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoUrl(String);

impl LogoUrl {
    /// # Errors
    /// Not an absolute `https` URL, or too long.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let raw = raw.trim();
        let bad = || ValidationError::new("logo_url", "must be an https URL");
        if raw.len() > 2048 {
            return Err(ValidationError::new(
                "logo_url",
                "must be at most 2048 characters",
            ));
        }
        let url = url::Url::parse(raw).map_err(|_| bad())?;
        if url.scheme() != "https" || url.host_str().is_none() {
            return Err(bad());
        }
        Ok(Self(url.to_string()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user's place in an organization.
#[derive(Debug, Clone, PartialEq)]
pub struct Membership {
    /// Orders members by joining (the cursor of member pages).
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub role: OrgRole,
    /// The member's groups (SSO and SCIM feed them); group mappings grant by them.
    pub groups: MemberGroups,
    pub joined_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests;
