//! Redis through deadpool-redis: sliding-window rate limits shared by all replicas.
//!
//! Every key starts with `REDIS_KEY_PREFIX`, so several deployments (or test runs) can share
//! one Redis.

use std::time::Duration;

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use authservice_application::ports::{
    EphemeralStore, PoolStats, Probe, RateDecision, RateLimiter, RateRule,
};
use deadpool_redis::{Config, Pool, PoolConfig, Runtime, Timeouts};

pub mod invalidation;

pub type RedisPool = Pool;

/// Builds the pool. Connections are made lazily and replaced when broken, so Redis coming
/// back after an outage needs no restart.
pub fn connect(url: &str, max_size: usize) -> anyhow::Result<RedisPool> {
    let mut config = Config::from_url(url);
    config.pool = Some(PoolConfig {
        max_size,
        timeouts: Timeouts {
            wait: Some(Duration::from_secs(2)),
            create: Some(Duration::from_secs(2)),
            recycle: Some(Duration::from_secs(1)),
        },
        queue_mode: Default::default(),
    });
    config
        .create_pool(Some(Runtime::Tokio1))
        .context("building the Redis pool")
}

/// Readiness of Redis: a `PING` within two seconds.
pub struct RedisProbe {
    pool: RedisPool,
}

impl RedisProbe {
    #[must_use]
    pub fn new(pool: RedisPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl Probe for RedisProbe {
    fn name(&self) -> &'static str {
        "redis"
    }

    #[tracing::instrument(name = "redis.ping", level = "debug", skip_all)]
    async fn ping(&self) -> anyhow::Result<()> {
        let check = async {
            let mut conn = self
                .pool
                .get()
                .await
                .map_err(|e| anyhow!("unreachable: {e}"))?;
            let pong: String = redis::cmd("PING")
                .query_async(&mut conn)
                .await
                .map_err(|e| anyhow!("ping failed: {e}"))?;
            if pong == "PONG" {
                Ok(())
            } else {
                Err(anyhow!("unexpected ping answer"))
            }
        };
        tokio::time::timeout(Duration::from_secs(2), check)
            .await
            .map_err(|_| anyhow!("timed out"))?
    }

    fn pool_stats(&self) -> Option<PoolStats> {
        let status = self.pool.status();
        Some(PoolStats {
            max_size: status.max_size,
            size: status.size,
            available: status.available,
        })
    }
}

/// Sliding-window log in a sorted set per key, evaluated atomically in a Lua script with the
/// Redis server's clock (so replicas with skewed clocks agree). The member is the caller's
/// ticket, so `release` can remove it again.
///
/// Returns `{1, remaining}` when counted, `{0, retry_after_ms}` when limited.
const SLIDING_WINDOW: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  if ARGV[4] ~= '1' then
    return {1, limit - count}
  end
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, limit - count - 1}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if oldest[2] == nil then
  return {0, window}
end
return {0, tonumber(oldest[2]) + window - now}
";

pub struct RedisRateLimiter {
    pool: RedisPool,
    prefix: String,
    script: redis::Script,
}

impl RedisRateLimiter {
    #[must_use]
    pub fn new(pool: RedisPool, prefix: &str) -> Self {
        Self {
            pool,
            prefix: format!("{prefix}rl:"),
            script: redis::Script::new(SLIDING_WINDOW),
        }
    }
}

impl RedisRateLimiter {
    async fn run(&self, key: &str, rule: RateRule, record: bool) -> anyhow::Result<RateDecision> {
        let mut conn = self.pool.get().await.context("connecting to Redis")?;
        let window_ms = u64::try_from(rule.window.as_millis()).unwrap_or(u64::MAX);
        let ticket = uuid::Uuid::new_v4().simple().to_string();
        let (allowed, value): (i64, i64) = self
            .script
            .key(format!("{}{key}", self.prefix))
            .arg(window_ms)
            .arg(rule.limit)
            .arg(&ticket)
            .arg(if record { "1" } else { "0" })
            .invoke_async(&mut conn)
            .await
            .context("running the rate-limit script")?;
        Ok(if allowed == 1 {
            RateDecision::Allowed {
                remaining: u32::try_from(value).unwrap_or(0),
                ticket: if record { ticket } else { String::new() },
            }
        } else {
            RateDecision::Limited {
                retry_after: Duration::from_millis(u64::try_from(value.max(1)).unwrap_or(1)),
            }
        })
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    #[tracing::instrument(name = "redis.hit", level = "debug", skip_all)]
    async fn hit(&self, key: &str, rule: RateRule) -> anyhow::Result<RateDecision> {
        self.run(key, rule, true).await
    }

    #[tracing::instrument(name = "redis.peek", level = "debug", skip_all)]
    async fn peek(&self, key: &str, rule: RateRule) -> anyhow::Result<RateDecision> {
        self.run(key, rule, false).await
    }

    #[tracing::instrument(name = "redis.release", level = "debug", skip_all)]
    async fn release(&self, key: &str, ticket: &str) -> anyhow::Result<()> {
        let mut conn = self.pool.get().await.context("connecting to Redis")?;
        let _: i64 = redis::cmd("ZREM")
            .arg(format!("{}{key}", self.prefix))
            .arg(ticket)
            .query_async(&mut conn)
            .await
            .context("releasing a rate-limit ticket")?;
        Ok(())
    }
}

/// Keys with expiry in Redis (`<prefix>eph:<key>`).
pub struct RedisEphemeralStore {
    pool: RedisPool,
    prefix: String,
    /// Where writes are announced (`{REDIS_KEY_PREFIX}invalidate`): other replicas' absence
    /// caches drop the key (see [`invalidation`]).
    channel: String,
}

impl RedisEphemeralStore {
    #[must_use]
    pub fn new(pool: RedisPool, prefix: &str) -> Self {
        Self {
            pool,
            prefix: format!("{prefix}eph:"),
            channel: invalidation::channel(prefix),
        }
    }

