//! `admin_users`, `admin_sessions` and `admin_roles`: operators' accounts. Tokens and the
//! enrolment token are stored as SHA-256 digests, the TOTP secret sealed.

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::pagination::PageRequest;
use authservice_application::ports::{
    AdminCredentials, AdminRepository, AdminSession, AdminWriteError, NewAdminSession,
    RefreshMatch, SealedSecret,
};
use authservice_domain::admin::{AdminRole, AdminStatus, AdminUser, scope_parts};
use authservice_domain::organization::OrganizationId;
use authservice_domain::{AdminScope, ClientId, Email, Permission};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::PgPool;
use super::schema::{admin_refresh_used, admin_roles, admin_sessions, admin_users, organizations};

pub struct PgAdmins {
    pool: PgPool,
}

impl PgAdmins {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = admin_users)]
struct AdminRow {
    id: Uuid,
    email: String,
    password_hash: Option<String>,
    roles: Vec<String>,
    scope_type: String,
    scope_client_id: Option<Uuid>,
    scope_organization_id: Option<Uuid>,
    status: String,
    totp_secret: Option<Vec<u8>>,
    totp_enabled_at: Option<DateTime<Utc>>,
    last_login_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    setup_hash: Option<Vec<u8>>,
    setup_expires_at: Option<DateTime<Utc>>,
}

