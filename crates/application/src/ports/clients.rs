use async_trait::async_trait;
use authservice_domain::{ApiKeyHash, AuditEvent, Client, ClientId};
use uuid::Uuid;

use super::SealedSecret;

/// A signing key ready to store: the private half sealed.
#[derive(Debug, Clone)]
pub struct SealedSigningKey {
    pub kid: String,
    pub alg: String,
    pub private_key: SealedSecret,
    pub public_jwk: serde_json::Value,
}

/// Why a client write failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientWriteError {
    #[error("slug already taken")]
    SlugTaken,
    #[error("client not found")]
    NotFound,
    /// The row changed since it was read (optimistic lock on `version`).
    #[error("client was modified concurrently")]
    Conflict,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Durable storage of clients. Every write also stores its audit event, in the same transaction.
#[async_trait]
pub trait ClientRepository: Send + Sync {
    /// Inserts a new client with its sealed JWT secret and first (active) signing key.
    ///
    /// # Errors
    /// `SlugTaken` when the slug exists; `Unexpected` otherwise.
    async fn insert(
        &self,
        client: &Client,
        jwt_secret: &SealedSecret,
        signing_key: &SealedSigningKey,
        audit: &AuditEvent,
    ) -> Result<(), ClientWriteError>;

    /// Stores every mutable field of `client` (and the JWT secret when given) if the stored
    /// row still has `client.version - 1`.
    ///
    /// # Errors
    /// `NotFound`, `SlugTaken`, `Conflict` (version moved), `Unexpected`.
    async fn update(
        &self,
        client: &Client,
        jwt_secret: Option<&SealedSecret>,
        audit: &AuditEvent,
    ) -> Result<(), ClientWriteError>;

    /// The stored client, always fresh (use cases that modify a client read through this).
    ///
    /// # Errors
    /// The store failed.
    async fn get(&self, id: ClientId) -> anyhow::Result<Option<Client>>;

    /// The client for request-path checks (token validation), which may be served from a
    /// short-lived cache.
    ///
    /// # Errors
    /// The store failed.
    async fn get_cached(&self, id: ClientId) -> anyhow::Result<Option<Client>> {
        self.get(id).await
    }

    /// The client with this slug (the tenant issuer `/t/{slug}`), which may be served from a
    /// short-lived cache.
    ///
    /// # Errors
    /// The store failed.
    async fn find_by_slug(&self, slug: &str) -> anyhow::Result<Option<Client>>;

    /// The client whose current API key has this digest.
    ///
    /// # Errors
    /// The store failed.
    async fn find_by_api_key_hash(&self, hash: &ApiKeyHash) -> anyhow::Result<Option<Client>>;

    /// Clients ordered by id, starting after `after`, at most `limit`.
    ///
    /// # Errors
    /// The store failed.
    async fn list(&self, after: Option<Uuid>, limit: usize) -> anyhow::Result<Vec<Client>>;

    /// The sealed HS256 secret of a client.
    ///
    /// # Errors
    /// The store failed.
    async fn jwt_secret(&self, id: ClientId) -> anyhow::Result<Option<SealedSecret>>;

    /// Whether any active client lists `origin` (used to answer CORS preflights, which carry
    /// no API key).
    ///
    /// # Errors
    /// The store failed.
    async fn any_active_allows_origin(&self, origin: &str) -> anyhow::Result<bool>;
}
