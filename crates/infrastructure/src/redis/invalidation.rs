//! Cross-replica invalidation of the per-replica absence cache over Redis pub/sub.
//!
//! Every write of an ephemeral key (a revoked `jti`, a user's "sessions ended" marker) is
//! published on `{REDIS_KEY_PREFIX}invalidate` in the same round trip as the write
//! ([`super::RedisEphemeralStore`]). Each replica keeps one subscription: a message drops the
//! key from its [`AbsenceCachingStore`]. The subscription is pinged every
//! [`PING_EVERY`]; while it answers, [`FeedHealth`] is live and the cache trusts absent answers
//! for its long TTL. When it stops answering the cache falls back to its short TTL within
//! [`LIVE_GRACE`], and on reconnection everything cached is forgotten (messages may have been
//! missed meanwhile).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::StreamExt;

use crate::memory::{AbsenceCachingStore, FeedHealth};

/// How often the subscription is checked.
pub const PING_EVERY: Duration = Duration::from_millis(250);
/// How long one successful check counts: a dead subscription is noticed within this.
pub const LIVE_GRACE: Duration = Duration::from_secs(1);
/// Pause between reconnection attempts.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// The channel of a deployment (its key prefix).
#[must_use]
pub fn channel(prefix: &str) -> String {
    format!("{prefix}invalidate")
}

/// Starts the subscription task: applies invalidations to `cache`, keeps `feed` current, and
/// reconnects after failures until the runtime stops.
///
/// # Errors
/// When `url` is not a valid Redis URL (a connection failure is retried, not returned).
pub fn spawn_listener(
    url: &str,
    prefix: &str,
    cache: Arc<AbsenceCachingStore>,
    feed: Arc<FeedHealth>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let client = redis::Client::open(url).context("parsing REDIS_URL for pub/sub")?;
    let channel = channel(prefix);
    Ok(tokio::spawn(async move {
        loop {
            if let Err(err) = listen(&client, &channel, &cache, &feed).await {
                tracing::warn!(error = %err, "cache invalidation feed interrupted; retrying");
            }
            feed.lost();
            tokio::time::sleep(RETRY_EVERY).await;
        }
    }))
}

/// One subscription's life: returns when it fails.
async fn listen(
    client: &redis::Client,
    channel: &str,
    cache: &AbsenceCachingStore,
    feed: &FeedHealth,
) -> anyhow::Result<()> {
    let connect = async {
        let (mut sink, stream) = client.get_async_pubsub().await?.split();
        sink.subscribe(channel).await?;
        Ok::<_, redis::RedisError>((sink, stream))
    };
    let (mut sink, mut stream) = tokio::time::timeout(LIVE_GRACE * 2, connect)
        .await
        .context("subscribing timed out")?
        .context("subscribing")?;
    // Subscribed: from here on no write is missed, so what was cached before can go.
    cache.invalidate_all();
    feed.confirm(LIVE_GRACE);
    tracing::debug!("cache invalidation feed subscribed");
    let mut ticks = tokio::time::interval(PING_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else {
                    anyhow::bail!("the subscription closed");
                };
                match std::str::from_utf8(message.get_payload_bytes()) {
                    Ok(key) => cache.invalidate(key),
                    Err(_) => cache.invalidate_all(),
                }
            }
            _ = ticks.tick() => {
                tokio::time::timeout(LIVE_GRACE, sink.ping::<redis::Value>())
                    .await
                    .context("ping timed out")?
                    .context("ping failed")?;
                feed.confirm(LIVE_GRACE);
            }
        }
    }
}
