//! Managing admin users and custom roles (`admins:manage` with scope `all`: super admins, and
//! the server's console for the first account).
//!
//! A disabled or deleted account's sessions end in the same write; a changed role or scope
//! applies from the next request (the principal is read per request). An operator cannot
//! disable or delete their own account, nor take `admins:manage` from themselves.

use authservice_domain::admin::{
    AdminRole, AdminStatus, AdminUser, BUILT_IN_ROLES, ScopeRequest, built_in_permissions,
    parse_permissions, parse_role_name, parse_roles, scope_parts,
};
use authservice_domain::{
    AdminScope, Email, EventType, PasswordPolicy, Permission, Principal, ValidationError,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{AdminPorts, principal_of};
use crate::audit::record_to;
use crate::context::{Forbidden, RequestCtx};
use crate::error::{ErrorKind, UseCaseError};
use crate::pagination::{Page, PageError, PageRequest};
use crate::ports::{AdminWriteError, HashError};

#[derive(Debug, thiserror::Error)]
pub enum ManageAdminsError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Page(#[from] PageError),
    #[error("admin user not found")]
    NotFound,
    #[error("role not found")]
    RoleNotFound,
    #[error("another admin user has this email")]
    EmailTaken,
    #[error("{0}")]
    Conflict(&'static str),
    #[error("the password hasher is busy")]
    Busy,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<AdminWriteError> for ManageAdminsError {
    fn from(err: AdminWriteError) -> Self {
        match err {
            AdminWriteError::EmailTaken => Self::EmailTaken,
            AdminWriteError::Store(e) => Self::Unexpected(e),
        }
    }
}

impl From<HashError> for ManageAdminsError {
    fn from(err: HashError) -> Self {
        match err {
            HashError::Busy => Self::Busy,
            other => Self::Unexpected(anyhow::Error::new(other)),
        }
    }
}

impl UseCaseError for ManageAdminsError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::Invalid(_) => ErrorKind::InvalidRequest,
            Self::Page(PageError::BadCursor) => ErrorKind::InvalidCursor,
            Self::Page(PageError::BadLimit) => ErrorKind::InvalidRequest,
            Self::NotFound => ErrorKind::AdminUserNotFound,
            Self::RoleNotFound => ErrorKind::AdminRoleNotFound,
            Self::EmailTaken => ErrorKind::EmailTaken,
            Self::Conflict(_) => ErrorKind::Conflict,
            Self::Busy => ErrorKind::ServerBusy,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}

/// `scope: {type, id?}` as sent.
#[derive(Debug, Clone, Default)]
pub struct ScopeInput {
    pub kind: String,
    pub id: Option<String>,
}

/// `POST /api/admin/users`.
#[derive(Clone)]
pub struct AdminUserInput {
    pub email: String,
    /// Without one the account cannot sign in with a password (SSO only).
    pub password: Option<String>,
    pub roles: Vec<String>,
    pub scope: ScopeInput,
}

impl std::fmt::Debug for AdminUserInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminUserInput")
            .field("email", &self.email)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// The one-time token a new (or reset) account's owner needs for its first sign-in, with the
/// password: shown once, valid [`SETUP_TTL`].
#[derive(Clone)]
pub struct AdminSetup {
    pub token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

impl std::fmt::Debug for AdminSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminSetup([redacted])")
    }
}

/// How long a setup token works.
pub const SETUP_TTL: std::time::Duration = std::time::Duration::from_secs(72 * 3600);

/// `PATCH /api/admin/users/{id}`: each field changes when present.
#[derive(Clone, Default)]
pub struct AdminUserPatch {
    pub email: Option<String>,
    pub password: Option<String>,
    pub roles: Option<Vec<String>>,
    pub scope: Option<ScopeInput>,
    pub status: Option<String>,
    /// Removes the account's TOTP: it enrols again at the next sign-in.
    pub reset_totp: bool,
}

impl std::fmt::Debug for AdminUserPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminUserPatch")
            .field("roles", &self.roles)
            .field("status", &self.status)
            .field("reset_totp", &self.reset_totp)
            .finish_non_exhaustive()
    }
}

/// `PUT /api/admin/roles/{name}`.
#[derive(Debug, Clone, Default)]
pub struct AdminRoleInput {
    pub description: Option<String>,
    pub permissions: Vec<String>,
}

