//! SCIM directories (read here; written through [`super::UnitOfWork`]).

use async_trait::async_trait;
use authservice_domain::ClientId;
use authservice_domain::organization::OrganizationId;
use authservice_domain::scim::ScimDirectory;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::pagination::PageRequest;

/// Organizations' SCIM directories. Every method but [`Self::authenticate`] is scoped by
/// client.
#[async_trait]
pub trait ScimDirectoryRepository: Send + Sync {
    /// One page of the client's directories (of one organization when `org` is given), oldest
    /// first: up to `page.limit + 1` after the cursor.
    ///
    /// # Errors
    /// The store failed.
    async fn list(
        &self,
        client: ClientId,
        org: Option<OrganizationId>,
        page: PageRequest,
    ) -> anyhow::Result<Vec<ScimDirectory>>;

    /// Directory `id` of `client`.
    ///
    /// # Errors
    /// The store failed.
    async fn get(&self, client: ClientId, id: Uuid) -> anyhow::Result<Option<ScimDirectory>>;

    /// How many directories organization `org` has.
    ///
    /// # Errors
    /// The store failed.
    async fn count(&self, client: ClientId, org: OrganizationId) -> anyhow::Result<usize>;

    /// Directory `id` if `token_hash` is the SHA-256 of its current token (whatever its
    /// status: the caller decides).
    ///
    /// # Errors
    /// The store failed.
    async fn authenticate(
        &self,
        id: Uuid,
        token_hash: &[u8; 32],
    ) -> anyhow::Result<Option<ScimDirectory>>;

    /// Records that the directory's identity provider called at `at` (stored at most once a
    /// minute).
    ///
    /// # Errors
    /// The store failed.
    async fn touch(&self, id: Uuid, at: DateTime<Utc>) -> anyhow::Result<()>;
}
