//! The in-memory consents of users to OIDC apps.

use authservice_application::ports::{Consent, ConsentRepository};

use super::*;

#[async_trait]
impl ConsentRepository for MemoryDb {
    async fn granted(
        &self,
        client: ClientId,
        user: UserId,
        app: Uuid,
    ) -> anyhow::Result<Option<Vec<String>>> {
        Ok(self
            .lock()
            .consents
            .iter()
            .find(|c| c.0 == client && c.1 == user && c.2.app_id == app)
            .map(|c| c.2.scopes.clone()))
    }

    async fn list(&self, client: ClientId, user: UserId) -> anyhow::Result<Vec<Consent>> {
        let mut out: Vec<Consent> = self
            .lock()
            .consents
            .iter()
            .filter(|c| c.0 == client && c.1 == user)
            .map(|c| c.2.clone())
            .collect();
        out.sort_by_key(|c| std::cmp::Reverse(c.granted_at));
        Ok(out)
    }
}

impl State {
    /// Remembers the consent (scopes added to what was allowed); `false` when the app is not
    /// the client's.
    pub(super) fn grant_consent(
        &mut self,
        client: ClientId,
        user: UserId,
        app: Uuid,
        scopes: &[String],
        at: DateTime<Utc>,
    ) -> bool {
        let Some(found) = self
            .oidc_apps
            .iter()
            .find(|(a, _)| a.id == app && a.client_id == client)
        else {
            return false;
        };
        let (public_id, name) = (found.0.public_id.clone(), found.0.name.as_str().to_owned());
        match self
            .consents
            .iter_mut()
            .find(|c| c.0 == client && c.1 == user && c.2.app_id == app)
        {
            Some(existing) => {
                for scope in scopes {
                    if !existing.2.scopes.contains(scope) {
                        existing.2.scopes.push(scope.clone());
                    }
                }
                existing.2.granted_at = at;
            }
            None => self.consents.push((
                client,
                user,
                Consent {
                    app_id: app,
                    app_public_id: public_id,
                    app_name: name,
                    scopes: scopes.to_vec(),
                    granted_at: at,
                },
            )),
        }
        true
    }

    /// Forgets the consent; `false` when there was none.
    pub(super) fn forget_consent(&mut self, client: ClientId, user: UserId, app: Uuid) -> bool {
        let before = self.consents.len();
        self.consents
            .retain(|c| !(c.0 == client && c.1 == user && c.2.app_id == app));
        self.consents.len() < before
    }

    /// Ends the live sessions `user` holds through `app`; returns their families.
    pub(super) fn end_app_sessions(
        &mut self,
        client: ClientId,
        user: UserId,
        app: Uuid,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Vec<Uuid> {
        let mut families = Vec::new();
        for s in &mut self.sessions {
            if s.row.client_id == client
                && s.row.user_id == user
                && s.row.grant.as_ref().is_some_and(|g| g.app_id == app)
                && s.revoked_at.is_none()
                && s.consumed_at.is_none()
            {
                s.revoked_at = Some(at);
                s.revoked_reason = Some(reason.to_owned());
                families.push(s.row.family_id);
            }
        }
        families
    }
}
