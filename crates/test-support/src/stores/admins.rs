//! The in-memory admin users, admin sessions and custom admin roles.

use authservice_application::pagination::PageRequest;
use authservice_application::ports::{
    AdminCredentials, AdminRepository, AdminSession, AdminWriteError, NewAdminSession, RefreshMatch,
};
use authservice_domain::admin::{AdminRole, AdminStatus, AdminUser};
use authservice_domain::organization::OrganizationId;

use super::*;

#[derive(Debug, Clone)]
struct Account {
    admin: AdminUser,
    password_hash: Option<String>,
    totp_secret: Option<SealedSecret>,
    last_step: Option<u64>,
    enrollment: Option<([u8; 32], DateTime<Utc>)>,
    setup: Option<([u8; 32], DateTime<Utc>)>,
}

#[derive(Debug, Clone)]
struct Session {
    session: AdminSession,
    access_hash: [u8; 32],
    refresh_hash: [u8; 32],
    previous_refresh_hash: Option<[u8; 32]>,
    used: Vec<[u8; 32]>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct Admins {
    accounts: Vec<Account>,
    sessions: Vec<Session>,
    roles: Vec<AdminRole>,
}

impl Admins {
    fn account(&self, id: Uuid) -> Option<&Account> {
        self.accounts.iter().find(|a| a.admin.id == id)
    }

    fn account_mut(&mut self, id: Uuid) -> Option<&mut Account> {
        self.accounts.iter_mut().find(|a| a.admin.id == id)
    }

    fn credentials(a: &Account) -> AdminCredentials {
        AdminCredentials {
            admin: a.admin.clone(),
            password_hash: a.password_hash.clone(),
            totp_secret: a.totp_secret.clone(),
            setup: a.setup,
        }
    }

    fn revoke_all(&mut self, id: Uuid, at: DateTime<Utc>) {
        for s in &mut self.sessions {
            if s.session.admin_user_id == id && s.session.revoked_at.is_none() {
                s.session.revoked_at = Some(at);
            }
        }
    }

    fn email_taken(&self, admin: &AdminUser) -> bool {
        self.accounts
            .iter()
            .any(|a| a.admin.email == admin.email && a.admin.id != admin.id)
    }
}

#[async_trait]
impl AdminRepository for MemoryDb {
    async fn list(&self, page: PageRequest) -> anyhow::Result<Vec<AdminUser>> {
        let mut all: Vec<AdminUser> = self
            .lock()
            .admins
            .accounts
            .iter()
            .map(|a| a.admin.clone())
            .filter(|a| page.after.is_none_or(|after| a.id > after))
            .collect();
        all.sort_by_key(|a| a.id);
        all.truncate(page.limit + 1);
        Ok(all)
    }

    async fn get(&self, id: Uuid) -> anyhow::Result<Option<AdminUser>> {
        Ok(self.lock().admins.account(id).map(|a| a.admin.clone()))
    }

    async fn credentials(&self, email: &str) -> anyhow::Result<Option<AdminCredentials>> {
        Ok(self
            .lock()
            .admins
            .accounts
            .iter()
            .find(|a| a.admin.email.as_str() == email)
            .map(Admins::credentials))
    }

    async fn insert(
        &self,
        admin: &AdminUser,
        password_hash: Option<&str>,
    ) -> Result<(), AdminWriteError> {
        let mut st = self.lock();
        if st.admins.email_taken(admin) {
            return Err(AdminWriteError::EmailTaken);
        }
        st.admins.accounts.push(Account {
            admin: admin.clone(),
            password_hash: password_hash.map(str::to_owned),
            totp_secret: None,
            last_step: None,
            enrollment: None,
            setup: None,
        });
        Ok(())
    }

    async fn update(
        &self,
        admin: &AdminUser,
        password_hash: Option<&str>,
        clear_totp: bool,
    ) -> Result<bool, AdminWriteError> {
        let mut st = self.lock();
        if st.admins.email_taken(admin) {
            return Err(AdminWriteError::EmailTaken);
        }
        let Some(account) = st.admins.account_mut(admin.id) else {
            return Ok(false);
        };
        account.admin = admin.clone();
        if let Some(hash) = password_hash {
            account.password_hash = Some(hash.to_owned());
        }
        if clear_totp {
            account.totp_secret = None;
            account.last_step = None;
            account.enrollment = None;
            account.setup = None;
            account.admin.totp_enabled = false;
        }
        if admin.status == AdminStatus::Disabled || password_hash.is_some() || clear_totp {
            st.admins.revoke_all(admin.id, admin.updated_at);
        }
        Ok(true)
    }

