use async_trait::async_trait;
use authservice_domain::ClientId;
use chrono::{DateTime, Utc};

/// A client's signing key as operators see it (never the private half).
#[derive(Debug, Clone)]
pub struct SigningKeyInfo {
    pub kid: String,
    pub alg: String,
    /// `active` (signs new tokens), `published` (verifies until `retires_at`), `retired`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub retires_at: Option<DateTime<Utc>>,
}

/// The lifecycle of clients' asymmetric signing keys.
#[async_trait]
pub trait SigningKeyStore: Send + Sync {
    /// Every key of `client`, newest first, with `status` as of `now` (a published key past its
    /// `retires_at` is reported retired).
    ///
    /// # Errors
    /// The store failed.
    async fn list(
        &self,
        client: ClientId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<SigningKeyInfo>>;
}
