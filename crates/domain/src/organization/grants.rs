//! Group mappings and the one rule that turns a member's role and groups into permissions,
//! with what granted each (the simulator's explanation).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use uuid::Uuid;

use super::{AuthorizationPolicy, OrgRole, OrganizationId};
use crate::client::{ClientId, ValidationError};

/// Where a member's groups come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupSource {
    Sso,
    Scim,
}

impl GroupSource {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sso => "sso",
            Self::Scim => "scim",
        }
    }

    /// # Errors
    /// Neither `sso` nor `scim`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw {
            "sso" => Ok(Self::Sso),
            "scim" => Ok(Self::Scim),
            _ => Err(ValidationError::new("source", "must be sso or scim")),
        }
    }
}

/// A member's groups, by source (fed by SSO and SCIM).
pub type MemberGroups = BTreeMap<GroupSource, Vec<String>>;

/// "Members in group `group` of `source` get `role` and/or `permissions`."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMapping {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub client_id: ClientId,
    pub source: GroupSource,
    pub group: String,
    pub role: Option<OrgRole>,
    pub permissions: Vec<String>,
}

/// What granted a permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    Role(OrgRole),
    Mapping { id: Uuid, group: String },
}

/// A member's effective permissions: their role's, plus every mapping whose group they are in
/// (its role's and its own permissions), each permission with what granted it.
#[must_use]
pub fn effective_permissions(
    policy: &AuthorizationPolicy,
    role: &OrgRole,
    groups: &MemberGroups,
    mappings: &[GroupMapping],
) -> BTreeMap<String, Vec<Grant>> {
    let mut out: BTreeMap<String, Vec<Grant>> = BTreeMap::new();
    for permission in policy.role_permissions(role).unwrap_or_default().iter() {
        out.entry(permission.to_owned())
            .or_default()
            .push(Grant::Role(role.clone()));
    }
    for mapping in mappings {
        let member_of = groups
            .get(&mapping.source)
            .is_some_and(|g| g.contains(&mapping.group));
        if !member_of {
            continue;
        }
        let from_role = mapping
            .role
            .as_ref()
            .and_then(|r| policy.role_permissions(r))
            .unwrap_or_default();
        let grant = Grant::Mapping {
            id: mapping.id,
            group: mapping.group.clone(),
        };
        for permission in from_role
            .iter()
            .map(str::to_owned)
            .chain(mapping.permissions.iter().cloned())
        {
            let grants = out.entry(permission).or_default();
            if !grants.contains(&grant) {
                grants.push(grant.clone());
            }
        }
    }
    out
}

/// Member groups as stored: `{"sso": [..], "scim": [..]}`.
#[must_use]
pub fn groups_to_value(groups: &MemberGroups) -> Value {
    Value::Object(
        groups
            .iter()
            .map(|(source, names)| (source.as_str().to_owned(), json!(names)))
            .collect(),
    )
}

/// Member groups from their stored form (unknown sources are ignored).
#[must_use]
pub fn groups_from_value(value: &Value) -> MemberGroups {
    let mut groups = MemberGroups::new();
    if let Value::Object(map) = value {
        for (key, names) in map {
            if let (Ok(source), Value::Array(names)) = (GroupSource::parse(key), names) {
                groups.insert(
                    source,
                    names
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect(),
                );
            }
        }
    }
    groups
}
