//! The in-memory client store.

#![allow(clippy::wildcard_imports)]

use super::*;

#[async_trait]
impl ClientRepository for MemoryDb {
    async fn insert(
        &self,
        client: &Client,
        jwt_secret: &SealedSecret,
        _signing_key: &SealedSigningKey,
        audit: &AuditEvent,
    ) -> Result<(), ClientWriteError> {
        let mut st = self.lock();
        if st.clients.iter().any(|(c, _)| c.slug == client.slug) {
            return Err(ClientWriteError::SlugTaken);
        }
        st.clients.push((client.clone(), jwt_secret.clone()));
        st.audit.push(audit.clone());
        Ok(())
    }

    async fn update(
        &self,
        client: &Client,
        jwt_secret: Option<&SealedSecret>,
        audit: &AuditEvent,
    ) -> Result<(), ClientWriteError> {
        let mut st = self.lock();
        if st
            .clients
            .iter()
            .any(|(c, _)| c.slug == client.slug && c.id != client.id)
        {
            return Err(ClientWriteError::SlugTaken);
        }
        let (stored, secret) = st
            .clients
            .iter_mut()
            .find(|(c, _)| c.id == client.id)
            .ok_or(ClientWriteError::NotFound)?;
        if stored.version != client.version - 1 {
            return Err(ClientWriteError::Conflict);
        }
        *stored = client.clone();
        if let Some(new) = jwt_secret {
            *secret = new.clone();
        }
        st.audit.push(audit.clone());
        Ok(())
    }

    async fn get(&self, id: ClientId) -> anyhow::Result<Option<Client>> {
        Ok(self
            .lock()
            .clients
            .iter()
            .find(|(c, _)| c.id == id)
            .map(|(c, _)| c.clone()))
    }

    async fn find_by_slug(&self, slug: &str) -> anyhow::Result<Option<Client>> {
        Ok(self
            .lock()
            .clients
            .iter()
            .find(|(c, _)| c.slug.as_str() == slug)
            .map(|(c, _)| c.clone()))
    }

    async fn find_by_api_key_hash(&self, hash: &ApiKeyHash) -> anyhow::Result<Option<Client>> {
        Ok(self
            .lock()
            .clients
            .iter()
            .find(|(c, _)| c.api_key_hash.matches(hash))
            .map(|(c, _)| c.clone()))
    }

    async fn list(&self, after: Option<Uuid>, limit: usize) -> anyhow::Result<Vec<Client>> {
        let mut all: Vec<Client> = self.lock().clients.iter().map(|(c, _)| c.clone()).collect();
        all.sort_by_key(|c| c.id.as_uuid());
        Ok(all
            .into_iter()
            .filter(|c| after.is_none_or(|a| c.id.as_uuid() > a))
            .take(limit)
            .collect())
    }

    async fn jwt_secret(&self, id: ClientId) -> anyhow::Result<Option<SealedSecret>> {
        Ok(self
            .lock()
            .clients
            .iter()
            .find(|(c, _)| c.id == id)
            .map(|(_, s)| s.clone()))
    }

    async fn any_active_allows_origin(&self, origin: &str) -> anyhow::Result<bool> {
        Ok(self
            .lock()
            .clients
            .iter()
            .any(|(c, _)| c.is_active() && c.allows_origin(origin)))
    }
}
