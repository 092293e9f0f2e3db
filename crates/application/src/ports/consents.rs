use async_trait::async_trait;
use authservice_domain::{ClientId, UserId};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What a user allowed an OIDC app, as the account page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub app_id: Uuid,
    /// The app's `client_id` (`app_…`).
    pub app_public_id: String,
    pub app_name: String,
    pub scopes: Vec<String>,
    pub granted_at: DateTime<Utc>,
}

/// Consents users gave third-party OIDC apps (one per user and app), as read; they are
/// granted and forgotten through [`super::UnitOfWork`].
#[async_trait]
pub trait ConsentRepository: Send + Sync {
    /// The scopes `user` allowed `app`, if they ever did.
    ///
    /// # Errors
    /// The store failed.
    async fn granted(
        &self,
        client: ClientId,
        user: UserId,
        app: Uuid,
    ) -> anyhow::Result<Option<Vec<String>>>;

    /// The user's consents, newest first.
    ///
    /// # Errors
    /// The store failed.
    async fn list(&self, client: ClientId, user: UserId) -> anyhow::Result<Vec<Consent>>;
}
