//! An organization's own authorization policy: custom permissions and roles (with
//! inheritance), versioned, checked as a whole when written.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::{BUILTIN_ROLES, OrgPermission, OrgRole, RoleSet};

/// Why a policy document was refused (the details name the culprit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// `unknown_permission`, `unknown_role`, `inheritance_cycle`, `duplicate`,
    /// `builtin_name`, `role_in_use`, `malformed`.
    pub reason: &'static str,
    pub message: String,
    pub role: Option<String>,
    pub permission: Option<String>,
}

impl PolicyError {
    fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
            role: None,
            permission: None,
        }
    }

    fn role(mut self, role: &str) -> Self {
        self.role = Some(role.to_owned());
        self
    }

    fn permission(mut self, permission: &str) -> Self {
        self.permission = Some(permission.to_owned());
        self
    }

    /// A permission the policy does not have.
    #[must_use]
    pub fn unknown_permission(permission: &str) -> Self {
        Self::new(
            "unknown_permission",
            format!("unknown permission {permission}"),
        )
        .permission(permission)
    }

    /// A role still held by members or mappings cannot be removed.
    #[must_use]
    pub fn role_in_use(role: &str) -> Self {
        Self::new("role_in_use", format!("role {role} is still assigned")).role(role)
    }

    #[must_use]
    pub fn details(&self) -> Value {
        json!({ "reason": self.reason, "role": self.role, "permission": self.permission })
    }
}

/// A permission the organization declares besides the built-in ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionDef {
    pub name: String,
    pub description: Option<String>,
}

/// A role the organization declares: its own permissions and the roles it inherits from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleDef {
    pub name: OrgRole,
    pub permissions: Vec<String>,
    pub inherits: Vec<OrgRole>,
}

/// `{permissions: [{name, description?}], roles: [{name, permissions, inherits?}], resources?}`
/// at a version (0: none declared yet, only the built-in roles).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuthorizationPolicy {
    pub version: u32,
    pub permissions: Vec<PermissionDef>,
    pub roles: Vec<RoleDef>,
    /// Free-form resource declarations the app keeps with the policy (not interpreted).
    pub resources: Value,
    /// Every declared role's full permission set, computed once when the policy is parsed.
    resolved: BTreeMap<OrgRole, RoleSet>,
}

fn is_builtin_permission(name: &str) -> bool {
    OrgPermission::ALL.iter().any(|p| p.as_str() == name)
}

fn is_builtin_role(name: &str) -> bool {
    BUILTIN_ROLES.iter().any(|(r, _)| *r == name)
}

/// The resources the built-in permissions are about: declared permissions may not use them.
const BUILTIN_RESOURCES: [&str; 5] = [
    "org",
    "members",
    "invitations",
    "authorization",
    "enterprise",
];

/// `resource:action`: lowercase letters, digits, `_`, `-`, `.`, one `:`; at most 100 characters;
/// no wildcard (validators read `resource:*` as every action) and no built-in resource.
fn permission_name(raw: &str) -> Result<String, PolicyError> {
    let ok = raw.len() <= 100
        && raw.split(':').count() == 2
        && raw.split(':').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.".contains(&b))
        })
        && !BUILTIN_RESOURCES.contains(&raw.split(':').next().unwrap_or_default());
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(PolicyError::new(
            "malformed",
            format!("{raw:?} is not a permission name (resource:action)"),
        )
        .permission(raw))
    }
}

/// A list of distinct strings, at most `max` of them.
fn strings(value: Option<&Value>, what: &str, max: usize) -> Result<Vec<String>, PolicyError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) if items.len() <= max => {
            let mut out: Vec<String> = Vec::with_capacity(items.len());
            for item in items {
                let s = item.as_str().ok_or_else(|| {
                    PolicyError::new("malformed", format!("{what} must be strings"))
                })?;
                if !out.iter().any(|seen| seen == s) {
                    out.push(s.to_owned());
                }
            }
            Ok(out)
        }
        Some(Value::Array(_)) => Err(PolicyError::new(
            "malformed",
            format!("{what} may list at most {max} entries"),
        )),
        Some(_) => Err(PolicyError::new(
            "malformed",
            format!("{what} must be an array"),
        )),
    }
}

