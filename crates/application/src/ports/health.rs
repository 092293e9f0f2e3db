use async_trait::async_trait;

/// Connection-pool usage, exported as metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub max_size: usize,
    pub size: usize,
    pub available: usize,
}

/// A dependency whose availability decides readiness.
#[async_trait]
pub trait Probe: Send + Sync {
    /// Short name used in `/readyz` and metrics (`postgres`, `redis`).
    fn name(&self) -> &'static str;

    /// Answers within a bounded time.
    ///
    /// # Errors
    /// Any failure or timeout means "not ready".
    async fn ping(&self) -> anyhow::Result<()>;

    fn pool_stats(&self) -> Option<PoolStats>;
}
