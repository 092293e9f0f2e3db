use crate::Claims;

/// What a route requires of an authenticated caller.
#[derive(Debug, Clone, Default)]
pub struct Requirements {
    /// Every one of these scopes.
    pub scopes: Vec<String>,
    /// An organization role at least this strong (`viewer` < `member` < `admin` < `owner`).
    pub org_role: Option<String>,
    /// Every one of these organization permissions (`members:*` grants `members:read`, ...).
    pub org_permissions: Vec<String>,
    /// A `token_use` (`access`, `client_credentials`).
    pub token_use: Option<String>,
}

/// Why an authenticated caller may not proceed (answer 403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizationError {
    #[error("missing scope {0}")]
    MissingScope(String),
    #[error("organization role {0} or higher required")]
    OrgRole(String),
    #[error("missing organization permission {0}")]
    MissingPermission(String),
    #[error("token_use {0} required")]
    WrongTokenUse(String),
}

impl AuthorizationError {
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingScope(_) => "insufficient_scope",
            Self::OrgRole(_) => "insufficient_role",
            Self::MissingPermission(_) => "missing_permission",
            Self::WrongTokenUse(_) => "wrong_token_use",
        }
    }
}

fn role_rank(role: &str) -> Option<u8> {
    match role {
        "viewer" => Some(1),
        "member" => Some(2),
        "admin" => Some(3),
        "owner" => Some(4),
        _ => None,
    }
}

fn permission_granted(granted: &[String], wanted: &str) -> bool {
    granted.iter().any(|g| {
        g == wanted
            || g == "*"
            || g.strip_suffix(":*")
                .is_some_and(|area| wanted.split(':').next() == Some(area))
    })
}

/// Checks `requirements` against verified `claims`.
///
/// ```
/// use authservice_validator::{Claims, Requirements, authorize};
/// let claims = Claims { scope: "read:users write:users".into(), ..Claims::default() };
/// let needs = Requirements { scopes: vec!["read:users".into()], ..Requirements::default() };
/// assert!(authorize(&claims, &needs).is_ok());
/// let more = Requirements { scopes: vec!["admin".into()], ..Requirements::default() };
/// assert_eq!(authorize(&claims, &more).unwrap_err().code(), "insufficient_scope");
/// ```
///
/// # Errors
/// The first unmet requirement.
pub fn authorize(claims: &Claims, requirements: &Requirements) -> Result<(), AuthorizationError> {
    if let Some(use_) = &requirements.token_use
        && &claims.token_use != use_
    {
        return Err(AuthorizationError::WrongTokenUse(use_.clone()));
    }
    let scopes = claims.all_scopes();
    if let Some(missing) = requirements
        .scopes
        .iter()
        .find(|s| !scopes.contains(&s.as_str()))
    {
        return Err(AuthorizationError::MissingScope(missing.clone()));
    }
    if let Some(role) = &requirements.org_role {
        let needed = role_rank(role).unwrap_or(u8::MAX);
        if role_rank(&claims.org_role).is_none_or(|have| have < needed) {
            return Err(AuthorizationError::OrgRole(role.clone()));
        }
    }
    if let Some(missing) = requirements
        .org_permissions
        .iter()
        .find(|p| !permission_granted(&claims.org_permissions, p))
    {
        return Err(AuthorizationError::MissingPermission(missing.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_permissions_and_token_use() {
        let claims = Claims {
            org_role: "admin".into(),
            org_permissions: vec!["members:*".into(), "org:read".into()],
            token_use: "access".into(),
            ..Claims::default()
        };
        let req = |role: Option<&str>, perms: &[&str]| Requirements {
            org_role: role.map(str::to_owned),
            org_permissions: perms.iter().map(|p| (*p).to_owned()).collect(),
            ..Requirements::default()
        };
        assert!(
            authorize(
                &claims,
                &req(Some("member"), &["members:invite", "org:read"])
            )
            .is_ok()
        );
        assert_eq!(
            authorize(&claims, &req(Some("owner"), &[]))
                .unwrap_err()
                .code(),
            "insufficient_role"
        );
        assert_eq!(
            authorize(&claims, &req(None, &["org:update"]))
                .unwrap_err()
                .code(),
            "missing_permission"
        );
        let machine = Requirements {
            token_use: Some("client_credentials".into()),
            ..Requirements::default()
        };
        assert_eq!(
            authorize(&claims, &machine).unwrap_err().code(),
            "wrong_token_use"
        );
    }
}
