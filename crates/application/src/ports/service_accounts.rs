use async_trait::async_trait;
use authservice_domain::service_account::{ServiceAccount, ServiceAccountKey};
use authservice_domain::{AuditEvent, ClientId};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::pagination::PageRequest;

/// A client's service accounts and their keys. Every method but [`Self::by_secret`] is scoped
/// by client; keys are always read with their account.
#[async_trait]
pub trait ServiceAccountRepository: Send + Sync {
    /// Stores a new account with the audit event.
    ///
    /// # Errors
    /// The store failed (nothing is written).
    async fn create(&self, account: &ServiceAccount, audit: &AuditEvent) -> anyhow::Result<()>;

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

    /// Stores the account's name, scopes, status and `tokens_valid_after` with the audit event;
    /// `false` when it is gone.
    ///
    /// # Errors
    /// The store failed (nothing is written).
    async fn update(&self, account: &ServiceAccount, audit: &AuditEvent) -> anyhow::Result<bool>;

    /// Every key of the account, newest first.
    ///
    /// # Errors
    /// The store failed.
    async fn keys(&self, client: ClientId, account: Uuid)
    -> anyhow::Result<Vec<ServiceAccountKey>>;

    /// Stores a new key with the SHA-256 of its secret and the audit event, unless the account
    /// already holds `max_live` keys that are neither revoked nor expired at `key.created_at`
    /// (`Ok(false)`, nothing written). Serialized per account.
    ///
    /// # Errors
    /// The store failed (nothing is written).
    async fn add_key(
        &self,
        key: &ServiceAccountKey,
        secret_hash: &[u8; 32],
        max_live: usize,
        audit: &AuditEvent,
    ) -> anyhow::Result<bool>;

    /// Revokes key `key` of `account` at `now` and makes the account's tokens issued before
    /// `now` stop counting (what the key minted dies with it), with the audit event. `false`
    /// when there is no such key or it was already revoked.
    ///
    /// # Errors
    /// The store failed (nothing is written).
    async fn revoke_key(
        &self,
        client: ClientId,
        account: Uuid,
        key: Uuid,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<bool>;

    /// Rotation in one transaction: key `old` expires at `old_expires_at` (or earlier, if it
    /// already did) and `new_key` is stored. `false` when `old` is gone, revoked or expired.
    ///
    /// # Errors
    /// The store failed (nothing is written).
    async fn rotate_key(
        &self,
        old: Uuid,
        old_expires_at: DateTime<Utc>,
        new_key: &ServiceAccountKey,
        secret_hash: &[u8; 32],
        audit: &AuditEvent,
    ) -> anyhow::Result<bool>;

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
