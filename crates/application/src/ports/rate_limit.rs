use std::time::Duration;

use async_trait::async_trait;

/// At most `limit` events per sliding `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateRule {
    pub limit: u32,
    pub window: Duration,
}

/// Outcome of a rate-limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allowed { remaining: u32 },
    Limited { retry_after: Duration },
}

/// Sliding-window counters shared by all replicas (Redis) or local to one (in-process).
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one event under `key` if the window has room, and says whether it had.
    async fn hit(&self, key: &str, rule: RateRule) -> anyhow::Result<RateDecision>;

    /// Says whether an event would be allowed, without counting one.
    async fn peek(&self, key: &str, rule: RateRule) -> anyhow::Result<RateDecision>;
}
