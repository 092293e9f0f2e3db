//! Who is calling, and what they may do.
//!
//! Handlers never decide access themselves: use cases call `RequestCtx::require(permission)`,
//! which consults the principal. The break-glass admin key holds every permission with global
//! scope; admin users with roles (later) map their roles to a permission set and a scope, so
//! adding them touches the authenticator, not the handlers.

use crate::client::ClientId;

/// An operation an admin principal may be allowed to perform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    ClientsRead,
    ClientsCreate,
    ClientsUpdate,
    ClientsRotateKeys,
    AuditRead,
    TokensRevoke,
    UsersRead,
    UsersUpdate,
}

impl Permission {
    pub const ALL: [Permission; 8] = [
        Self::ClientsRead,
        Self::ClientsCreate,
        Self::ClientsUpdate,
        Self::ClientsRotateKeys,
        Self::AuditRead,
        Self::TokensRevoke,
        Self::UsersRead,
        Self::UsersUpdate,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientsRead => "clients:read",
            Self::ClientsCreate => "clients:create",
            Self::ClientsUpdate => "clients:update",
            Self::ClientsRotateKeys => "clients:rotate_keys",
            Self::AuditRead => "audit:read",
            Self::TokensRevoke => "tokens:revoke",
            Self::UsersRead => "users:read",
            Self::UsersUpdate => "users:update",
        }
    }
}

/// Which clients an admin principal may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminScope {
    All,
    Clients(Vec<ClientId>),
}

/// How the admin authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminKind {
    /// The `ADMIN_API_KEY` from the settings.
    BreakGlassKey,
}

/// An authenticated operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminPrincipal {
    pub kind: AdminKind,
    /// Stable identifier written to audit events as `actor_id`.
    pub actor_id: String,
    pub permissions: Vec<Permission>,
    pub scope: AdminScope,
}

impl AdminPrincipal {
    /// The break-glass key: every permission, every client.
    #[must_use]
    pub fn break_glass() -> Self {
        Self {
            kind: AdminKind::BreakGlassKey,
            actor_id: "break-glass".to_owned(),
            permissions: Permission::ALL.to_vec(),
            scope: AdminScope::All,
        }
    }

    #[must_use]
    pub fn has(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    #[must_use]
    pub fn can_access_client(&self, client: ClientId) -> bool {
        match &self.scope {
            AdminScope::All => true,
            AdminScope::Clients(ids) => ids.contains(&client),
        }
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    Admin(AdminPrincipal),
    /// An application backend identified by its API key.
    Client(ClientId),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn break_glass_can_everything() {
        let admin = AdminPrincipal::break_glass();
        for p in Permission::ALL {
            assert!(admin.has(p));
        }
        assert!(admin.can_access_client(ClientId::from_uuid(uuid::Uuid::nil())));
    }

    #[test]
    fn scoped_admin_sees_only_its_clients() {
        let mine = ClientId::from_uuid(uuid::Uuid::from_u128(1));
        let other = ClientId::from_uuid(uuid::Uuid::from_u128(2));
        let admin = AdminPrincipal {
            kind: AdminKind::BreakGlassKey,
            actor_id: "x".into(),
            permissions: vec![Permission::ClientsRead],
            scope: AdminScope::Clients(vec![mine]),
        };
        assert!(admin.can_access_client(mine));
        assert!(!admin.can_access_client(other));
        assert!(!admin.has(Permission::ClientsCreate));
    }
}
