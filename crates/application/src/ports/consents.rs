use async_trait::async_trait;
use authservice_domain::{AuditEvent, ClientId, UserId};
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

/// Consents users gave third-party OIDC apps (one per user and app).
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

    /// Remembers that `user` allowed `app` the `scopes` (added to what was allowed before),
    /// with `audit`, in one transaction.
    ///
    /// # Errors
    /// The store failed (nothing is written).
    async fn grant(
        &self,
        client: ClientId,
        user: UserId,
        app: Uuid,
        scopes: &[String],
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<()>;

    /// The user's consents, newest first.
    ///
    /// # Errors
    /// The store failed.
    async fn list(&self, client: ClientId, user: UserId) -> anyhow::Result<Vec<Consent>>;

    /// Forgets the consent to the app called `app_public_id` and ends the app's sessions of
    /// the user (their refresh tokens stop at once), with `audit`, in one transaction.
    /// Returns the app's id and the session families ended, or `None` when there was no such
    /// consent.
    ///
    /// # Errors
    /// The store failed (nothing is written).
    async fn revoke(
        &self,
        client: ClientId,
        user: UserId,
        app_public_id: &str,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<Option<(Uuid, Vec<Uuid>)>>;
}
