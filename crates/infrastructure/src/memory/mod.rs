//! In-process stores for a single instance running without Redis.
//!
//! State lives in this process only: with several replicas each would count on its own, so the
//! server logs a warning at startup when these are in use.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use authservice_application::ports::{RateDecision, RateLimiter, RateRule};

/// Sliding-window log per key, kept in memory.
#[derive(Default)]
pub struct MemoryRateLimiter {
    windows: Mutex<HashMap<String, VecDeque<Instant>>>,
    calls: AtomicU64,
}

/// Drop idle keys every this many calls, so memory stays bounded by active keys.
const SWEEP_EVERY: u64 = 4096;
/// The longest window any rule uses; older entries are always irrelevant.
const MAX_WINDOW: Duration = Duration::from_secs(24 * 3600);

impl MemoryRateLimiter {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn decide(&self, key: &str, rule: RateRule, record: bool) -> RateDecision {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if self.calls.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            windows.retain(|_, log| {
                log.back()
                    .is_some_and(|t| now.duration_since(*t) < MAX_WINDOW)
            });
        }
        let log = windows.entry(key.to_owned()).or_default();
        while log
            .front()
            .is_some_and(|t| now.duration_since(*t) >= rule.window)
        {
            log.pop_front();
        }
        let count = u32::try_from(log.len()).unwrap_or(u32::MAX);
        if count < rule.limit {
            if record {
                log.push_back(now);
                return RateDecision::Allowed {
                    remaining: rule.limit - count - 1,
                };
            }
            return RateDecision::Allowed {
                remaining: rule.limit - count,
            };
        }
        let oldest = log.front().copied().unwrap_or(now);
        RateDecision::Limited {
            retry_after: rule.window.saturating_sub(now.duration_since(oldest)),
        }
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(&self, key: &str, rule: RateRule) -> anyhow::Result<RateDecision> {
        Ok(self.decide(key, rule, true))
    }

    async fn peek(&self, key: &str, rule: RateRule) -> anyhow::Result<RateDecision> {
        Ok(self.decide(key, rule, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn limits_within_window_and_slides() {
        let limiter = MemoryRateLimiter::new();
        let rule = RateRule {
            limit: 3,
            window: Duration::from_millis(200),
        };
        for _ in 0..3 {
            assert!(matches!(
                limiter.hit("k", rule).await.unwrap(),
                RateDecision::Allowed { .. }
            ));
        }
        assert!(matches!(
            limiter.peek("k", rule).await.unwrap(),
            RateDecision::Limited { .. }
        ));
        assert!(matches!(
            limiter.hit("other", rule).await.unwrap(),
            RateDecision::Allowed { remaining: 2 }
        ));
        tokio::time::sleep(Duration::from_millis(220)).await;
        assert!(matches!(
            limiter.peek("k", rule).await.unwrap(),
            RateDecision::Allowed { remaining: 3 }
        ));
    }
}
