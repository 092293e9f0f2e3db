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

    async fn grant(
        &self,
        client: ClientId,
        user: UserId,
        app: Uuid,
        scopes: &[String],
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<()> {
        let mut st = self.lock();
        let Some(found) = st
            .oidc_apps
            .iter()
            .find(|(a, _)| a.id == app && a.client_id == client)
        else {
            anyhow::bail!("no such app");
        };
        let (public_id, name) = (found.0.public_id.clone(), found.0.name.as_str().to_owned());
        match st
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
            None => st.consents.push((
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
        st.audit.push(audit.clone());
        Ok(())
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

    async fn revoke(
        &self,
        client: ClientId,
        user: UserId,
        app_public_id: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<Option<(Uuid, Vec<Uuid>)>> {
        let mut st = self.lock();
        let Some(index) = st
            .consents
            .iter()
            .position(|c| c.0 == client && c.1 == user && c.2.app_public_id == app_public_id)
        else {
            return Ok(None);
        };
        let app = st.consents.remove(index).2.app_id;
        let mut families = Vec::new();
        for s in &mut st.sessions {
            if s.row.client_id == client
                && s.row.user_id == user
                && s.row.grant.as_ref().is_some_and(|g| g.app_id == app)
                && s.revoked_at.is_none()
                && s.consumed_at.is_none()
            {
                s.revoked_at = Some(at);
                s.revoked_reason = Some("consent_revoked".to_owned());
                families.push(s.row.family_id);
            }
        }
        st.audit.push(audit.clone());
        Ok(Some((app, families)))
    }
}