impl AuthorizationPolicy {
    /// The most permissions or roles one policy declares (and permissions one role lists).
    pub const MAX_ENTRIES: usize = 200;
    /// The most roles one role inherits from directly.
    pub const MAX_INHERITS: usize = 20;

    /// Parses and checks a policy body (its `version` is set by the caller): every role's
    /// permissions exist, every inherited role exists, inheritance has no cycle, no name is
    /// declared twice or shadows a built-in one.
    ///
    /// # Errors
    /// The first problem found, named in the error's details.
    pub fn parse(body: &Value) -> Result<Self, PolicyError> {
        let Value::Object(map) = body else {
            return Err(PolicyError::new(
                "malformed",
                "the policy must be a JSON object",
            ));
        };
        for key in map.keys() {
            if !["version", "permissions", "roles", "resources"].contains(&key.as_str()) {
                return Err(PolicyError::new(
                    "malformed",
                    format!("{key} is not a policy field"),
                ));
            }
        }
        let mut policy = Self {
            resources: map.get("resources").cloned().unwrap_or(Value::Null),
            ..Self::default()
        };
        let empty = Vec::new();
        let list = |key: &str| match map.get(key) {
            None | Some(Value::Null) => Ok(&empty),
            Some(Value::Array(items)) if items.len() <= Self::MAX_ENTRIES => Ok(items),
            Some(_) => Err(PolicyError::new(
                "malformed",
                format!("{key} must be an array of at most 200 entries"),
            )),
        };
        for item in list("permissions")? {
            let name = item
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| PolicyError::new("malformed", "every permission needs a name"))?;
            let name = permission_name(name)?;
            if is_builtin_permission(&name) || policy.permissions.iter().any(|p| p.name == name) {
                return Err(PolicyError::new(
                    "duplicate",
                    format!("permission {name} is declared twice or is built in"),
                )
                .permission(&name));
            }
            let description = item
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned);
            policy.permissions.push(PermissionDef { name, description });
        }
        for item in list("roles")? {
            let raw = item
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| PolicyError::new("malformed", "every role needs a name"))?;
            let name = OrgRole::parse(raw)
                .map_err(|e| PolicyError::new("malformed", e.message).role(raw))?;
            if is_builtin_role(name.as_str()) {
                return Err(
                    PolicyError::new("builtin_name", format!("{raw} is a built-in role")).role(raw),
                );
            }
            if policy.roles.iter().any(|r| r.name == name) {
                return Err(
                    PolicyError::new("duplicate", format!("role {raw} is declared twice"))
                        .role(raw),
                );
            }
            let permissions = strings(item.get("permissions"), "permissions", Self::MAX_ENTRIES)?;
            let inherits = strings(item.get("inherits"), "inherits", Self::MAX_INHERITS)?
                .iter()
                .map(|r| {
                    OrgRole::parse(r).map_err(|e| PolicyError::new("malformed", e.message).role(r))
                })
                .collect::<Result<Vec<_>, _>>()?;
            policy.roles.push(RoleDef {
                name,
                permissions,
                inherits,
            });
        }
        policy.check()?;
        policy.resolved = policy.resolve()?;
        Ok(policy)
    }

    fn check(&self) -> Result<(), PolicyError> {
        for role in &self.roles {
            for permission in &role.permissions {
                if !self.has_permission(permission) {
                    return Err(PolicyError::new(
                        "unknown_permission",
                        format!(
                            "role {} grants unknown permission {permission}",
                            role.name.as_str()
                        ),
                    )
                    .role(role.name.as_str())
                    .permission(permission));
                }
            }
            for parent in &role.inherits {
                if !is_builtin_role(parent.as_str())
                    && !self.roles.iter().any(|r| r.name == *parent)
                {
                    return Err(PolicyError::new(
                        "unknown_role",
                        format!(
                            "role {} inherits unknown role {}",
                            role.name.as_str(),
                            parent.as_str()
                        ),
                    )
                    .role(parent.as_str()));
                }
            }
        }
        Ok(())
    }

    /// Every declared role's full permission set: its own and its ancestors', each role
    /// visited once (a cycle is refused).
    fn resolve(&self) -> Result<BTreeMap<OrgRole, RoleSet>, PolicyError> {
        let mut done: BTreeMap<OrgRole, BTreeSet<String>> = BTreeMap::new();
        let mut visiting: BTreeSet<OrgRole> = BTreeSet::new();
        for role in &self.roles {
            self.visit(&role.name, &mut visiting, &mut done)?;
        }
        Ok(done
            .into_iter()
            .map(|(role, set)| (role, set.into_iter().collect()))
            .collect())
    }

    fn visit(
        &self,
        role: &OrgRole,
        visiting: &mut BTreeSet<OrgRole>,
        done: &mut BTreeMap<OrgRole, BTreeSet<String>>,
    ) -> Result<BTreeSet<String>, PolicyError> {
        if let Some(set) = done.get(role) {
            return Ok(set.clone());
        }
        if let Some(def) = self.roles.iter().find(|r| r.name == *role) {
            if !visiting.insert(role.clone()) {
                return Err(PolicyError::new(
                    "inheritance_cycle",
                    format!("role {} inherits from itself", role.as_str()),
                )
                .role(role.as_str()));
            }
            let mut all: BTreeSet<String> = def.permissions.iter().cloned().collect();
            for parent in &def.inherits {
                all.extend(self.visit(parent, visiting, done)?);
            }
            visiting.remove(role);
            done.insert(role.clone(), all.clone());
            return Ok(all);
        }
        Ok(self
            .builtin_role_permissions(role)
            .map(|set| set.iter().map(str::to_owned).collect())
            .unwrap_or_default())
    }

    /// Whether `name` is a built-in permission or one this policy declares.
    #[must_use]
    pub fn has_permission(&self, name: &str) -> bool {
        is_builtin_permission(name) || self.permissions.iter().any(|p| p.name == name)
    }

    /// The permissions `role` grants: a built-in role's (the owner's: every permission, the
    /// declared ones too), or a declared role's own and inherited ones; `None` for a role this
    /// organization does not have.
    #[must_use]
    pub fn role_permissions(&self, role: &OrgRole) -> Option<RoleSet> {
        self.builtin_role_permissions(role)
            .or_else(|| self.resolved.get(role).cloned())
    }

    fn builtin_role_permissions(&self, role: &OrgRole) -> Option<RoleSet> {
        if role.is_owner() {
            // The owner holds every permission, the organization's own ones too.
            let builtin = role.builtin_permissions().unwrap_or_default();
            return Some(
                builtin
                    .iter()
                    .map(str::to_owned)
                    .chain(self.permissions.iter().map(|p| p.name.clone()))
                    .collect(),
            );
        }
        role.builtin_permissions()
    }

    /// Every role: the built-in ones, then the declared ones.
    #[must_use]
    pub fn roles(&self) -> Vec<OrgRole> {
        BUILTIN_ROLES
            .iter()
            .filter_map(|(name, _)| OrgRole::parse(name).ok())
            .chain(self.roles.iter().map(|r| r.name.clone()))
            .collect()
    }

    /// The stored form (without the version, which is stored beside it).
    #[must_use]
    pub fn to_value(&self) -> Value {
        json!({
            "permissions": self.permissions.iter().map(|p| json!({"name": p.name, "description": p.description})).collect::<Vec<_>>(),
            "roles": self.roles.iter().map(|r| json!({
                "name": r.name.as_str(),
                "permissions": r.permissions,
                "inherits": r.inherits.iter().map(OrgRole::as_str).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "resources": self.resources,
        })
    }
}

impl AuthorizationPolicy {
    /// A stored policy at `version` (an empty document for version 0).
    ///
    /// # Errors
    /// The stored document does not parse (it was checked when written).
    pub fn stored(document: &Value, version: u32) -> Result<Self, PolicyError> {
        let mut policy = if version == 0 {
            Self::default()
        } else {
            Self::parse(document)?
        };
        policy.version = version;
        Ok(policy)
    }
}