    async fn set_setup_token(
        &self,
        id: Uuid,
        hash: &[u8; 32],
        expires_at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        match st.admins.account_mut(id) {
            Some(a) if !a.admin.totp_enabled => {
                a.setup = Some((*hash, expires_at));
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete(&self, id: Uuid) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let before = st.admins.accounts.len();
        st.admins.accounts.retain(|a| a.admin.id != id);
        st.admins.sessions.retain(|s| s.session.admin_user_id != id);
        Ok(st.admins.accounts.len() < before)
    }

    async fn start_enrollment(
        &self,
        id: Uuid,
        secret: &SealedSecret,
        token_hash: &[u8; 32],
        expires_at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        match st.admins.account_mut(id) {
            Some(a) if !a.admin.totp_enabled => {
                a.totp_secret = Some(secret.clone());
                a.enrollment = Some((*token_hash, expires_at));
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn enrollment(
        &self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<AdminCredentials>> {
        Ok(self
            .lock()
            .admins
            .accounts
            .iter()
            .find(|a| {
                !a.admin.totp_enabled
                    && a.enrollment
                        .is_some_and(|(h, exp)| h == *token_hash && exp > now)
            })
            .map(Admins::credentials))
    }

    async fn complete_enrollment(
        &self,
        id: Uuid,
        token_hash: &[u8; 32],
        step: u64,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        match st.admins.account_mut(id) {
            Some(a)
                if !a.admin.totp_enabled
                    && a.enrollment
                        .is_some_and(|(h, exp)| h == *token_hash && exp > at) =>
            {
                a.admin.totp_enabled = true;
                a.last_step = Some(step);
                a.enrollment = None;
                a.setup = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn use_totp_step(&self, id: Uuid, step: u64) -> anyhow::Result<bool> {
        let mut st = self.lock();
        match st.admins.account_mut(id) {
            Some(a) if a.last_step.is_none_or(|last| last < step) => {
                a.last_step = Some(step);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn create_session(&self, s: &NewAdminSession) -> anyhow::Result<()> {
        let mut st = self.lock();
        if let Some(a) = st.admins.account_mut(s.admin_user_id) {
            a.admin.last_login_at = Some(s.created_at);
        }
        st.admins.sessions.push(Session {
            session: AdminSession {
                id: s.id,
                admin_user_id: s.admin_user_id,
                access_expires_at: s.access_expires_at,
                expires_at: s.expires_at,
                revoked_at: None,
            },
            access_hash: s.access_hash,
            refresh_hash: s.refresh_hash,
            previous_refresh_hash: None,
            used: Vec::new(),
        });
        Ok(())
    }

    async fn session_by_access(
        &self,
        access_hash: &[u8; 32],
    ) -> anyhow::Result<Option<(AdminSession, AdminUser)>> {
        let st = self.lock();
        Ok(st
            .admins
            .sessions
            .iter()
            .find(|s| s.access_hash == *access_hash)
            .and_then(|s| {
                let admin = st.admins.account(s.session.admin_user_id)?.admin.clone();
                Some((s.session.clone(), admin))
            }))
    }

    async fn session_by_refresh(
        &self,
        refresh_hash: &[u8; 32],
    ) -> anyhow::Result<Option<(AdminSession, AdminUser, RefreshMatch)>> {
        let st = self.lock();
        Ok(st.admins.sessions.iter().find_map(|s| {
            let matched = if s.refresh_hash == *refresh_hash {
                RefreshMatch::Current
            } else if s.previous_refresh_hash == Some(*refresh_hash)
                || s.used.contains(refresh_hash)
            {
                RefreshMatch::Previous
            } else {
                return None;
            };
            let admin = st.admins.account(s.session.admin_user_id)?.admin.clone();
            Some((s.session.clone(), admin, matched))
        }))
    }

    async fn rotate_session(
        &self,
        id: Uuid,
        expected: &[u8; 32],
        access_hash: &[u8; 32],
        access_expires_at: DateTime<Utc>,
        refresh_hash: &[u8; 32],
        _at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        match st.admins.sessions.iter_mut().find(|s| {
            s.session.id == id && s.refresh_hash == *expected && s.session.revoked_at.is_none()
        }) {
            Some(s) => {
                s.previous_refresh_hash = Some(*expected);
                s.used.push(*expected);
                s.refresh_hash = *refresh_hash;
                s.access_hash = *access_hash;
                s.session.access_expires_at = access_expires_at;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn revoke_session(&self, id: Uuid, at: DateTime<Utc>) -> anyhow::Result<()> {
        let mut st = self.lock();
        if let Some(s) = st
            .admins
            .sessions
            .iter_mut()
            .find(|s| s.session.id == id && s.session.revoked_at.is_none())
        {
            s.session.revoked_at = Some(at);
        }
        Ok(())
    }

    async fn organization_client(
        &self,
        organization: OrganizationId,
    ) -> anyhow::Result<Option<ClientId>> {
        Ok(self
            .lock()
            .organizations
            .iter()
            .find(|o| o.id == organization)
            .map(|o| o.client_id))
    }

    async fn roles(&self) -> anyhow::Result<Vec<AdminRole>> {
        let mut roles = self.lock().admins.roles.clone();
        roles.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(roles)
    }

    async fn save_role(&self, role: &AdminRole) -> anyhow::Result<()> {
        let mut st = self.lock();
        st.admins.roles.retain(|r| r.name != role.name);
        st.admins.roles.push(role.clone());
        Ok(())
    }

    async fn delete_role(&self, name: &str) -> anyhow::Result<Option<u64>> {
        let mut st = self.lock();
        if !st.admins.roles.iter().any(|r| r.name == name) {
            return Ok(None);
        }
        let holders = st
            .admins
            .accounts
            .iter()
            .filter(|a| a.admin.roles.iter().any(|r| r == name))
            .count();
        if holders == 0 {
            st.admins.roles.retain(|r| r.name != name);
        }
        Ok(Some(holders as u64))
    }
}
