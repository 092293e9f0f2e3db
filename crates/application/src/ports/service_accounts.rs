use async_trait::async_trait;
use authservice_domain::ClientId;
use authservice_domain::service_account::{ServiceAccount, ServiceAccountKey};
use uuid::Uuid;

use crate::pagination::PageRequest;

/// A client's service accounts and their keys, as read. Every method but [`Self::by_secret`]
/// is scoped by client; keys are always read with their account. They are written through
/// [`super::UnitOfWork`].
#[async_trait]
pub trait ServiceAccountRepository: Send + Sync {
    /// One page of the client's accounts, oldest first: up to `page.limit + 1` after the cursor.
    ///
    /// # Errors
    /// The store failed.
    async fn list(
        &self,
        client: ClientId,
        page: PageRequest,
    ) -> anyhow::Result<Vec<ServiceAccount>>;

    /// Account `id` of `client`.
    ///
    /// # Errors
    /// The store failed.
    async fn get(&self, client: ClientId, id: Uuid) -> anyhow::Result<Option<ServiceAccount>>;

    /// Every key of the account, newest first.
    ///
    /// # Errors
    /// The store failed.
    async fn keys(&self, client: ClientId, account: Uuid)
    -> anyhow::Result<Vec<ServiceAccountKey>>;

    /// The key whose secret hashes to `secret_hash`, with its account (any client: the secret
    /// names its owner; the caller checks the account id and the tenant).
    ///
    /// # Errors
    /// The store failed.
    async fn by_secret(
        &self,
        secret_hash: &[u8; 32],
    ) -> anyhow::Result<Option<(ServiceAccount, ServiceAccountKey)>>;
}
