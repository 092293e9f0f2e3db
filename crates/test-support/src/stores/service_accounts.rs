//! Service accounts and their keys, in memory.

use authservice_application::pagination::PageRequest;
use authservice_application::ports::ServiceAccountRepository;
use authservice_domain::service_account::{ServiceAccount, ServiceAccountKey};

use super::*;

#[async_trait]
impl ServiceAccountRepository for MemoryDb {
    async fn create(&self, account: &ServiceAccount, audit: &AuditEvent) -> anyhow::Result<()> {
        let mut st = self.lock();
        st.service_accounts.push(account.clone());
        st.audit.push(audit.clone());
        Ok(())
    }

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

    async fn update(&self, account: &ServiceAccount, audit: &AuditEvent) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let Some(stored) = st
            .service_accounts
            .iter_mut()
            .find(|a| a.client_id == account.client_id && a.id == account.id)
        else {
            return Ok(false);
        };
        *stored = ServiceAccount {
            created_at: stored.created_at,
            ..account.clone()
        };
        st.audit.push(audit.clone());
        Ok(true)
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

    async fn add_key(
        &self,
        key: &ServiceAccountKey,
        secret_hash: &[u8; 32],
        max_live: usize,
        audit: &AuditEvent,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let exists = st
            .service_accounts
            .iter()
            .any(|a| a.client_id == key.client_id && a.id == key.service_account_id);
        let live = st
            .service_account_keys
            .iter()
            .filter(|(k, _)| {
                k.client_id == key.client_id
                    && k.service_account_id == key.service_account_id
                    && k.usable_at(key.created_at)
            })
            .count();
        if !exists || live >= max_live {
            return Ok(false);
        }
        st.service_account_keys.push((key.clone(), *secret_hash));
        st.audit.push(audit.clone());
        Ok(true)
    }

    async fn revoke_key(
        &self,
        client: ClientId,
        account: Uuid,
        key: Uuid,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let Some((stored, _)) = st.service_account_keys.iter_mut().find(|(k, _)| {
            k.client_id == client
                && k.service_account_id == account
                && k.id == key
                && k.revoked_at.is_none()
        }) else {
            return Ok(false);
        };
        stored.revoked_at = Some(now);
        if let Some(a) = st
            .service_accounts
            .iter_mut()
            .find(|a| a.client_id == client && a.id == account)
        {
            a.tokens_valid_after = Some(now);
            a.updated_at = now;
        }
        st.audit.push(audit.clone());
        Ok(true)
    }

    async fn rotate_key(
        &self,
        old: Uuid,
        old_expires_at: DateTime<Utc>,
        new_key: &ServiceAccountKey,
        secret_hash: &[u8; 32],
        audit: &AuditEvent,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let now = new_key.created_at;
        let Some((stored, _)) = st.service_account_keys.iter_mut().find(|(k, _)| {
            k.client_id == new_key.client_id
                && k.service_account_id == new_key.service_account_id
                && k.id == old
                && k.usable_at(now)
        }) else {
            return Ok(false);
        };
        stored.expires_at = Some(
            stored
                .expires_at
                .map_or(old_expires_at, |at| at.min(old_expires_at)),
        );
        st.service_account_keys
            .push((new_key.clone(), *secret_hash));
        st.audit.push(audit.clone());
        Ok(true)
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
