use std::time::Duration;

use async_trait::async_trait;

/// At most `limit` events per sliding `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateRule {
    pub limit: u32,
    pub window: Duration,
}

/// Outcome of a rate-limit check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateDecision {
    /// The event was counted. `ticket` names it, so it can be released again.
    Allowed {
        remaining: u32,
        ticket: String,
    },
    Limited {
        retry_after: Duration,
    },
}

/// Sliding-window counters shared by all replicas (Redis) or local to one (in-process).
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Atomically counts one event under `key` if the window has room, and says whether it had.
    ///
    /// # Errors
    /// The store is unreachable (callers fail closed).
    async fn hit(&self, key: &str, rule: RateRule) -> anyhow::Result<RateDecision>;

    /// Says whether an event would be counted now, without counting one (`ticket` is empty).
    ///
    /// # Errors
    /// The store is unreachable.
    async fn peek(&self, key: &str, rule: RateRule) -> anyhow::Result<RateDecision>;

    /// Uncounts an event recorded by `hit` (e.g. an attempt that turned out to be legitimate).
    /// Releasing an unknown or expired ticket does nothing.
    ///
    /// # Errors
    /// The store is unreachable.
    async fn release(&self, key: &str, ticket: &str) -> anyhow::Result<()>;
}
