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

    async fn update_profile(&self, user: &User, audit: &AuditEvent) -> anyhow::Result<()> {
        let mut st = self.lock();
        if let Some((stored, _)) = st.user_mut(user.client_id, user.id) {
            stored.display_name.clone_from(&user.display_name);
            stored.timezone.clone_from(&user.timezone);
            stored.locale.clone_from(&user.locale);
            stored.updated_at = user.updated_at;
        }
        st.audit.push(audit.clone());
        Ok(())
    }

    async fn set_status(
        &self,
        client: ClientId,
        id: UserId,
        status: UserStatus,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<Option<User>> {
        let mut st = self.lock();
        let Some((user, _)) = st.user_mut(client, id) else {
            return Ok(None);
        };
        user.status = status;
        user.updated_at = at;
        let user = user.clone();
        if status == UserStatus::Disabled {
            st.revoke(client, id, None, None, "user_disabled", at);
        }
        st.audit.push(audit.clone());
        Ok(Some(user))
    }

    async fn change_password(
        &self,
        client: ClientId,
        id: UserId,
        new_hash: &str,
        keep_session: Option<Uuid>,
        at: DateTime<Utc>,
        audit: &AuditEvent,
        notice: Option<&QueuedEmail>,
    ) -> anyhow::Result<()> {
        let mut st = self.lock();
        if let Some((user, hash)) = st.user_mut(client, id) {
            *hash = Some(new_hash.to_owned());
            user.updated_at = at;
        }
        st.revoke(client, id, None, keep_session, "password_changed", at);
        st.audit.push(audit.clone());
        if let Some(notice) = notice {
            st.queue(notice);
        }
        Ok(())
    }
}