/// Admin passwords: at least 12 characters, and the rest of the default policy.
fn admin_password_policy() -> PasswordPolicy {
    PasswordPolicy {
        min_length: 12,
        ..PasswordPolicy::default()
    }
}

/// The account as written to audit events.
#[must_use]
pub fn snapshot(admin: &AdminUser) -> Value {
    let (scope_type, scope_id) = scope_parts(&admin.scope);
    json!({
        "email": admin.email.as_str(),
        "roles": admin.roles,
        "scope": { "type": scope_type, "id": scope_id },
        "status": admin.status.as_str(),
        "totp_enabled": admin.totp_enabled,
    })
}

pub struct ManageAdmins {
    ports: AdminPorts,
}

impl ManageAdmins {
    #[must_use]
    pub fn new(ports: AdminPorts) -> Self {
        Self { ports }
    }

    /// Only a holder of `admins:manage` with scope `all`.
    fn require(ctx: &RequestCtx) -> Result<(), ManageAdminsError> {
        let admin = ctx.require(Permission::AdminsManage)?;
        if admin.scope != AdminScope::All {
            return Err(Forbidden("admins:manage with scope all").into());
        }
        Ok(())
    }

    pub async fn list(
        &self,
        ctx: &RequestCtx,
        limit: Option<i64>,
        cursor: Option<&str>,
    ) -> Result<Page<AdminUser>, ManageAdminsError> {
        Self::require(ctx)?;
        let request = PageRequest::parse(limit, cursor)?;
        let rows = self.ports.admins.list(request).await?;
        let page = Page::from_overfetch(rows, request.limit, |a| a.id);
        let event = ctx
            .audit(EventType::AdminUsersListed)
            .metadata(json!({ "count": page.items.len() }))
            .at(self.ports.clock.now());
        record_to(self.ports.audit.as_ref(), &event).await;
        Ok(page)
    }

    pub async fn get(&self, ctx: &RequestCtx, id: &str) -> Result<AdminUser, ManageAdminsError> {
        Self::require(ctx)?;
        self.load(id).await
    }

    async fn load(&self, id: &str) -> Result<AdminUser, ManageAdminsError> {
        let id = Uuid::parse_str(id.trim()).map_err(|_| ManageAdminsError::NotFound)?;
        self.ports
            .admins
            .get(id)
            .await?
            .ok_or(ManageAdminsError::NotFound)
    }

    pub async fn create(
        &self,
        ctx: &RequestCtx,
        input: AdminUserInput,
    ) -> Result<(AdminUser, AdminSetup), ManageAdminsError> {
        Self::require(ctx)?;
        let email = Email::parse(&input.email)?;
        let roles = self.grantable_roles(ctx, &input.roles).await?;
        let scope = self.scope(&input.scope).await?;
        let hash = self
            .password_hash(input.password.as_deref(), &email)
            .await?;
        let now = self.ports.clock.now();
        let admin = AdminUser {
            id: Uuid::new_v4(),
            email,
            roles,
            scope,
            status: AdminStatus::Active,
            has_password: hash.is_some(),
            totp_enabled: false,
            created_at: now,
            updated_at: now,
            last_login_at: None,
        };
        self.ports.admins.insert(&admin, hash.as_deref()).await?;
        let setup = self.new_setup(admin.id).await?;
        let event = ctx
            .audit(EventType::AdminUserCreated)
            .target("admin_user", admin.id)
            .after(snapshot(&admin))
            .at(now);
        record_to(self.ports.audit.as_ref(), &event).await;
        Ok((admin, setup))
    }

    /// A new setup token for an account without a second factor.
    async fn new_setup(&self, id: Uuid) -> Result<AdminSetup, ManageAdminsError> {
        let (token, hash) = self.ports.token("adm_st_");
        let expires_at = self.ports.clock.now()
            + chrono::Duration::from_std(SETUP_TTL).map_err(anyhow::Error::new)?;
        if !self
            .ports
            .admins
            .set_setup_token(id, &hash, expires_at)
            .await?
        {
            return Err(ManageAdminsError::NotFound);
        }
        Ok(AdminSetup { token, expires_at })
    }

