use std::time::Duration;

use async_trait::async_trait;
use authservice_domain::{AuditEvent, ClientId};
use chrono::{DateTime, Utc};

use super::SealedSigningKey;

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

    /// Makes `new_key` the active key of `client`; the previous active key stays published for
    /// `overlap` (retired at once when zero). Stores `audit` in the same transaction.
    ///
    /// # Errors
    /// The store failed (nothing is written).
    async fn rotate(
        &self,
        client: ClientId,
        new_key: &SealedSigningKey,
        overlap: Duration,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<()>;
}