impl AdminRow {
    fn admin(&self) -> anyhow::Result<AdminUser> {
        let scope = match (
            self.scope_type.as_str(),
            self.scope_client_id,
            self.scope_organization_id,
        ) {
            ("all", _, _) => AdminScope::All,
            ("client", Some(c), _) => AdminScope::Clients(vec![ClientId::from_uuid(c)]),
            ("organization", Some(c), Some(o)) => AdminScope::Organization {
                client: ClientId::from_uuid(c),
                organization: OrganizationId::from_uuid(o),
            },
            _ => anyhow::bail!("admin user {} has an unreadable scope", self.id),
        };
        Ok(AdminUser {
            id: self.id,
            email: Email::parse(&self.email)
                .map_err(|e| anyhow::anyhow!("admin user {}: {}", self.id, e.message))?,
            roles: self.roles.clone(),
            scope,
            status: AdminStatus::parse(&self.status)
                .map_err(|e| anyhow::anyhow!("admin user {}: {}", self.id, e.message))?,
            has_password: self.password_hash.is_some(),
            totp_enabled: self.totp_enabled_at.is_some(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            last_login_at: self.last_login_at,
        })
    }

    fn credentials(self) -> anyhow::Result<AdminCredentials> {
        let setup = match (&self.setup_hash, self.setup_expires_at) {
            (Some(hash), Some(at)) => <[u8; 32]>::try_from(hash.as_slice()).ok().map(|h| (h, at)),
            _ => None,
        };
        Ok(AdminCredentials {
            setup,
            admin: self.admin()?,
            totp_secret: self.totp_secret.map(SealedSecret),
            password_hash: self.password_hash,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = admin_sessions)]
struct SessionRow {
    id: Uuid,
    admin_user_id: Uuid,
    access_expires_at: DateTime<Utc>,
    refresh_hash: Vec<u8>,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl SessionRow {
    fn session(&self) -> AdminSession {
        AdminSession {
            id: self.id,
            admin_user_id: self.admin_user_id,
            access_expires_at: self.access_expires_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
        }
    }
}

fn write_error(err: DieselError) -> AdminWriteError {
    match err {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            AdminWriteError::EmailTaken
        }
        other => AdminWriteError::Store(anyhow::Error::new(other).context("writing an admin user")),
    }
}

fn scope_columns(scope: &AdminScope) -> (&'static str, Option<Uuid>, Option<Uuid>) {
    let (kind, _) = scope_parts(scope);
    match scope {
        AdminScope::All => (kind, None, None),
        AdminScope::Clients(ids) => (kind, ids.iter().next().map(ClientId::as_uuid), None),
        AdminScope::Organization {
            client,
            organization,
        } => (kind, Some(client.as_uuid()), Some(organization.as_uuid())),
    }
}

#[async_trait]
impl AdminRepository for PgAdmins {
    async fn list(&self, page: PageRequest) -> anyhow::Result<Vec<AdminUser>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let mut query = admin_users::table
            .select(AdminRow::as_select())
            .order(admin_users::id.asc())
            .limit(i64::try_from(page.limit + 1).unwrap_or(101))
            .into_boxed();
        if let Some(after) = page.after {
            query = query.filter(admin_users::id.gt(after));
        }
        let rows: Vec<AdminRow> = query.load(&mut conn).await.context("listing admin users")?;
        rows.iter().map(AdminRow::admin).collect()
    }

    async fn get(&self, id: Uuid) -> anyhow::Result<Option<AdminUser>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<AdminRow> = admin_users::table
            .find(id)
            .select(AdminRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("reading an admin user")?;
        row.map(|r| r.admin()).transpose()
    }

    async fn credentials(&self, email: &str) -> anyhow::Result<Option<AdminCredentials>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<AdminRow> = admin_users::table
            .filter(admin_users::email.eq(email))
            .select(AdminRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("reading an admin user")?;
        row.map(AdminRow::credentials).transpose()
    }

    async fn insert(
        &self,
        admin: &AdminUser,
        password_hash: Option<&str>,
    ) -> Result<(), AdminWriteError> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let (scope_type, client, organization) = scope_columns(&admin.scope);
        diesel::insert_into(admin_users::table)
            .values((
                admin_users::id.eq(admin.id),
                admin_users::email.eq(admin.email.as_str()),
                admin_users::password_hash.eq(password_hash),
                admin_users::roles.eq(&admin.roles),
                admin_users::scope_type.eq(scope_type),
                admin_users::scope_client_id.eq(client),
                admin_users::scope_organization_id.eq(organization),
                admin_users::status.eq(admin.status.as_str()),
                admin_users::created_at.eq(admin.created_at),
                admin_users::updated_at.eq(admin.updated_at),
            ))
            .execute(&mut conn)
            .await
            .map_err(write_error)?;
        Ok(())
    }

    async fn update(
        &self,
        admin: &AdminUser,
        password_hash: Option<&str>,
        clear_totp: bool,
    ) -> Result<bool, AdminWriteError> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let (scope_type, client, organization) = scope_columns(&admin.scope);
        let admin = admin.clone();
        let password_hash = password_hash.map(str::to_owned);
        conn.transaction::<_, DieselError, _>(async |tx| {
            let target = admin_users::table.find(admin.id);
            let n = diesel::update(target)
                .set((
                    admin_users::email.eq(admin.email.as_str()),
                    admin_users::roles.eq(&admin.roles),
                    admin_users::scope_type.eq(scope_type),
                    admin_users::scope_client_id.eq(client),
                    admin_users::scope_organization_id.eq(organization),
                    admin_users::status.eq(admin.status.as_str()),
                    admin_users::updated_at.eq(admin.updated_at),
                ))
                .execute(tx)
                .await?;
            if n == 0 {
                return Ok(false);
            }
            if let Some(hash) = &password_hash {
                diesel::update(target)
                    .set(admin_users::password_hash.eq(hash))
                    .execute(tx)
                    .await?;
            }
            if clear_totp {
                diesel::update(target)
                    .set((
                        admin_users::totp_secret.eq(None::<Vec<u8>>),
                        admin_users::totp_enabled_at.eq(None::<DateTime<Utc>>),
                        admin_users::totp_last_step.eq(None::<i64>),
                        admin_users::enrollment_hash.eq(None::<Vec<u8>>),
                        admin_users::enrollment_expires_at.eq(None::<DateTime<Utc>>),
                        admin_users::setup_hash.eq(None::<Vec<u8>>),
                        admin_users::setup_expires_at.eq(None::<DateTime<Utc>>),
                    ))
                    .execute(tx)
                    .await?;
            }
            // A disabled account, a new password or a removed second factor ends every session.
            if admin.status == AdminStatus::Disabled || password_hash.is_some() || clear_totp {
                diesel::update(
                    admin_sessions::table
                        .filter(admin_sessions::admin_user_id.eq(admin.id))
                        .filter(admin_sessions::revoked_at.is_null()),
                )
                .set(admin_sessions::revoked_at.eq(admin.updated_at))
                .execute(tx)
                .await?;
            }
            Ok(true)
        })
        .await
        .map_err(write_error)
    }