    /// `SET key value PX ttl` and the announcement of the key, in one round trip.
    async fn set_and_announce(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()> {
        let mut conn = self.pool.get().await.context("connecting to Redis")?;
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let _: () = redis::pipe()
            .cmd("SET")
            .arg(format!("{}{key}", self.prefix))
            .arg(value)
            .arg("PX")
            .arg(millis)
            .ignore()
            .cmd("PUBLISH")
            .arg(&self.channel)
            .arg(key)
            .ignore()
            .query_async(&mut conn)
            .await
            .context("setting an ephemeral key")?;
        Ok(())
    }
}

#[async_trait]
impl EphemeralStore for RedisEphemeralStore {
    #[tracing::instrument(name = "redis.put", level = "debug", skip_all)]
    async fn put(&self, key: &str, ttl: Duration) -> anyhow::Result<()> {
        self.set_and_announce(key, "1", ttl).await
    }

    #[tracing::instrument(name = "redis.exists", level = "debug", skip_all)]
    async fn exists(&self, key: &str) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.context("connecting to Redis")?;
        let n: i64 = redis::cmd("EXISTS")
            .arg(format!("{}{key}", self.prefix))
            .query_async(&mut conn)
            .await
            .context("reading an ephemeral key")?;
        Ok(n > 0)
    }

    #[tracing::instrument(name = "redis.exists_any", level = "debug", skip_all)]
    async fn exists_any(&self, keys: &[String]) -> anyhow::Result<bool> {
        if keys.is_empty() {
            return Ok(false);
        }
        let mut conn = self.pool.get().await.context("connecting to Redis")?;
        let mut cmd = redis::cmd("EXISTS");
        for key in keys {
            cmd.arg(format!("{}{key}", self.prefix));
        }
        let n: i64 = cmd
            .query_async(&mut conn)
            .await
            .context("reading ephemeral keys")?;
        Ok(n > 0)
    }

    #[tracing::instrument(name = "redis.put_value", level = "debug", skip_all)]
    async fn put_value(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()> {
        self.set_and_announce(key, value, ttl).await
    }

    #[tracing::instrument(name = "redis.get_value", level = "debug", skip_all)]
    async fn get_value(&self, key: &str) -> anyhow::Result<Option<String>> {
        let mut conn = self.pool.get().await.context("connecting to Redis")?;
        redis::cmd("GET")
            .arg(format!("{}{key}", self.prefix))
            .query_async(&mut conn)
            .await
            .context("reading an ephemeral value")
    }

    #[tracing::instrument(name = "redis.put_new", level = "debug", skip_all)]
    async fn put_new(&self, key: &str, ttl: Duration) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.context("connecting to Redis")?;
        let set: Option<String> = redis::cmd("SET")
            .arg(format!("{}{key}", self.prefix))
            .arg("1")
            .arg("NX")
            .arg("PX")
            .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1))
            .query_async(&mut conn)
            .await
            .context("setting a single-use key")?;
        Ok(set.is_some())
    }

    #[tracing::instrument(name = "redis.take", level = "debug", skip_all)]
    async fn take(&self, key: &str) -> anyhow::Result<Option<String>> {
        let mut conn = self.pool.get().await.context("connecting to Redis")?;
        redis::cmd("GETDEL")
            .arg(format!("{}{key}", self.prefix))
            .query_async(&mut conn)
            .await
            .context("taking an ephemeral value")
    }
}
