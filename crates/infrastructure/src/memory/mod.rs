//! In-process stores for a single instance running without Redis.
//!
//! State lives in this process only: with several replicas each would count on its own, so the
//! server logs a warning at startup when these are in use.

mod absence_cache;
mod client_cache;

pub use absence_cache::{AbsenceCachingStore, FeedHealth};
pub use client_cache::CachingClientRepository;

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use authservice_application::ports::{EphemeralStore, RateDecision, RateLimiter, RateRule};

/// Keys (with optional values) and their expiry, kept in memory (swept of expired keys as it
/// grows).
#[derive(Default)]
pub struct MemoryEphemeralStore {
    entries: Mutex<HashMap<String, (Instant, String)>>,
}

impl MemoryEphemeralStore {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn insert(&self, key: &str, value: &str, ttl: Duration) {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= 4096 && entries.len().is_power_of_two() {
            entries.retain(|_, (until, _)| *until > now);
        }
        entries.insert(key.to_owned(), (now + ttl, value.to_owned()));
    }
}

#[async_trait]
impl EphemeralStore for MemoryEphemeralStore {
    async fn put(&self, key: &str, ttl: Duration) -> anyhow::Result<()> {
        self.insert(key, "1", ttl);
        Ok(())
    }

    async fn exists(&self, key: &str) -> anyhow::Result<bool> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        Ok(entries
            .get(key)
            .is_some_and(|(until, _)| *until > Instant::now()))
    }

    async fn put_value(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()> {
        self.insert(key, value, ttl);
        Ok(())
    }

    async fn get_value(&self, key: &str) -> anyhow::Result<Option<String>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        Ok(entries
            .get(key)
            .filter(|(until, _)| *until > Instant::now())
            .map(|(_, value)| value.clone()))
    }

    async fn put_new(&self, key: &str, ttl: Duration) -> anyhow::Result<bool> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if entries.get(key).is_some_and(|(until, _)| *until > now) {
            return Ok(false);
        }
        entries.insert(key.to_owned(), (now + ttl, "1".to_owned()));
        Ok(true)
    }

    async fn take(&self, key: &str) -> anyhow::Result<Option<String>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        Ok(entries
            .remove(key)
            .filter(|(until, _)| *until > Instant::now())
            .map(|(_, value)| value))
    }
}

/// Sliding-window log per key, kept in memory.
#[derive(Default)]
pub struct MemoryRateLimiter {
    windows: Mutex<HashMap<String, VecDeque<(Instant, u64)>>>,
    next_ticket: AtomicU64,
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
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if ticket % SWEEP_EVERY == SWEEP_EVERY - 1 {
            windows.retain(|_, log| {
                log.back()
                    .is_some_and(|(t, _)| now.duration_since(*t) < MAX_WINDOW)
            });
        }
        let log = windows.entry(key.to_owned()).or_default();
        while log
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) >= rule.window)
        {
            log.pop_front();
        }
        let count = u32::try_from(log.len()).unwrap_or(u32::MAX);
        if count < rule.limit {
            if !record {
                return RateDecision::Allowed {
                    remaining: rule.limit - count,
                    ticket: String::new(),
                };
            }
            log.push_back((now, ticket));
            return RateDecision::Allowed {
                remaining: rule.limit - count - 1,
                ticket: ticket.to_string(),
            };
        }
        let oldest = log.front().map_or(now, |(t, _)| *t);
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

    async fn release(&self, key: &str, ticket: &str) -> anyhow::Result<()> {
        let Ok(ticket) = ticket.parse::<u64>() else {
            return Ok(());
        };
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(log) = windows.get_mut(key) {
            log.retain(|(_, t)| *t != ticket);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(decision: &RateDecision) -> bool {
        matches!(decision, RateDecision::Allowed { .. })
    }

    #[tokio::test]
    async fn limits_within_window_releases_and_slides() {
        let limiter = MemoryRateLimiter::new();
        let rule = RateRule {
            limit: 3,
            window: Duration::from_millis(200),
        };
        let mut tickets = Vec::new();
        for _ in 0..3 {
            match limiter.hit("k", rule).await.unwrap() {
                RateDecision::Allowed { ticket, .. } => tickets.push(ticket),
                RateDecision::Limited { .. } => panic!("limited too early"),
            }
        }
        assert!(!allowed(&limiter.hit("k", rule).await.unwrap()));
        assert!(allowed(&limiter.hit("other", rule).await.unwrap()));
        limiter.release("k", &tickets[0]).await.unwrap();
        assert!(allowed(&limiter.hit("k", rule).await.unwrap()));
        assert!(!allowed(&limiter.hit("k", rule).await.unwrap()));
        tokio::time::sleep(Duration::from_millis(220)).await;
        assert!(allowed(&limiter.hit("k", rule).await.unwrap()));
    }
}
