//! Operators' own accounts: admin users with roles, a scope and a mandatory second factor.
//!
//! A role is a named set of [`Permission`]s: four are built in, more can be defined
//! ([`AdminRole`]). The scope says which tenants the permissions reach ([`AdminScope`]).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::client::{ClientId, ValidationError};
use crate::organization::OrganizationId;
use crate::principal::{AdminScope, Permission};
use crate::user::Email;

/// The roles every installation has.
pub const BUILT_IN_ROLES: [&str; 4] = ["super_admin", "client_admin", "support", "auditor"];

/// Permissions of a built-in role, `None` for any other name.
#[must_use]
pub fn built_in_permissions(role: &str) -> Option<Vec<Permission>> {
    use Permission as P;
    Some(match role {
        "super_admin" => P::ALL.to_vec(),
        "client_admin" => vec![
            P::ClientsRead,
            P::ClientsUpdate,
            P::ClientsRotateKeys,
            P::AuditRead,
            P::TokensRevoke,
            P::UsersRead,
            P::UsersUpdate,
            P::UsersIdentity,
            P::UsersErase,
        ],
        "support" => vec![
            P::ClientsRead,
            P::AuditRead,
            P::TokensRevoke,
            P::UsersRead,
            P::UsersUpdate,
        ],
        "auditor" => vec![P::ClientsRead, P::AuditRead, P::UsersRead],
        _ => return None,
    })
}

/// A role defined by the operators of this installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRole {
    pub name: String,
    pub description: String,
    pub permissions: Vec<Permission>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Checks a custom role's name: 2–64 of `a-z 0-9 _ -`, starting with a letter, not a
/// built-in name.
pub fn parse_role_name(raw: &str) -> Result<String, ValidationError> {
    let name = raw.trim();
    let ok = (2..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !ok {
        return Err(ValidationError::new(
            "name",
            "must be 2-64 characters of a-z, 0-9, '_' and '-', starting with a letter",
        ));
    }
    if BUILT_IN_ROLES.contains(&name) {
        return Err(ValidationError::new("name", "is a built-in role"));
    }
    Ok(name.to_owned())
}

/// Parses permission names (`clients:read`, ...): at least one, each known, no repeats kept.
pub fn parse_permissions(raw: &[String]) -> Result<Vec<Permission>, ValidationError> {
    let mut out = Vec::new();
    for name in raw {
        let p = Permission::parse(name.trim()).ok_or_else(|| {
            ValidationError::new("permissions", format!("'{name}' is not a permission"))
        })?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    if out.is_empty() {
        return Err(ValidationError::new(
            "permissions",
            "must name at least one",
        ));
    }
    Ok(out)
}

/// Whether an admin account may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminStatus {
    Active,
    Disabled,
}

impl AdminStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw {
            "active" => Ok(Self::Active),
            "disabled" => Ok(Self::Disabled),
            _ => Err(ValidationError::new(
                "status",
                "must be 'active' or 'disabled'",
            )),
        }
    }
}

/// An operator's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUser {
    pub id: Uuid,
    pub email: Email,
    pub roles: Vec<String>,
    pub scope: AdminScope,
    pub status: AdminStatus,
    pub has_password: bool,
    pub totp_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

/// Checks role names: 1–20 distinct names (whether each exists is checked against the store).
pub fn parse_roles(raw: &[String]) -> Result<Vec<String>, ValidationError> {
    let mut out: Vec<String> = Vec::new();
    for r in raw {
        let r = r.trim().to_owned();
        if r.is_empty() || r.len() > 64 {
            return Err(ValidationError::new(
                "roles",
                "names a role that is not valid",
            ));
        }
        if !out.contains(&r) {
            out.push(r);
        }
    }
    if out.is_empty() || out.len() > 20 {
        return Err(ValidationError::new("roles", "must name 1 to 20 roles"));
    }
    Ok(out)
}

/// The scope as written in requests: `{type: "all"|"client"|"organization", id?}`. An
/// organization scope also names the organization's client, which the caller looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeRequest {
    All,
    Client(ClientId),
    Organization(OrganizationId),
}

impl ScopeRequest {
    pub fn parse(kind: &str, id: Option<&str>) -> Result<Self, ValidationError> {
        let uuid = || {
            id.and_then(|raw| Uuid::parse_str(raw.trim()).ok())
                .ok_or_else(|| ValidationError::new("scope.id", "must be a UUID for this scope"))
        };
        match kind {
            "all" if id.is_none() => Ok(Self::All),
            "all" => Err(ValidationError::new(
                "scope.id",
                "must be absent for scope 'all'",
            )),
            "client" => Ok(Self::Client(ClientId::from_uuid(uuid()?))),
            "organization" => Ok(Self::Organization(OrganizationId::from_uuid(uuid()?))),
            _ => Err(ValidationError::new(
                "scope.type",
                "must be 'all', 'client' or 'organization'",
            )),
        }
    }
}

/// `(type, id)` of a scope, as stored and answered.
#[must_use]
pub fn scope_parts(scope: &AdminScope) -> (&'static str, Option<Uuid>) {
    match scope {
        AdminScope::All => ("all", None),
        AdminScope::Clients(ids) => ("client", ids.first().map(ClientId::as_uuid)),
        AdminScope::Organization { organization, .. } => {
            ("organization", Some(organization.as_uuid()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_roles_grant_least_privilege() {
        let auditor = built_in_permissions("auditor").unwrap();
        assert!(!auditor.contains(&Permission::UsersUpdate));
        assert!(!auditor.contains(&Permission::ClientsUpdate));
        let client_admin = built_in_permissions("client_admin").unwrap();
        assert!(!client_admin.contains(&Permission::ClientsCreate));
        assert!(!client_admin.contains(&Permission::AdminsManage));
        let support = built_in_permissions("support").unwrap();
        assert!(!support.contains(&Permission::UsersIdentity));
        assert!(!support.contains(&Permission::UsersErase));
        assert!(
            built_in_permissions("super_admin")
                .unwrap()
                .contains(&Permission::AdminsManage)
        );
        assert!(built_in_permissions("owner").is_none());
    }

    #[test]
    fn custom_role_names_and_permissions_are_checked() {
        assert!(parse_role_name("support").is_err());
        assert!(parse_role_name("Read Only").is_err());
        assert_eq!(parse_role_name("read-only").unwrap(), "read-only");
        assert!(parse_permissions(&["clients:read".into(), "nope".into()]).is_err());
        assert!(parse_permissions(&[]).is_err());
        assert_eq!(
            parse_permissions(&["audit:read".into(), "audit:read".into()]).unwrap(),
            vec![Permission::AuditRead]
        );
    }

    #[test]
    fn scopes_parse() {
        assert_eq!(ScopeRequest::parse("all", None).unwrap(), ScopeRequest::All);
        assert!(ScopeRequest::parse("all", Some("x")).is_err());
        assert!(ScopeRequest::parse("client", None).is_err());
        assert!(ScopeRequest::parse("tenant", None).is_err());
        let id = Uuid::new_v4().to_string();
        assert!(matches!(
            ScopeRequest::parse("organization", Some(&id)).unwrap(),
            ScopeRequest::Organization(_)
        ));
    }
}
