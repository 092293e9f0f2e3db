//! The in-memory user store.

#![allow(clippy::wildcard_imports)]

use super::*;

#[async_trait]
impl UserRepository for MemoryDb {
    async fn insert(
        &self,
        user: &User,
        password_hash: &str,
        audit: &AuditEvent,
        first_session: Option<(&NewSession, &AuditEvent)>,
        verification: Option<&PendingEmail>,
    ) -> Result<(), UserWriteError> {
        let mut st = self.lock();
        if st
            .users
            .iter()
            .any(|(u, _)| u.client_id == user.client_id && u.email == user.email)
        {
            return Err(UserWriteError::EmailTaken);
        }
        st.users
            .push((user.clone(), Some(password_hash.to_owned())));
        st.audit.push(audit.clone());
        if let Some((session, event)) = first_session {
            sign_in(&mut st, session);
            st.audit.push(event.clone());
        }
        if let Some(pending) = verification {
            issue(&mut st, pending);
        }
        Ok(())
    }

    async fn find_by_email(
        &self,
        client: ClientId,
        email: &Email,
    ) -> anyhow::Result<Option<UserWithPassword>> {
        let st = self.lock();
        Ok(st
            .users
            .iter()
            .find(|(u, _)| u.client_id == client && &u.email == email)
            .map(|(user, hash)| UserWithPassword {
                has_passkey: Some(
                    st.passkeys
                        .iter()
                        .any(|p| p.client_id == client && p.user_id == user.id),
                ),
                user: user.clone(),
                password_hash: hash.clone(),
            }))
    }

    async fn get(&self, client: ClientId, id: UserId) -> anyhow::Result<Option<UserWithPassword>> {
        Ok(self
            .lock()
            .users
            .iter()
            .find(|(u, _)| u.client_id == client && u.id == id)
            .map(|(user, hash)| UserWithPassword {
                has_passkey: None,
                user: user.clone(),
                password_hash: hash.clone(),
            }))
    }

    async fn search(
        &self,
        client: ClientId,
        filter: &authservice_application::ports::UserFilter,
        page: authservice_application::pagination::PageRequest,
    ) -> anyhow::Result<Vec<User>> {
        let st = self.lock();
        let prefix = filter.prefix.as_deref().map(str::to_lowercase);
        let mut found: Vec<User> = st
            .users
            .iter()
            .map(|(u, _)| u)
            .filter(|u| u.client_id == client)
            .filter(|u| {
                prefix.as_deref().is_none_or(|p| {
                    u.email.as_str().starts_with(p)
                        || u.display_name
                            .as_deref()
                            .is_some_and(|n| n.to_lowercase().starts_with(p))
                        || u.id.to_string().starts_with(p)
                })
            })
            .filter(|u| filter.status.is_none_or(|s| u.status == s))
            .filter(|u| filter.email_verified.is_none_or(|v| u.email_verified == v))
            .filter(|u| {
                filter.has_mfa.is_none_or(|want| {
                    let passkey = st
                        .passkeys
                        .iter()
                        .any(|p| p.client_id == client && p.user_id == u.id);
                    (u.totp_enabled || passkey) == want
                })
            })
            .filter(|u| {
                filter.organization.is_none_or(|org| {
                    st.members.iter().any(|m| {
                        m.client_id == client && m.organization_id == org && m.user_id == u.id
                    })
                })
            })
            .filter(|u| page.after.is_none_or(|after| u.id.as_uuid() > after))
            .cloned()
            .collect();
        found.sort_by_key(|u| u.id);
        found.truncate(page.limit + 1);
        Ok(found)
    }
}

impl State {
    pub(super) fn update_profile(&mut self, user: &User) -> bool {
        let Some((stored, _)) = self.user_mut(user.client_id, user.id) else {
            return false;
        };
        stored.display_name.clone_from(&user.display_name);
        stored.timezone.clone_from(&user.timezone);
        stored.locale.clone_from(&user.locale);
        stored.updated_at = user.updated_at;
        true
    }

    /// Sets a user's address as proven: `None` when another account has it, `Some(false)`
    /// when the user is gone.
    /// Erases the user (see `Write::EraseUser`); `false` when gone or the last owner of an
    /// organization.
    pub(super) fn erase(&mut self, client: ClientId, id: UserId, pseudonym: Uuid) -> bool {
        use authservice_domain::organization::OrgRole;
        if self.user_mut(client, id).is_none() {
            return false;
        }
        let last_owner = self.members.iter().any(|m| {
            m.client_id == client
                && m.user_id == id
                && m.role == OrgRole::owner()
                && !self.members.iter().any(|o| {
                    o.organization_id == m.organization_id
                        && o.role == OrgRole::owner()
                        && o.user_id != id
                })
        });
        if last_owner {
            return false;
        }
        let raw = id.to_string();
        for e in &mut self.audit {
            if e.client_id == Some(client)
                && (e.user_id == Some(id.as_uuid())
                    || e.target_id.as_deref() == Some(raw.as_str())
                    || e.actor_id.as_deref() == Some(raw.as_str()))
            {
                if e.user_id == Some(id.as_uuid()) {
                    e.user_id = Some(pseudonym);
                }
                for field in [&mut e.target_id, &mut e.actor_id] {
                    if field.as_deref() == Some(raw.as_str()) {
                        *field = Some(pseudonym.to_string());
                    }
                }
                e.ip = None;
                e.user_agent = None;
                e.before = None;
                e.after = None;
            }
        }
        self.users
            .retain(|(u, _)| !(u.client_id == client && u.id == id));
        self.sessions
            .retain(|s| !(s.row.client_id == client && s.row.user_id == id));
        self.members
            .retain(|m| !(m.client_id == client && m.user_id == id));
        self.passkeys
            .retain(|p| !(p.client_id == client && p.user_id == id));
        self.totp.remove(&(client, id));
        self.recovery.retain(|r| !(r.0 == client && r.1 == id));
        true
    }

    pub(super) fn set_email(
        &mut self,
        client: ClientId,
        id: UserId,
        email: &authservice_domain::Email,
        verified: bool,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Option<bool> {
        if self
            .users
            .iter()
            .any(|(u, _)| u.client_id == client && u.id != id && u.email == *email)
        {
            return None;
        }
        let Some((stored, _)) = self.user_mut(client, id) else {
            return Some(false);
        };
        stored.email = email.clone();
        stored.email_verified = verified;
        stored.updated_at = at;
        for row in &mut self.one_time {
            let r = &mut row.record;
            if r.client_id == client
                && r.user_id == id
                && r.consumed_at.is_none()
                && r.voided_at.is_none()
            {
                r.voided_at = Some(at);
            }
        }
        Some(true)
    }

    pub(super) fn set_status(
        &mut self,
        client: ClientId,
        id: UserId,
        status: UserStatus,
        at: DateTime<Utc>,
    ) -> Option<User> {
        let (user, _) = self.user_mut(client, id)?;
        user.status = status;
        user.updated_at = at;
        Some(user.clone())
    }

    pub(super) fn set_password_hash(
        &mut self,
        client: ClientId,
        id: UserId,
        new_hash: &str,
        at: DateTime<Utc>,
    ) -> bool {
        let Some((user, hash)) = self.user_mut(client, id) else {
            return false;
        };
        *hash = Some(new_hash.to_owned());
        user.updated_at = at;
        true
    }
}
