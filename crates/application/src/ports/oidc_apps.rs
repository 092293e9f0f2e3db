use async_trait::async_trait;
use authservice_domain::oidc_app::OidcApp;
use authservice_domain::{AuditEvent, ClientId};
use uuid::Uuid;

use crate::pagination::PageRequest;

/// A client's OIDC applications. Every method is scoped by client.
#[async_trait]
pub trait OidcAppRepository: Send + Sync {
    /// Stores a new app with the hash of its secret (if it has one) and the audit event.
    ///
    /// # Errors
    /// The store failed (nothing is written).
    async fn create(
        &self,
        app: &OidcApp,
        secret_hash: Option<&[u8; 32]>,
        audit: &AuditEvent,
    ) -> anyhow::Result<()>;

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

    /// Stores the app's fields (not its secret) with the audit event; `false` when it is gone.
    ///
    /// # Errors
    /// The store failed.
    async fn update(&self, app: &OidcApp, audit: &AuditEvent) -> anyhow::Result<bool>;

    /// Replaces the app's secret (hash and prefix; `None` removes it) with the audit event;
    /// the old secret stops working at once. `false` when the app is gone.
    ///
    /// # Errors
    /// The store failed.
    async fn set_secret(
        &self,
        app: &OidcApp,
        secret_hash: Option<&[u8; 32]>,
        audit: &AuditEvent,
    ) -> anyhow::Result<bool>;

    /// The app relying parties call `public_id` (any client: the caller checks the tenant),
    /// with the SHA-256 of its secret when it has one.
    ///
    /// # Errors
    /// The store failed.
    async fn by_public_id(
        &self,
        public_id: &str,
    ) -> anyhow::Result<Option<(OidcApp, Option<[u8; 32]>)>>;

    /// Deletes app `id` of `client` with the audit event; `false` when there was none.
    ///
    /// # Errors
    /// The store failed.
    async fn delete(&self, client: ClientId, id: Uuid, audit: &AuditEvent) -> anyhow::Result<bool>;
}