    pub async fn update(
        &self,
        ctx: &RequestCtx,
        id: &str,
        patch: AdminUserPatch,
    ) -> Result<(AdminUser, Option<AdminSetup>), ManageAdminsError> {
        Self::require(ctx)?;
        let before = self.load(id).await?;
        // A stolen session must not become a permanent takeover: one's own password, address
        // and authenticator change through the sign-in flows, not here.
        if self.is_caller(ctx, before.id)
            && (patch.password.is_some() || patch.email.is_some() || patch.reset_totp)
        {
            return Err(ManageAdminsError::Conflict(
                "an operator changes their own password, address or authenticator by signing in again, not here",
            ));
        }
        let mut admin = before.clone();
        if let Some(email) = &patch.email {
            admin.email = Email::parse(email)?;
        }
        if let Some(roles) = &patch.roles {
            admin.roles = self.grantable_roles(ctx, roles).await?;
        }
        if let Some(scope) = &patch.scope {
            admin.scope = self.scope(scope).await?;
        }
        if let Some(status) = &patch.status {
            admin.status = AdminStatus::parse(status)?;
        }
        let hash = match patch.password.as_deref() {
            Some(p) => self.password_hash(Some(p), &admin.email).await?,
            None => None,
        };
        if self.is_caller(ctx, admin.id) {
            let still_manages =
                principal_of(&admin, Uuid::nil(), &self.ports.admins.roles().await?)
                    .has(Permission::AdminsManage)
                    && admin.scope == AdminScope::All;
            if admin.status == AdminStatus::Disabled || !still_manages {
                return Err(ManageAdminsError::Conflict(
                    "an operator cannot disable their own account or take admins:manage from it",
                ));
            }
        }
        admin.has_password |= hash.is_some();
        if patch.reset_totp {
            admin.totp_enabled = false;
        }
        admin.updated_at = self.ports.clock.now();
        if !self
            .ports
            .admins
            .update(&admin, hash.as_deref(), patch.reset_totp)
            .await?
        {
            return Err(ManageAdminsError::NotFound);
        }
        let setup = if patch.reset_totp {
            Some(self.new_setup(admin.id).await?)
        } else {
            None
        };
        let event = ctx
            .audit(EventType::AdminUserUpdated)
            .target("admin_user", admin.id)
            .before(snapshot(&before))
            .after(snapshot(&admin))
            .metadata(json!({
                "password_changed": hash.is_some(),
                "totp_reset": patch.reset_totp,
            }))
            .at(admin.updated_at);
        record_to(self.ports.audit.as_ref(), &event).await;
        Ok((admin, setup))
    }

    pub async fn delete(&self, ctx: &RequestCtx, id: &str) -> Result<(), ManageAdminsError> {
        Self::require(ctx)?;
        let admin = self.load(id).await?;
        if self.is_caller(ctx, admin.id) {
            return Err(ManageAdminsError::Conflict(
                "an operator cannot delete their own account",
            ));
        }
        if !self.ports.admins.delete(admin.id).await? {
            return Err(ManageAdminsError::NotFound);
        }
        let event = ctx
            .audit(EventType::AdminUserDeleted)
            .target("admin_user", admin.id)
            .before(snapshot(&admin))
            .at(self.ports.clock.now());
        record_to(self.ports.audit.as_ref(), &event).await;
        Ok(())
    }

    /// Every role: the built-in ones first (`built_in: true`), then the custom ones by name.
    pub async fn roles(
        &self,
        ctx: &RequestCtx,
    ) -> Result<Vec<(AdminRole, bool)>, ManageAdminsError> {
        Self::require(ctx)?;
        let epoch = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        let mut out: Vec<(AdminRole, bool)> = BUILT_IN_ROLES
            .iter()
            .map(|name| {
                let role = AdminRole {
                    name: (*name).to_owned(),
                    description: String::new(),
                    permissions: built_in_permissions(name).unwrap_or_default(),
                    created_at: epoch,
                    updated_at: epoch,
                };
                (role, true)
            })
            .collect();
        out.extend(
            self.ports
                .admins
                .roles()
                .await?
                .into_iter()
                .map(|r| (r, false)),
        );
        Ok(out)
    }