    async fn set_setup_token(
        &self,
        id: Uuid,
        hash: &[u8; 32],
        expires_at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let n = diesel::update(
            admin_users::table
                .find(id)
                .filter(admin_users::totp_enabled_at.is_null()),
        )
        .set((
            admin_users::setup_hash.eq(hash.as_slice()),
            admin_users::setup_expires_at.eq(expires_at),
        ))
        .execute(&mut conn)
        .await
        .context("setting an admin setup token")?;
        Ok(n > 0)
    }

    async fn delete(&self, id: Uuid) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        // Sessions go with the account (ON DELETE CASCADE).
        let n = diesel::delete(admin_users::table.find(id))
            .execute(&mut conn)
            .await
            .context("deleting an admin user")?;
        Ok(n > 0)
    }

    async fn start_enrollment(
        &self,
        id: Uuid,
        secret: &SealedSecret,
        token_hash: &[u8; 32],
        expires_at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let n = diesel::update(
            admin_users::table
                .find(id)
                .filter(admin_users::totp_enabled_at.is_null()),
        )
        .set((
            admin_users::totp_secret.eq(&secret.0),
            admin_users::enrollment_hash.eq(token_hash.as_slice()),
            admin_users::enrollment_expires_at.eq(expires_at),
        ))
        .execute(&mut conn)
        .await
        .context("starting an admin TOTP enrolment")?;
        Ok(n > 0)
    }

    async fn enrollment(
        &self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<AdminCredentials>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<AdminRow> = admin_users::table
            .filter(admin_users::enrollment_hash.eq(token_hash.as_slice()))
            .filter(admin_users::enrollment_expires_at.gt(now))
            .filter(admin_users::totp_enabled_at.is_null())
            .select(AdminRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("reading an admin TOTP enrolment")?;
        row.map(AdminRow::credentials).transpose()
    }

    async fn complete_enrollment(
        &self,
        id: Uuid,
        token_hash: &[u8; 32],
        step: u64,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let n = diesel::update(
            admin_users::table
                .find(id)
                .filter(admin_users::enrollment_hash.eq(token_hash.as_slice()))
                .filter(admin_users::enrollment_expires_at.gt(at))
                .filter(admin_users::totp_enabled_at.is_null()),
        )
        .set((
            admin_users::totp_enabled_at.eq(at),
            admin_users::totp_last_step.eq(i64::try_from(step).unwrap_or(i64::MAX)),
            admin_users::enrollment_hash.eq(None::<Vec<u8>>),
            admin_users::enrollment_expires_at.eq(None::<DateTime<Utc>>),
            admin_users::setup_hash.eq(None::<Vec<u8>>),
            admin_users::setup_expires_at.eq(None::<DateTime<Utc>>),
            admin_users::updated_at.eq(at),
        ))
        .execute(&mut conn)
        .await
        .context("completing an admin TOTP enrolment")?;
        Ok(n > 0)
    }

    async fn use_totp_step(&self, id: Uuid, step: u64) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        let n = diesel::update(
            admin_users::table.find(id).filter(
                admin_users::totp_last_step
                    .is_null()
                    .or(admin_users::totp_last_step.lt(step)),
            ),
        )
        .set(admin_users::totp_last_step.eq(step))
        .execute(&mut conn)
        .await
        .context("recording an admin TOTP step")?;
        Ok(n > 0)
    }

    async fn create_session(&self, s: &NewAdminSession) -> anyhow::Result<()> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let s = s.clone();
        conn.transaction::<_, DieselError, _>(async |tx| {
            diesel::insert_into(admin_sessions::table)
                .values((
                    admin_sessions::id.eq(s.id),
                    admin_sessions::admin_user_id.eq(s.admin_user_id),
                    admin_sessions::access_hash.eq(s.access_hash.as_slice()),
                    admin_sessions::access_expires_at.eq(s.access_expires_at),
                    admin_sessions::refresh_hash.eq(s.refresh_hash.as_slice()),
                    admin_sessions::created_at.eq(s.created_at),
                    admin_sessions::expires_at.eq(s.expires_at),
                    admin_sessions::last_used_at.eq(s.created_at),
                    admin_sessions::ip.eq(&s.ip),
                    admin_sessions::user_agent.eq(&s.user_agent),
                ))
                .execute(tx)
                .await?;
            diesel::update(admin_users::table.find(s.admin_user_id))
                .set(admin_users::last_login_at.eq(s.created_at))
                .execute(tx)
                .await?;
            Ok(())
        })
        .await
        .context("opening an admin session")
    }

    async fn session_by_access(
        &self,
        access_hash: &[u8; 32],
    ) -> anyhow::Result<Option<(AdminSession, AdminUser)>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<(SessionRow, AdminRow)> = admin_sessions::table
            .inner_join(admin_users::table)
            .filter(admin_sessions::access_hash.eq(access_hash.as_slice()))
            .select((SessionRow::as_select(), AdminRow::as_select()))
            .first(&mut conn)
            .await
            .optional()
            .context("reading an admin session")?;
        row.map(|(s, a)| Ok((s.session(), a.admin()?))).transpose()
    }

    async fn session_by_refresh(
        &self,
        refresh_hash: &[u8; 32],
    ) -> anyhow::Result<Option<(AdminSession, AdminUser, RefreshMatch)>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<(SessionRow, AdminRow)> = admin_sessions::table
            .inner_join(admin_users::table)
            .filter(
                admin_sessions::refresh_hash
                    .eq(refresh_hash.as_slice())
                    .or(admin_sessions::previous_refresh_hash.eq(refresh_hash.as_slice())),
            )
            .select((SessionRow::as_select(), AdminRow::as_select()))
            .first(&mut conn)
            .await
            .optional()
            .context("reading an admin session")?;
        let row = match row {
            Some(row) => Some(row),
            // Any refresh token the session used before.
            None => admin_refresh_used::table
                .inner_join(admin_sessions::table.inner_join(admin_users::table))
                .filter(admin_refresh_used::hash.eq(refresh_hash.as_slice()))
                .select((SessionRow::as_select(), AdminRow::as_select()))
                .first(&mut conn)
                .await
                .optional()
                .context("reading an admin session")?,
        };
        row.map(|(s, a)| {
            let matched = if s.refresh_hash == refresh_hash.as_slice() {
                RefreshMatch::Current
            } else {
                RefreshMatch::Previous
            };
            Ok((s.session(), a.admin()?, matched))
        })
        .transpose()
    }

    async fn rotate_session(
        &self,
        id: Uuid,
        expected: &[u8; 32],
        access_hash: &[u8; 32],
        access_expires_at: DateTime<Utc>,
        refresh_hash: &[u8; 32],
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let (expected, access_hash, refresh_hash) = (*expected, *access_hash, *refresh_hash);
        conn.transaction::<_, DieselError, _>(async |tx| {
            let n = diesel::update(
                admin_sessions::table
                    .find(id)
                    .filter(admin_sessions::refresh_hash.eq(expected.as_slice()))
                    .filter(admin_sessions::revoked_at.is_null()),
            )
            .set((
                admin_sessions::access_hash.eq(access_hash.as_slice()),
                admin_sessions::access_expires_at.eq(access_expires_at),
                admin_sessions::previous_refresh_hash.eq(expected.as_slice()),
                admin_sessions::refresh_hash.eq(refresh_hash.as_slice()),
                admin_sessions::last_used_at.eq(at),
            ))
            .execute(tx)
            .await?;
            if n == 0 {
                return Ok(false);
            }
            diesel::insert_into(admin_refresh_used::table)
                .values((
                    admin_refresh_used::hash.eq(expected.as_slice()),
                    admin_refresh_used::session_id.eq(id),
                ))
                .on_conflict_do_nothing()
                .execute(tx)
                .await?;
            Ok(true)
        })
        .await
        .context("rotating an admin session")
    }

    async fn revoke_session(&self, id: Uuid, at: DateTime<Utc>) -> anyhow::Result<()> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        diesel::update(
            admin_sessions::table
                .find(id)
                .filter(admin_sessions::revoked_at.is_null()),
        )
        .set(admin_sessions::revoked_at.eq(at))
        .execute(&mut conn)
        .await
        .context("revoking an admin session")?;
        Ok(())
    }

    async fn organization_client(
        &self,
        organization: OrganizationId,
    ) -> anyhow::Result<Option<ClientId>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let client: Option<Uuid> = organizations::table
            .find(organization.as_uuid())
            .select(organizations::client_id)
            .first(&mut conn)
            .await
            .optional()
            .context("reading an organization's client")?;
        Ok(client.map(ClientId::from_uuid))
    }

    async fn roles(&self) -> anyhow::Result<Vec<AdminRole>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let rows: Vec<(String, String, Vec<String>, DateTime<Utc>, DateTime<Utc>)> =
            admin_roles::table
                .order(admin_roles::name.asc())
                .select((
                    admin_roles::name,
                    admin_roles::description,
                    admin_roles::permissions,
                    admin_roles::created_at,
                    admin_roles::updated_at,
                ))
                .load(&mut conn)
                .await
                .context("listing admin roles")?;
        Ok(rows
            .into_iter()
            .map(
                |(name, description, permissions, created_at, updated_at)| AdminRole {
                    name,
                    description,
                    // A permission this version does not know grants nothing.
                    permissions: permissions
                        .iter()
                        .filter_map(|p| Permission::parse(p))
                        .collect(),
                    created_at,
                    updated_at,
                },
            )
            .collect())
    }

    async fn save_role(&self, role: &AdminRole) -> anyhow::Result<()> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let permissions: Vec<&str> = role.permissions.iter().map(|p| p.as_str()).collect();
        diesel::insert_into(admin_roles::table)
            .values((
                admin_roles::name.eq(&role.name),
                admin_roles::description.eq(&role.description),
                admin_roles::permissions.eq(&permissions),
                admin_roles::created_at.eq(role.created_at),
                admin_roles::updated_at.eq(role.updated_at),
            ))
            .on_conflict(admin_roles::name)
            .do_update()
            .set((
                admin_roles::description.eq(&role.description),
                admin_roles::permissions.eq(&permissions),
                admin_roles::updated_at.eq(role.updated_at),
            ))
            .execute(&mut conn)
            .await
            .context("saving an admin role")?;
        Ok(())
    }

    async fn delete_role(&self, name: &str) -> anyhow::Result<Option<u64>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let name = name.to_owned();
        conn.transaction::<_, DieselError, _>(async |tx| {
            let exists: Option<String> = admin_roles::table
                .find(&name)
                .select(admin_roles::name)
                .for_update()
                .first(tx)
                .await
                .optional()?;
            if exists.is_none() {
                return Ok(None);
            }
            let holders: i64 = admin_users::table
                .filter(admin_users::roles.contains(vec![name.clone()]))
                .count()
                .get_result(tx)
                .await?;
            if holders > 0 {
                return Ok(Some(u64::try_from(holders).unwrap_or(u64::MAX)));
            }
            diesel::delete(admin_roles::table.find(&name))
                .execute(tx)
                .await?;
            Ok(Some(0))
        })
        .await
        .context("deleting an admin role")
    }
}
