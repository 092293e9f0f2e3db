use std::time::Duration;

use async_trait::async_trait;

/// Short-lived markers shared by all replicas (Redis) or local to one (in-process), such as
/// revoked access-token ids. Keys expire on their own.
#[async_trait]
pub trait EphemeralStore: Send + Sync {
    /// Sets `key` for `ttl` (replacing any earlier value and expiry).
    ///
    /// # Errors
    /// The store failed (e.g. Redis is unreachable).
    async fn put(&self, key: &str, ttl: Duration) -> anyhow::Result<()>;

    /// Whether `key` is set and not expired.
    ///
    /// # Errors
    /// The store failed (e.g. Redis is unreachable).
    async fn exists(&self, key: &str) -> anyhow::Result<bool>;

    /// Whether any of `keys` is set (one round trip where the store allows it).
    ///
    /// # Errors
    /// The store failed (e.g. Redis is unreachable).
    async fn exists_any(&self, keys: &[String]) -> anyhow::Result<bool> {
        for key in keys {
            if self.exists(key).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Stores `value` under `key` for `ttl` (replacing any earlier value).
    ///
    /// # Errors
    /// The store failed (e.g. Redis is unreachable).
    async fn put_value(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()>;

    /// The value under `key`, if set and not expired.
    ///
    /// # Errors
    /// The store failed (e.g. Redis is unreachable).
    async fn get_value(&self, key: &str) -> anyhow::Result<Option<String>>;

    /// Sets `key` for `ttl` only if it is not set (`SET NX`): `true` when this call set it — of
    /// concurrent callers exactly one wins (single-use markers: a client assertion's `jti`).
    ///
    /// # Errors
    /// The store failed (e.g. Redis is unreachable).
    async fn put_new(&self, key: &str, ttl: Duration) -> anyhow::Result<bool>;

    /// Reads and deletes `key` atomically (`GETDEL`): of concurrent takers, one gets the value.
    ///
    /// # Errors
    /// The store failed (e.g. Redis is unreachable).
    async fn take(&self, key: &str) -> anyhow::Result<Option<String>>;
}
