//! Operators: the break-glass key, admin users with roles and scopes, their sign-in with a
//! mandatory second factor, and their sessions.

mod accounts;
mod authenticate_admin;
mod sign_in;
mod sso;

use std::sync::Arc;
use std::time::Duration;

use authservice_domain::admin::{AdminRole, AdminUser, built_in_permissions};
use authservice_domain::secret::sha256;
use authservice_domain::{AdminKind, AdminPrincipal, Permission};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

pub use accounts::{
    AdminRoleInput, AdminSetup, AdminUserInput, AdminUserPatch, ManageAdmins, ManageAdminsError,
    SETUP_TTL, ScopeInput,
};
pub use authenticate_admin::{
    AdminCredentialsPresented, AuthenticateAdmin, AuthenticateAdminError,
};
pub use sign_in::{
    AdminAuthError, AdminEnrollment, AdminLoginInput, AdminLoginOutcome, AdminSignIn, AdminTokens,
};
pub use sso::{AdminSso, AdminSsoConfig, AdminSsoStart};

use crate::limits::Limits;
use crate::ports::{
    AdminRepository, AuditLog, ClientRepository, Clock, PasswordHasher, Ports, Random, SecretBox,
    TotpEngine,
};

/// Lifetimes of admin credentials.
#[derive(Debug, Clone, Copy)]
pub struct AdminAuthConfig {
    /// `ADMIN_ACCESS_TTL`: an admin access token (default 15 min).
    pub access_ttl: Duration,
    /// `ADMIN_SESSION_TTL`: an admin session, whatever the refreshes (default 8 h).
    pub session_ttl: Duration,
    /// How long a first sign-in's TOTP enrolment stays open (10 min).
    pub enrollment_ttl: Duration,
}

impl Default for AdminAuthConfig {
    fn default() -> Self {
        Self {
            access_ttl: Duration::from_secs(15 * 60),
            session_ttl: Duration::from_secs(8 * 3600),
            enrollment_ttl: Duration::from_secs(10 * 60),
        }
    }
}

/// The ports the operator use cases use.
#[derive(Clone)]
pub struct AdminPorts {
    pub admins: Arc<dyn AdminRepository>,
    pub clients: Arc<dyn ClientRepository>,
    pub passwords: Arc<dyn PasswordHasher>,
    pub totp: Arc<dyn TotpEngine>,
    pub secret_box: Arc<dyn SecretBox>,
    pub limits: Limits,
    pub audit: Arc<dyn AuditLog>,
    pub random: Arc<dyn Random>,
    pub clock: Arc<dyn Clock>,
}

impl AdminPorts {
    #[must_use]
    pub fn of(ports: &Ports) -> Self {
        Self {
            admins: ports.admins.clone(),
            clients: ports.clients.clone(),
            passwords: ports.passwords.clone(),
            totp: ports.totp.clone(),
            secret_box: ports.secret_box.clone(),
            limits: ports.limits.clone(),
            audit: ports.audit.clone(),
            random: ports.random.clone(),
            clock: ports.clock.clone(),
        }
    }

    /// A new opaque token (`prefix` + 43 characters) and its digest.
    fn token(&self, prefix: &str) -> (String, [u8; 32]) {
        let token = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(self.random.bytes32()));
        let hash = sha256(token.as_bytes());
        (token, hash)
    }
}

/// The principal of a signed-in admin user: the union of its roles' permissions (built-in or
/// custom; a role deleted meanwhile grants nothing).
#[must_use]
pub fn principal_of(admin: &AdminUser, session: Uuid, custom: &[AdminRole]) -> AdminPrincipal {
    let mut permissions: Vec<Permission> = Vec::new();
    for role in &admin.roles {
        let granted = built_in_permissions(role).unwrap_or_else(|| {
            custom
                .iter()
                .find(|r| &r.name == role)
                .map(|r| r.permissions.clone())
                .unwrap_or_default()
        });
        for p in granted {
            if !permissions.contains(&p) {
                permissions.push(p);
            }
        }
    }
    AdminPrincipal {
        kind: AdminKind::AdminUser,
        actor_id: admin.id.to_string(),
        permissions,
        scope: admin.scope.clone(),
        session: Some(session),
    }
}

/// The roles an account names that are custom (the built-in ones need no lookup).
fn needs_custom_roles(admin: &AdminUser) -> bool {
    admin
        .roles
        .iter()
        .any(|r| built_in_permissions(r).is_none())
}
