//! Remembers "not set" answers of an [`EphemeralStore`] per replica, so a hot check (is this
//! token revoked? did this user's sessions end?) does not cost a Redis round trip per call.
//!
//! A `put` through this replica is seen at once. A `put` through another replica arrives as an
//! invalidation message (Redis pub/sub, see `redis::invalidation`): while that feed is live an
//! absent answer is trusted for the long TTL; when the feed is down (or was never started) only
//! for the short one, so another replica's revocation shows within the short TTL either way.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use authservice_application::ports::EphemeralStore;

/// Most keys remembered; the map is emptied when full (a miss only costs a round trip).
const MAX_ENTRIES: usize = 100_000;

/// Whether the invalidation feed is known to be delivering: "live until" an instant that its
/// keeper pushes forward after each successful check of the subscription.
#[derive(Debug)]
pub struct FeedHealth {
    origin: Instant,
    /// Milliseconds after `origin` until which the feed counts as live (0: not live).
    live_until_ms: AtomicU64,
}

impl Default for FeedHealth {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
            live_until_ms: AtomicU64::new(0),
        }
    }
}

impl FeedHealth {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The subscription answered just now: live for `grace` more.
    pub fn confirm(&self, grace: Duration) {
        let until = self
            .now_ms()
            .saturating_add(u64::try_from(grace.as_millis()).unwrap_or(u64::MAX));
        self.live_until_ms.store(until, Ordering::Release);
    }

    /// The subscription is gone.
    pub fn lost(&self) {
        self.live_until_ms.store(0, Ordering::Release);
    }

    #[must_use]
    pub fn is_live(&self) -> bool {
        self.now_ms() < self.live_until_ms.load(Ordering::Acquire)
    }
}

pub struct AbsenceCachingStore {
    inner: Arc<dyn EphemeralStore>,
    /// Trust in an absent answer while the invalidation feed is live.
    live_ttl: Duration,
    /// ... and while it is not.
    fallback_ttl: Duration,
    feed: Arc<FeedHealth>,
    absent: Mutex<HashMap<String, Instant>>,
    /// Bumped by every invalidation: an answer read before a bump is not remembered (it may
    /// predate the write the invalidation announced).
    epoch: AtomicU64,
}

impl AbsenceCachingStore {
    /// A cache without an invalidation feed: absent answers are trusted for `ttl`.
    #[must_use]
    pub fn new(inner: Arc<dyn EphemeralStore>, ttl: Duration) -> Self {
        Self::with_feed(inner, ttl, ttl, Arc::new(FeedHealth::default()))
    }

    /// A cache whose absent answers last `live_ttl` while `feed` is live, else `fallback_ttl`.
    #[must_use]
    pub fn with_feed(
        inner: Arc<dyn EphemeralStore>,
        live_ttl: Duration,
        fallback_ttl: Duration,
        feed: Arc<FeedHealth>,
    ) -> Self {
        Self {
            inner,
            live_ttl,
            fallback_ttl,
            feed,
            absent: Mutex::new(HashMap::new()),
            epoch: AtomicU64::new(0),
        }
    }

    /// Another replica wrote `key`: forget that it was absent.
    pub fn invalidate(&self, key: &str) {
        let mut absent = self.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        absent.remove(key);
    }

    /// Messages may have been missed (the feed reconnected): forget everything.
    pub fn invalidate_all(&self) {
        let mut absent = self.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        absent.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.absent.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn ttl(&self) -> Duration {
        if self.feed.is_live() {
            self.live_ttl
        } else {
            self.fallback_ttl
        }
    }
}

#[async_trait]
impl EphemeralStore for AbsenceCachingStore {
    async fn put(&self, key: &str, ttl: Duration) -> anyhow::Result<()> {
        let written = self.inner.put(key, ttl).await;
        self.invalidate(key);
        written
    }

    async fn exists(&self, key: &str) -> anyhow::Result<bool> {
        let ttl = self.ttl();
        let fresh = self.lock().get(key).is_some_and(|at| at.elapsed() < ttl);
        if fresh {
            return Ok(false);
        }
        self.exists_any(&[key.to_owned()]).await
    }

