//! The in-memory OIDC applications (written by the unit of work).

use authservice_application::pagination::PageRequest;
use authservice_application::ports::OidcAppRepository;
use authservice_domain::oidc_app::OidcApp;

use super::*;

#[async_trait]
impl OidcAppRepository for MemoryDb {
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
}

impl State {
    pub(super) fn insert_oidc_app(&mut self, app: &OidcApp, secret_hash: Option<[u8; 32]>) {
        self.oidc_apps.push((app.clone(), secret_hash));
    }

    /// Stores the app's fields, keeping its secret prefix; `false` when it is gone.
    pub(super) fn update_oidc_app(&mut self, app: &OidcApp) -> bool {
        let Some((stored, _)) = self
            .oidc_apps
            .iter_mut()
            .find(|(a, _)| a.client_id == app.client_id && a.id == app.id)
        else {
            return false;
        };
        let prefix = stored.secret_prefix.clone();
        *stored = OidcApp {
            secret_prefix: prefix,
            ..app.clone()
        };
        true
    }

    pub(super) fn set_oidc_app_secret(&mut self, app: &OidcApp, secret: Option<[u8; 32]>) -> bool {
        let Some((stored, hash)) = self
            .oidc_apps
            .iter_mut()
            .find(|(a, _)| a.client_id == app.client_id && a.id == app.id)
        else {
            return false;
        };
        stored.secret_prefix.clone_from(&app.secret_prefix);
        *hash = secret;
        true
    }

    /// Deletes the app with its consents (as the foreign keys cascade); `false` when gone.
    pub(super) fn delete_oidc_app(&mut self, client: ClientId, id: Uuid) -> bool {
        let before = self.oidc_apps.len();
        self.oidc_apps
            .retain(|(a, _)| !(a.client_id == client && a.id == id));
        self.consents.retain(|c| c.2.app_id != id);
        self.oidc_apps.len() < before
    }
}
