//! The background work of a running server: housekeeping (expired sessions and tokens) and
//! the email outbox worker, and how an early stop of a server task is reported.

#![allow(clippy::wildcard_imports)]

use super::*;

/// Periodic maintenance while the server runs: every 10 minutes, purge long-expired sessions.
/// Several replicas doing it at once is harmless (the DELETE is idempotent).
pub(super) async fn housekeeping(services: Arc<Services>) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match services.deliver_webhooks.purge_log().await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "purged old webhook deliveries"),
            Err(err) => tracing::warn!(
                error = format!("{err:#}"),
                "purging webhook deliveries failed"
            ),
        }
        match services.purge_sessions.execute().await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "purged expired sessions"),
            Err(err) => tracing::warn!(
                error = format!("{err:#}"),
                "purging expired sessions failed"
            ),
        }
    }
}

/// Seals new audit events into their scopes' hash chains: a batch at a time while there are
/// more, then every `interval`.
pub(super) async fn audit_sealer(services: Arc<Services>, interval: Duration) {
    const BATCH: usize = 1000;
    loop {
        tokio::time::sleep(interval).await;
        loop {
            match services.seal_audit_chain.run_once(BATCH).await {
                Ok(n) if n == BATCH => {}
                Ok(_) => break,
                Err(err) => {
                    tracing::warn!(error = format!("{err:#}"), "sealing the audit chain failed");
                    break;
                }
            }
        }
    }
}

/// Turns new audit events into webhook deliveries and sends the due ones, every `interval`
/// (at once again while there is more to do).
pub(super) async fn webhook_worker(services: Arc<Services>, interval: Duration) {
    const BATCH: usize = 500;
    const IN_FLIGHT: usize = 16;
    loop {
        let dispatched = services
            .deliver_webhooks
            .dispatch(BATCH)
            .await
            .unwrap_or_else(|err| {
                tracing::warn!(
                    error = format!("{err:#}"),
                    "queueing webhook deliveries failed"
                );
                0
            });
        let sent = services
            .deliver_webhooks
            .deliver_due(IN_FLIGHT)
            .await
            .unwrap_or_else(|err| {
                tracing::warn!(error = format!("{err:#}"), "delivering webhooks failed");
                0
            });
        if dispatched < BATCH && sent < IN_FLIGHT {
            tokio::time::sleep(interval).await;
        }
    }
}

/// Delivers queued email, one message at a time: whenever this replica queues a message, and
/// every `poll` otherwise (messages queued by other replicas, retries coming due). Stops
/// between messages when asked.
pub(super) async fn email_worker(
    services: Arc<Services>,
    wakeup: Arc<Notify>,
    poll: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        match services.deliver_outbox.deliver_next().await {
            Ok(Some(outcome)) => {
                tracing::debug!(?outcome, "email delivery");
                continue;
            }
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(error = format!("{err:#}"), "email delivery failed");
            }
        }
        tokio::select! {
            () = wakeup.notified() => {}
            () = tokio::time::sleep(poll) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// The error to report when a server stopped before shutdown was asked for.
pub(super) fn stopped_early(
    name: &str,
    joined: Result<anyhow::Result<()>, tokio::task::JoinError>,
) -> anyhow::Error {
    match joined {
        Ok(Ok(())) => anyhow::anyhow!("{name} server stopped unexpectedly"),
        Ok(Err(err)) => err.context(format!("{name} server failed")),
        Err(err) => anyhow::Error::new(err).context(format!("{name} server task failed")),
    }
}