    /// Creates or replaces custom role `name`.
    pub async fn save_role(
        &self,
        ctx: &RequestCtx,
        name: &str,
        input: AdminRoleInput,
    ) -> Result<AdminRole, ManageAdminsError> {
        Self::require(ctx)?;
        let name = parse_role_name(name)?;
        let permissions = parse_permissions(&input.permissions)?;
        Self::within_caller(ctx, &permissions)?;
        let description = input.description.unwrap_or_default().trim().to_owned();
        if description.chars().count() > 500 {
            return Err(
                ValidationError::new("description", "must be at most 500 characters").into(),
            );
        }
        let now = self.ports.clock.now();
        let existing = self.ports.admins.roles().await?;
        let before = existing.iter().find(|r| r.name == name).cloned();
        let role = AdminRole {
            created_at: before.as_ref().map_or(now, |r| r.created_at),
            name,
            description,
            permissions,
            updated_at: now,
        };
        self.ports.admins.save_role(&role).await?;
        let names =
            |r: &AdminRole| -> Vec<&str> { r.permissions.iter().map(|p| p.as_str()).collect() };
        let event = ctx
            .audit(EventType::AdminRoleSaved)
            .target("admin_role", &role.name)
            .before(
                before
                    .as_ref()
                    .map_or(Value::Null, |r| json!({ "permissions": names(r) })),
            )
            .after(json!({ "permissions": names(&role) }))
            .at(now);
        record_to(self.ports.audit.as_ref(), &event).await;
        Ok(role)
    }

    /// Deletes custom role `name` (refused while an account holds it).
    pub async fn delete_role(&self, ctx: &RequestCtx, name: &str) -> Result<(), ManageAdminsError> {
        Self::require(ctx)?;
        match self.ports.admins.delete_role(name.trim()).await? {
            None => Err(ManageAdminsError::RoleNotFound),
            Some(0) => {
                let event = ctx
                    .audit(EventType::AdminRoleDeleted)
                    .target("admin_role", name.trim())
                    .at(self.ports.clock.now());
                record_to(self.ports.audit.as_ref(), &event).await;
                Ok(())
            }
            Some(_) => Err(ManageAdminsError::Conflict(
                "admin users hold this role; take it from them first",
            )),
        }
    }

    fn is_caller(&self, ctx: &RequestCtx, id: Uuid) -> bool {
        matches!(&ctx.principal, Principal::Admin(a) if a.session.is_some() && a.actor_id == id.to_string())
    }

    /// Roles that exist and grant nothing the caller does not hold (no escalation through a
    /// role or a custom role).
    async fn grantable_roles(
        &self,
        ctx: &RequestCtx,
        raw: &[String],
    ) -> Result<Vec<String>, ManageAdminsError> {
        let roles = parse_roles(raw)?;
        let custom = self.ports.admins.roles().await?;
        for role in &roles {
            let granted = match built_in_permissions(role) {
                Some(p) => p,
                None => custom
                    .iter()
                    .find(|r| &r.name == role)
                    .map(|r| r.permissions.clone())
                    .ok_or_else(|| {
                        ValidationError::new("roles", format!("'{role}' is not a role"))
                    })?,
            };
            Self::within_caller(ctx, &granted)?;
        }
        Ok(roles)
    }

    /// Refuses permissions the caller does not hold itself.
    fn within_caller(
        ctx: &RequestCtx,
        permissions: &[Permission],
    ) -> Result<(), ManageAdminsError> {
        let Principal::Admin(caller) = &ctx.principal else {
            return Err(Forbidden("admins:manage").into());
        };
        match permissions.iter().find(|p| !caller.has(**p)) {
            Some(p) => Err(Forbidden(p.as_str()).into()),
            None => Ok(()),
        }
    }

    async fn scope(&self, input: &ScopeInput) -> Result<AdminScope, ManageAdminsError> {
        let unknown = || ValidationError::new("scope.id", "names no client or organization");
        Ok(
            match ScopeRequest::parse(input.kind.trim(), input.id.as_deref())? {
                ScopeRequest::All => AdminScope::All,
                ScopeRequest::Client(client) => {
                    self.ports.clients.get(client).await?.ok_or_else(unknown)?;
                    AdminScope::Clients(vec![client])
                }
                ScopeRequest::Organization(organization) => {
                    let client = self
                        .ports
                        .admins
                        .organization_client(organization)
                        .await?
                        .ok_or_else(unknown)?;
                    AdminScope::Organization {
                        client,
                        organization,
                    }
                }
            },
        )
    }

    async fn password_hash(
        &self,
        password: Option<&str>,
        email: &Email,
    ) -> Result<Option<String>, ManageAdminsError> {
        let Some(password) = password else {
            return Ok(None);
        };
        if let Some(rule) = admin_password_policy()
            .check(password, Some(email), None)
            .first()
        {
            return Err(ValidationError::new("password", rule.message()).into());
        }
        Ok(Some(self.ports.passwords.hash(password).await?))
    }
}
