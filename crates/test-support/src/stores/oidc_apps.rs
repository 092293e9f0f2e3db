//! The in-memory OIDC applications.

use authservice_application::pagination::PageRequest;
use authservice_application::ports::OidcAppRepository;
use authservice_domain::oidc_app::OidcApp;

use super::*;

#[async_trait]
impl OidcAppRepository for MemoryDb {
    async fn create(
        &self,
        app: &OidcApp,
        secret_hash: Option<&[u8; 32]>,
        audit: &AuditEvent,
    ) -> anyhow::Result<()> {
        let mut st = self.lock();
        st.oidc_apps.push((app.clone(), secret_hash.copied()));
        st.audit.push(audit.clone());
        Ok(())
    }

    async fn list(&self, client: ClientId, page: PageRequest) -> anyhow::Result<Vec<OidcApp>> {
        let st = self.lock();
        let mut rows: Vec<OidcApp> = st
            .oidc_apps
            .iter()
            .map(|(a, _)| a)
            .filter(|a| a.client_id == client && page.after.is_none_or(|after| a.id > after))
            .cloned()
            .collect();
        rows.sort_by_key(|a| a.id);
        rows.truncate(page.limit + 1);
        Ok(rows)
    }

    async fn get(&self, client: ClientId, id: Uuid) -> anyhow::Result<Option<OidcApp>> {
        Ok(self
            .lock()
            .oidc_apps
            .iter()
            .find(|(a, _)| a.client_id == client && a.id == id)
            .map(|(a, _)| a.clone()))
    }

    async fn update(&self, app: &OidcApp, audit: &AuditEvent) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let Some((stored, _)) = st
            .oidc_apps
            .iter_mut()
            .find(|(a, _)| a.client_id == app.client_id && a.id == app.id)
        else {
            return Ok(false);
        };
        let prefix = stored.secret_prefix.clone();
        *stored = OidcApp {
            secret_prefix: prefix,
            ..app.clone()
        };
        st.audit.push(audit.clone());
        Ok(true)
    }

    async fn set_secret(
        &self,
        app: &OidcApp,
        secret_hash: Option<&[u8; 32]>,
        audit: &AuditEvent,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let Some((stored, hash)) = st
            .oidc_apps
            .iter_mut()
            .find(|(a, _)| a.client_id == app.client_id && a.id == app.id)
        else {
            return Ok(false);
        };
        stored.secret_prefix.clone_from(&app.secret_prefix);
        *hash = secret_hash.copied();
        st.audit.push(audit.clone());
        Ok(true)
    }

    async fn by_public_id(
        &self,
        public_id: &str,
    ) -> anyhow::Result<Option<(OidcApp, Option<[u8; 32]>)>> {
        Ok(self
            .lock()
            .oidc_apps
            .iter()
            .find(|(a, _)| a.public_id == public_id)
            .cloned())
    }

    async fn delete(&self, client: ClientId, id: Uuid, audit: &AuditEvent) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let before = st.oidc_apps.len();
        st.oidc_apps
            .retain(|(a, _)| !(a.client_id == client && a.id == id));
        let gone = st.oidc_apps.len() < before;
        if gone {
            st.audit.push(audit.clone());
        }
        Ok(gone)
    }
}
