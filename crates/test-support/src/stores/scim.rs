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

#[async_trait]
impl authservice_application::ports::ScimUserRepository for MemoryDb {
    async fn get(
        &self,
        directory: Uuid,
        id: Uuid,
    ) -> anyhow::Result<Option<authservice_domain::scim::ScimUser>> {
        Ok(self
            .lock()
            .scim_users
            .iter()
            .find(|u| u.directory_id == directory && u.id == id)
            .cloned())
    }

    async fn of_account(
        &self,
        directory: Uuid,
        account: UserId,
    ) -> anyhow::Result<Option<authservice_domain::scim::ScimUser>> {
        Ok(self
            .lock()
            .scim_users
            .iter()
            .find(|u| u.directory_id == directory && u.user_id == account)
            .cloned())
    }

    async fn inactive_elsewhere(&self, account: UserId, except: Uuid) -> anyhow::Result<bool> {
        Ok(self
            .lock()
            .scim_users
            .iter()
            .any(|u| u.user_id == account && u.id != except && !u.is_active()))
    }

    /// Pages in creation order; filters and sorting are the SQL store's (not evaluated here).
    async fn list(
        &self,
        directory: Uuid,
        query: &authservice_application::ports::ScimQuery,
    ) -> anyhow::Result<
        Result<authservice_application::ports::UserPage, authservice_domain::scim::ScimProblem>,
    > {
        if query.filter.is_some() || query.sort.is_some() {
            anyhow::bail!("the in-memory store does not evaluate SCIM filters or sorting");
        }
        let mut all: Vec<_> = self
            .lock()
            .scim_users
            .iter()
            .filter(|u| u.directory_id == directory)
            .cloned()
            .collect();
        all.sort_by_key(|u| (u.created_at, u.id));
        let total = all.len() as u64;
        let skip = usize::try_from(query.start_index.saturating_sub(1)).unwrap_or(usize::MAX);
        let take = usize::try_from(query.count).unwrap_or(usize::MAX);
        Ok(Ok(authservice_application::ports::UserPage {
            total,
            users: all.into_iter().skip(skip).take(take).collect(),
        }))
    }
}

impl State {
    /// Adds a SCIM user unless its `userName` (any case) or account is the directory's already.
    pub(super) fn create_scim_user(&mut self, user: authservice_domain::scim::ScimUser) -> bool {
        let taken = self.scim_users.iter().any(|u| {
            u.directory_id == user.directory_id
                && (u.user_id == user.user_id || u.user_name.eq_ignore_ascii_case(&user.user_name))
        });
        if !taken {
            self.scim_users.push(user);
        }
        !taken
    }

    /// Replaces a SCIM user stored at the version before `user.version`.
    pub(super) fn replace_scim_user(&mut self, user: authservice_domain::scim::ScimUser) -> bool {
        match self.scim_users.iter_mut().find(|u| {
            u.directory_id == user.directory_id && u.id == user.id && u.version == user.version - 1
        }) {
            Some(stored) => {
                *stored = user;
                true
            }
            None => false,
        }
    }
}
