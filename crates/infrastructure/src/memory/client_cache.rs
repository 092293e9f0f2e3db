//! A short-lived cache in front of the client repository for the request path: API-key →
//! client, id → client and CORS-preflight origin answers are served from memory for `ttl`. Every write through this
//! replica drops the client's entries at once; other replicas see a suspension or a key
//! rotation within `ttl` (the documented worst-case delay). Reads that modify a client
//! (`get`) always go to the store. Misses are remembered too (unknown API keys and client ids):
//! a caller repeating a random key or id costs one query per `ttl`, not one per request; any
//! client write through this replica forgets them.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use authservice_application::ports::{
    ClientRepository, ClientWriteError, SealedSecret, SealedSigningKey,
};
use authservice_domain::{ApiKeyHash, AuditEvent, Client, ClientId};
use uuid::Uuid;

/// Above this many entries a map is emptied (a crude bound against unbounded growth).
const MAX_ENTRIES: usize = 10_000;

/// `None`: looked up and not found.
type Entries<K> = RwLock<HashMap<K, (Option<Client>, Instant)>>;

pub struct CachingClientRepository {
    inner: Arc<dyn ClientRepository>,
    ttl: Duration,
    by_key: Entries<[u8; 32]>,
    by_id: Entries<ClientId>,
    by_slug: Entries<String>,
    /// CORS preflight answers by origin (they carry no API key, so every unknown origin would
    /// otherwise cost a query).
    origins: RwLock<HashMap<String, (bool, Instant)>>,
}

impl CachingClientRepository {
    #[must_use]
    pub fn new(inner: Arc<dyn ClientRepository>, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            by_key: RwLock::default(),
            by_id: RwLock::default(),
            by_slug: RwLock::default(),
            origins: RwLock::default(),
        }
    }

    /// `Some(answer)` when a fresh answer (found or not) is cached.
    fn fresh<K: std::hash::Hash + Eq>(&self, map: &Entries<K>, key: &K) -> Option<Option<Client>> {
        let map = map.read().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(client, _)| client.clone())
    }

    fn store<K: std::hash::Hash + Eq>(map: &Entries<K>, key: K, client: Option<Client>) {
        let mut map = map.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            // Misses go first: a flood of random keys must not push real clients out.
            map.retain(|_, (client, _)| client.is_some());
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(key, (client, Instant::now()));
    }

    fn forget(&self, id: ClientId) {
        self.by_key
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, (client, _)| client.as_ref().is_some_and(|c| c.id != id));
        self.by_id
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|key, (client, _)| *key != id && client.is_some());
        self.by_slug
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, (client, _)| client.as_ref().is_some_and(|c| c.id != id));
        // Any client write may change which origins are allowed.
        self.origins
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

#[async_trait]
impl ClientRepository for CachingClientRepository {
    async fn insert(
        &self,
        client: &Client,
        jwt_secret: &SealedSecret,
        signing_key: &SealedSigningKey,
        audit: &AuditEvent,
    ) -> Result<(), ClientWriteError> {
        let result = self
            .inner
            .insert(client, jwt_secret, signing_key, audit)
            .await;
        self.forget(client.id);
        result
    }

    async fn update(
        &self,
        client: &Client,
        jwt_secret: Option<&SealedSecret>,
        audit: &AuditEvent,
    ) -> Result<(), ClientWriteError> {
        let result = self.inner.update(client, jwt_secret, audit).await;
        self.forget(client.id);
        result
    }

    async fn get(&self, id: ClientId) -> anyhow::Result<Option<Client>> {
        self.inner.get(id).await
    }

    async fn get_cached(&self, id: ClientId) -> anyhow::Result<Option<Client>> {
        if let Some(answer) = self.fresh(&self.by_id, &id) {
            return Ok(answer);
        }
        let found = self.inner.get(id).await?;
        Self::store(&self.by_id, id, found.clone());
        Ok(found)
    }

    async fn find_by_slug(&self, slug: &str) -> anyhow::Result<Option<Client>> {
        if let Some(answer) = self.fresh(&self.by_slug, &slug.to_owned()) {
            return Ok(answer);
        }
        let found = self.inner.find_by_slug(slug).await?;
        Self::store(&self.by_slug, slug.to_owned(), found.clone());
        Ok(found)
    }

    async fn find_by_api_key_hash(&self, hash: &ApiKeyHash) -> anyhow::Result<Option<Client>> {
        if let Some(answer) = self.fresh(&self.by_key, hash.as_bytes()) {
            return Ok(answer);
        }
        let found = self.inner.find_by_api_key_hash(hash).await?;
        Self::store(&self.by_key, *hash.as_bytes(), found.clone());
        Ok(found)
    }

    async fn list(&self, after: Option<Uuid>, limit: usize) -> anyhow::Result<Vec<Client>> {
        self.inner.list(after, limit).await
    }

    async fn jwt_secret(&self, id: ClientId) -> anyhow::Result<Option<SealedSecret>> {
        self.inner.jwt_secret(id).await
    }

    async fn any_active_allows_origin(&self, origin: &str) -> anyhow::Result<bool> {
        if let Some((allowed, at)) = self
            .origins
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(origin)
            && at.elapsed() < self.ttl
        {
            return Ok(*allowed);
        }
        let allowed = self.inner.any_active_allows_origin(origin).await?;
        let mut origins = self.origins.write().unwrap_or_else(|p| p.into_inner());
        if origins.len() >= MAX_ENTRIES {
            origins.clear();
        }
        origins.insert(origin.to_owned(), (allowed, Instant::now()));
        Ok(allowed)
    }
}
