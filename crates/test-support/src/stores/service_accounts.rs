//! Service accounts and their keys, in memory.

use authservice_application::pagination::PageRequest;
use authservice_application::ports::ServiceAccountRepository;
use authservice_domain::service_account::{ServiceAccount, ServiceAccountKey};

use super::*;

#[async_trait]
impl ServiceAccountRepository for MemoryDb {
    async fn list(
        &self,
        client: ClientId,
        page: PageRequest,
    ) -> anyhow::Result<Vec<ServiceAccount>> {
        let st = self.lock();
        let mut rows: Vec<ServiceAccount> = st
            .service_accounts
            .iter()
            .filter(|a| a.client_id == client && page.after.is_none_or(|after| a.id > after))
            .cloned()
            .collect();
        rows.sort_by_key(|a| a.id);
        rows.truncate(page.limit + 1);
        Ok(rows)
    }

    async fn get(&self, client: ClientId, id: Uuid) -> anyhow::Result<Option<ServiceAccount>> {
        Ok(self
            .lock()
            .service_accounts
            .iter()
            .find(|a| a.client_id == client && a.id == id)
            .cloned())
    }

    async fn keys(
        &self,
        client: ClientId,
        account: Uuid,
    ) -> anyhow::Result<Vec<ServiceAccountKey>> {
        let st = self.lock();
        let mut rows: Vec<ServiceAccountKey> = st
            .service_account_keys
            .iter()
            .map(|(k, _)| k)
            .filter(|k| k.client_id == client && k.service_account_id == account)
            .cloned()
            .collect();
        rows.sort_by_key(|k| std::cmp::Reverse(k.id));
        Ok(rows)
    }

    async fn by_secret(
        &self,
        secret_hash: &[u8; 32],
    ) -> anyhow::Result<Option<(ServiceAccount, ServiceAccountKey)>> {
        let st = self.lock();
        let Some((key, _)) = st
            .service_account_keys
            .iter()
            .find(|(_, h)| h == secret_hash)
        else {
            return Ok(None);
        };
        Ok(st
            .service_accounts
            .iter()
            .find(|a| a.client_id == key.client_id && a.id == key.service_account_id)
            .map(|a| (a.clone(), key.clone())))
    }
}

impl State {
    pub(super) fn insert_service_account(&mut self, account: &ServiceAccount) {
        self.service_accounts.push(account.clone());
    }

    /// Stores the account's fields (not its creation time); `false` when it is gone.
    pub(super) fn update_service_account(&mut self, account: &ServiceAccount) -> bool {
        let Some(stored) = self
            .service_accounts
            .iter_mut()
            .find(|a| a.client_id == account.client_id && a.id == account.id)
        else {
            return false;
        };
        *stored = ServiceAccount {
            created_at: stored.created_at,
            ..account.clone()
        };
        true
    }

    /// Adds the key unless the account is gone or holds `max_live` usable keys.
    pub(super) fn add_service_account_key(
        &mut self,
        key: &ServiceAccountKey,
        secret_hash: &[u8; 32],
        max_live: usize,
    ) -> bool {
        let exists = self
            .service_accounts
            .iter()
            .any(|a| a.client_id == key.client_id && a.id == key.service_account_id);
        let live = self
            .service_account_keys
            .iter()
            .filter(|(k, _)| {
                k.client_id == key.client_id
                    && k.service_account_id == key.service_account_id
                    && k.usable_at(key.created_at)
            })
            .count();
        if !exists || live >= max_live {
            return false;
        }
        self.service_account_keys.push((key.clone(), *secret_hash));
        true
    }

    /// Revokes the key and voids the account's earlier tokens; `false` when there is no such
    /// live key.
    pub(super) fn revoke_service_account_key(
        &mut self,
        client: ClientId,
        account: Uuid,
        key: Uuid,
        now: DateTime<Utc>,
    ) -> bool {
        let Some((stored, _)) = self.service_account_keys.iter_mut().find(|(k, _)| {
            k.client_id == client
                && k.service_account_id == account
                && k.id == key
                && k.revoked_at.is_none()
        }) else {
            return false;
        };
        stored.revoked_at = Some(now);
        if let Some(a) = self
            .service_accounts
            .iter_mut()
            .find(|a| a.client_id == client && a.id == account)
        {
            a.tokens_valid_after = Some(now);
            a.updated_at = now;
        }
        true
    }

    /// Ends key `old` at `old_expires_at` (or earlier) and adds `new_key`; `false` when `old`
    /// is not usable.
    pub(super) fn rotate_service_account_key(
        &mut self,
        old: Uuid,
        old_expires_at: DateTime<Utc>,
        new_key: &ServiceAccountKey,
        secret_hash: &[u8; 32],
    ) -> bool {
        let now = new_key.created_at;
        let Some((stored, _)) = self.service_account_keys.iter_mut().find(|(k, _)| {
            k.client_id == new_key.client_id
                && k.service_account_id == new_key.service_account_id
                && k.id == old
                && k.usable_at(now)
        }) else {
            return false;
        };
        stored.expires_at = Some(
            stored
                .expires_at
                .map_or(old_expires_at, |at| at.min(old_expires_at)),
        );
        self.service_account_keys
            .push((new_key.clone(), *secret_hash));
        true
    }
}
