use async_trait::async_trait;
use authservice_domain::ClientId;
use authservice_domain::oidc_app::OidcApp;
use uuid::Uuid;

use crate::pagination::PageRequest;

/// A client's OIDC applications, as read (every method scoped by client, but the lookup by
/// public id); they are written through [`super::UnitOfWork`].
#[async_trait]
pub trait OidcAppRepository: Send + Sync {
    /// One page of the client's apps, oldest first: up to `page.limit + 1` after the cursor.
    ///
    /// # Errors
    /// The store failed.
    async fn list(&self, client: ClientId, page: PageRequest) -> anyhow::Result<Vec<OidcApp>>;

    /// App `id` of `client`.
    ///
    /// # Errors
    /// The store failed.
    async fn get(&self, client: ClientId, id: Uuid) -> anyhow::Result<Option<OidcApp>>;

    /// The app relying parties call `public_id` (any client: the caller checks the tenant),
    /// with the SHA-256 of its secret when it has one.
    ///
    /// # Errors
    /// The store failed.
    async fn by_public_id(
        &self,
        public_id: &str,
    ) -> anyhow::Result<Option<(OidcApp, Option<[u8; 32]>)>>;
}