    async fn exists_any(&self, keys: &[String]) -> anyhow::Result<bool> {
        let ttl = self.ttl();
        let stale: Vec<String> = {
            let absent = self.lock();
            keys.iter()
                .filter(|k| absent.get(*k).is_none_or(|at| at.elapsed() >= ttl))
                .cloned()
                .collect()
        };
        if stale.is_empty() {
            return Ok(false);
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let exists = self.inner.exists_any(&stale).await?;
        if !exists {
            let mut absent = self.lock();
            if self.epoch.load(Ordering::Acquire) != epoch {
                // A write was announced while we read: this answer may be older than it.
                return Ok(false);
            }
            if absent.len() >= MAX_ENTRIES {
                absent.clear();
            }
            let now = Instant::now();
            for key in stale {
                absent.insert(key, now);
            }
        }
        Ok(exists)
    }

    async fn put_value(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()> {
        let written = self.inner.put_value(key, value, ttl).await;
        self.invalidate(key);
        written
    }

    async fn get_value(&self, key: &str) -> anyhow::Result<Option<String>> {
        self.inner.get_value(key).await
    }

    async fn put_new(&self, key: &str, ttl: Duration) -> anyhow::Result<bool> {
        let written = self.inner.put_new(key, ttl).await;
        self.invalidate(key);
        written
    }

    async fn take(&self, key: &str) -> anyhow::Result<Option<String>> {
        self.inner.take(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryEphemeralStore;

    /// Writes straight to the shared store, as another replica does.
    fn replicas(
        live: Duration,
        fallback: Duration,
    ) -> (
        Arc<MemoryEphemeralStore>,
        AbsenceCachingStore,
        Arc<FeedHealth>,
    ) {
        let shared = Arc::new(MemoryEphemeralStore::new());
        let feed = Arc::new(FeedHealth::default());
        let cache = AbsenceCachingStore::with_feed(shared.clone(), live, fallback, feed.clone());
        (shared, cache, feed)
    }

    #[tokio::test]
    async fn an_absent_answer_lasts_the_fallback_ttl_without_a_live_feed() {
        let (other, cache, _feed) = replicas(Duration::from_secs(60), Duration::from_millis(100));
        assert!(!cache.exists("k").await.unwrap());
        other.put("k", Duration::from_secs(60)).await.unwrap();
        assert!(!cache.exists("k").await.unwrap(), "cached absence");
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(
            cache.exists("k").await.unwrap(),
            "seen after the fallback TTL"
        );
    }

    #[tokio::test]
    async fn with_a_live_feed_absence_lasts_until_invalidated() {
        let (other, cache, feed) = replicas(Duration::from_secs(60), Duration::from_millis(50));
        feed.confirm(Duration::from_secs(60));
        assert!(!cache.exists_any(&["a".into(), "b".into()]).await.unwrap());
        other.put("b", Duration::from_secs(60)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(
            !cache.exists("b").await.unwrap(),
            "trusted while the feed is live"
        );
        cache.invalidate("b");
        assert!(cache.exists_any(&["a".into(), "b".into()]).await.unwrap());
        // The feed going down makes old answers stale at once.
        other.put("a", Duration::from_secs(60)).await.unwrap();
        assert!(!cache.exists("a").await.unwrap());
        feed.lost();
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(cache.exists("a").await.unwrap());
    }

    /// Another replica writes (and announces) a key while this replica's read is in flight.
    struct WriteDuringRead {
        shared: Arc<MemoryEphemeralStore>,
        cache: std::sync::OnceLock<std::sync::Weak<AbsenceCachingStore>>,
    }

    #[async_trait]
    impl EphemeralStore for WriteDuringRead {
        async fn put(&self, key: &str, ttl: Duration) -> anyhow::Result<()> {
            self.shared.put(key, ttl).await
        }
        async fn exists(&self, key: &str) -> anyhow::Result<bool> {
            self.shared.exists(key).await
        }
        async fn exists_any(&self, keys: &[String]) -> anyhow::Result<bool> {
            let answer = self.shared.exists_any(keys).await?;
            self.shared.put(&keys[0], Duration::from_secs(60)).await?;
            if let Some(cache) = self.cache.get().and_then(std::sync::Weak::upgrade) {
                cache.invalidate(&keys[0]);
            }
            Ok(answer)
        }
        async fn put_value(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()> {
            self.shared.put_value(key, value, ttl).await
        }
        async fn get_value(&self, key: &str) -> anyhow::Result<Option<String>> {
            self.shared.get_value(key).await
        }
        async fn put_new(&self, key: &str, ttl: Duration) -> anyhow::Result<bool> {
            self.shared.put_new(key, ttl).await
        }
        async fn take(&self, key: &str) -> anyhow::Result<Option<String>> {
            self.shared.take(key).await
        }
    }

    #[tokio::test]
    async fn an_answer_read_across_an_invalidation_is_not_remembered() {
        let racing = Arc::new(WriteDuringRead {
            shared: Arc::new(MemoryEphemeralStore::new()),
            cache: std::sync::OnceLock::new(),
        });
        let feed = Arc::new(FeedHealth::default());
        feed.confirm(Duration::from_secs(60));
        let cache = Arc::new(AbsenceCachingStore::with_feed(
            racing.clone(),
            Duration::from_secs(60),
            Duration::from_secs(60),
            feed,
        ));
        racing.cache.set(Arc::downgrade(&cache)).ok();
        // The read answers "absent", but the key was written before the answer arrived: the
        // next call must ask again and see it.
        assert!(!cache.exists("k").await.unwrap());
        assert!(racing.shared.exists("k").await.unwrap());
        assert!(cache.exists("k").await.unwrap());
    }

    #[tokio::test]
    async fn a_local_put_is_seen_at_once() {
        let (_other, cache, feed) = replicas(Duration::from_secs(60), Duration::from_secs(60));
        feed.confirm(Duration::from_secs(60));
        assert!(!cache.exists("local").await.unwrap());
        cache.put("local", Duration::from_secs(60)).await.unwrap();
        assert!(cache.exists("local").await.unwrap());
    }
}
