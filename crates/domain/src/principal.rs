//! Who is calling, and what they may do.
//!
//! Handlers never decide access themselves: use cases call `RequestCtx::require(permission)`,
//! which consults the principal. The break-glass admin key holds every permission with global
//! scope; admin users with roles (later) map their roles to a permission set and a scope, so
//! adding them touches the authenticator, not the handlers.

use crate::client::ClientId;
use crate::organization::OrganizationId;

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
    /// Manage admin users and roles (with scope `all` only).
    AdminsManage,
    /// Change a user's address or mark it verified (who holds it can take the account over
    /// through a reset link, so not every support role has it).
    UsersIdentity,
    /// Erase a user (irreversible).
    UsersErase,
    /// Place and release legal holds on the audit trail.
    AuditHold,
    /// Purge the audit trail past its retention (with scope `all`).
    AuditPurge,
}

impl Permission {
    pub const ALL: [Permission; 13] = [
        Self::ClientsRead,
        Self::ClientsCreate,
        Self::ClientsUpdate,
        Self::ClientsRotateKeys,
        Self::AuditRead,
        Self::TokensRevoke,
        Self::UsersRead,
        Self::UsersUpdate,
        Self::AdminsManage,
        Self::UsersIdentity,
        Self::UsersErase,
        Self::AuditHold,
        Self::AuditPurge,
    ];

    /// The permission named `raw` (`clients:read`, ...).
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == raw)
    }

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
            Self::AdminsManage => "admins:manage",
            Self::UsersIdentity => "users:identity",
            Self::UsersErase => "users:erase",
            Self::AuditHold => "audit:hold",
            Self::AuditPurge => "audit:purge",
        }
    }
}

/// Which clients an admin principal may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminScope {
    All,
    Clients(Vec<ClientId>),
    /// One organization of one client: only routes naming that organization.
    Organization {
        client: ClientId,
        organization: OrganizationId,
    },
}

/// How the admin authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminKind {
    /// The `ADMIN_API_KEY` from the settings.
    BreakGlassKey,
    /// An admin user signed in with password and TOTP (a bearer admin session).
    AdminUser,
    /// The `authservice admin` command on the server's host.
    Console,
}

/// An authenticated operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminPrincipal {
    pub kind: AdminKind,
    /// Stable identifier written to audit events as `actor_id`.
    pub actor_id: String,
    pub permissions: Vec<Permission>,
    pub scope: AdminScope,
    /// The admin session of an [`AdminKind::AdminUser`].
    pub session: Option<uuid::Uuid>,
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
            session: None,
        }
    }

    /// The operator at the server's console (`authservice admin ...`).
    #[must_use]
    pub fn console() -> Self {
        Self {
            kind: AdminKind::Console,
            actor_id: "console".to_owned(),
            ..Self::break_glass()
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
            AdminScope::Organization { .. } => false,
        }
    }

    /// Whether the scope reaches organization `organization` of `client`: any of the client's
    /// organizations for a client scope, that one only for an organization scope.
    #[must_use]
    pub fn can_access_organization(&self, client: ClientId, organization: OrganizationId) -> bool {
        match &self.scope {
            AdminScope::Organization {
                client: c,
                organization: o,
            } => *c == client && *o == organization,
            _ => self.can_access_client(client),
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
            session: None,
        };
        assert!(admin.can_access_client(mine));
        assert!(!admin.can_access_client(other));
        assert!(!admin.has(Permission::ClientsCreate));
    }
}
