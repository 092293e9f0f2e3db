//! The in-memory SCIM directories.

use authservice_application::pagination::PageRequest;
use authservice_application::ports::ScimDirectoryRepository;
use authservice_domain::organization::OrganizationId;
use authservice_domain::scim::ScimDirectory;

use super::*;

#[async_trait]
impl ScimDirectoryRepository for MemoryDb {
    async fn list(
        &self,
        client: ClientId,
        org: Option<OrganizationId>,
        page: PageRequest,
    ) -> anyhow::Result<Vec<ScimDirectory>> {
        let mut rows: Vec<ScimDirectory> = self
            .lock()
            .scim_directories
            .iter()
            .map(|(d, _)| d)
            .filter(|d| d.client_id == client && org.is_none_or(|o| d.organization_id == o))
            .filter(|d| page.after.is_none_or(|after| d.id > after))
            .cloned()
            .collect();
        rows.sort_by_key(|d| d.id);
        rows.truncate(page.limit + 1);
        Ok(rows)
    }

    async fn get(&self, client: ClientId, id: Uuid) -> anyhow::Result<Option<ScimDirectory>> {
        Ok(self
            .lock()
            .scim_directories
            .iter()
            .map(|(d, _)| d)
            .find(|d| d.client_id == client && d.id == id)
            .cloned())
    }

    async fn count(&self, client: ClientId, org: OrganizationId) -> anyhow::Result<usize> {
        Ok(self
            .lock()
            .scim_directories
            .iter()
            .filter(|(d, _)| d.client_id == client && d.organization_id == org)
            .count())
    }

    async fn authenticate(
        &self,
        id: Uuid,
        token_hash: &[u8; 32],
    ) -> anyhow::Result<Option<ScimDirectory>> {
        Ok(self
            .lock()
            .scim_directories
            .iter()
            .find(|(d, hash)| d.id == id && hash == token_hash)
            .map(|(d, _)| d.clone()))
    }

    async fn touch(&self, id: Uuid, at: DateTime<Utc>) -> anyhow::Result<()> {
        if let Some((d, _)) = self
            .lock()
            .scim_directories
            .iter_mut()
            .find(|(d, _)| d.id == id)
        {
            d.last_sync_at = Some(at);
        }
        Ok(())
    }
}

impl State {
    /// Applies `f` to the directory `d` names (same client and id); `false` when it is gone.
    pub(super) fn change_scim_directory(
        &mut self,
        d: &ScimDirectory,
        f: impl FnOnce(&mut ScimDirectory, &mut [u8; 32]),
    ) -> bool {
        match self
            .scim_directories
            .iter_mut()
            .find(|(stored, _)| stored.client_id == d.client_id && stored.id == d.id)
        {
            Some((stored, hash)) => {
                f(stored, hash);
                true
            }
            None => false,
        }
    }
}
