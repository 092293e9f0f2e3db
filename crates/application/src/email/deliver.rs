//! The outbox worker: claims due messages (a lease, `FOR UPDATE SKIP LOCKED`, so replicas never
//! send the same message concurrently), delivers each through the client's own SMTP server or
//! the server's, and records the attempt. Temporary failures are retried with exponential
//! backoff; permanent ones, and messages out of attempts, are given up and audited.

use authservice_domain::EventType;
use std::time::Duration;

use crate::context::AuditDraft;
use authservice_domain::AuditEvent;
use secrecy::SecretString;
use serde_json::json;

use super::MailConfig;
use crate::ports::{ClaimedEmail, OutboundEmail, Ports, SendError, SmtpRoute};

/// What happened to one claimed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Failed for now; retried later.
    Retrying,
    /// Failed for good (permanent refusal or out of attempts); audited.
    GivenUp,
    /// The claim's lease ran out before the outcome was recorded (another worker may hold the
    /// message now); nothing was recorded.
    LeaseLost,
}

pub struct DeliverOutbox {
    ports: Ports,
    config: MailConfig,
}

/// The delay before attempt `attempts + 1`: base·2^(attempts−1), at most `max`.
#[must_use]
pub fn backoff(base: Duration, max: Duration, attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(20));
    base.saturating_mul(factor).min(max)
}

impl DeliverOutbox {
    #[must_use]
    pub fn new(ports: &Ports, config: &MailConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
        }
    }

    /// Claims the next due message (one at a time, so a lease only has to cover one send) and
    /// tries to deliver it. `None` when nothing is due.
    pub async fn deliver_next(&self) -> anyhow::Result<Option<Delivery>> {
        let Some(message) = self.ports.outbox.claim_next(self.config.lease).await? else {
            return Ok(None);
        };
        let outcome = match self.deliver(&message).await {
            Ok(()) => {
                let event = self.event(EventType::EmailDelivered, &message, None);
                let recorded = self
                    .ports
                    .outbox
                    .mark_sent(&message, self.ports.clock.now(), &event)
                    .await?;
                if recorded {
                    Delivery::Sent
                } else {
                    Delivery::LeaseLost
                }
            }
            Err(err) => {
                let (text, permanent) = match &err {
                    SendError::Transient(t) => (t.as_str(), false),
                    SendError::Permanent(t) => (t.as_str(), true),
                };
                let text: String = text.chars().take(500).collect();
                if permanent || message.attempts >= self.config.max_attempts {
                    tracing::warn!(email_id = %message.id, attempts = message.attempts, error = %text, "email given up");
                    let event = self.event(EventType::EmailDeliveryFailed, &message, Some(&text));
                    let recorded = self
                        .ports
                        .outbox
                        .mark_failed(&message, &text, None, Some(&event))
                        .await?;
                    if recorded {
                        Delivery::GivenUp
                    } else {
                        Delivery::LeaseLost
                    }
                } else {
                    let delay = backoff(
                        self.config.retry_base,
                        self.config.retry_max,
                        message.attempts,
                    );
                    tracing::info!(email_id = %message.id, attempts = message.attempts, retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), error = %text, "email delivery failed; will retry");
                    let recorded = self
                        .ports
                        .outbox
                        .mark_failed(&message, &text, Some(delay), None)
                        .await?;
                    if recorded {
                        Delivery::Retrying
                    } else {
                        Delivery::LeaseLost
                    }
                }
            }
        };
        if outcome == Delivery::LeaseLost {
            tracing::warn!(email_id = %message.id, "email outcome not recorded: the claim's lease ran out");
        }
        Ok(Some(outcome))
    }

    async fn deliver(&self, message: &ClaimedEmail) -> Result<(), SendError> {
        let plain = self
            .ports
            .secret_box
            .open(&message.sealed)
            .map_err(|e| SendError::Permanent(format!("sealed message unreadable: {e}")))?;
        let email: OutboundEmail = serde_json::from_slice(&plain)
            .map_err(|e| SendError::Permanent(format!("sealed message malformed: {e}")))?;
        let route = self.route(message).await?;
        self.ports
            .mailer
            .send(message.id, &email, route.as_ref())
            .await
    }

    /// The client's own SMTP server, if it has one.
    async fn route(&self, message: &ClaimedEmail) -> Result<Option<SmtpRoute>, SendError> {
        let stored = self
            .ports
            .email_configs
            .get(message.client_id)
            .await
            .map_err(|e| SendError::Transient(format!("loading email settings: {e}")))?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        let Some(server) = stored.config.smtp else {
            return Ok(None);
        };
        let password = stored
            .smtp_password
            .map(|sealed| self.ports.secret_box.open(&sealed))
            .transpose()
            .map_err(|e| SendError::Permanent(format!("SMTP password unreadable: {e}")))?
            .map(|bytes| SecretString::from(String::from_utf8_lossy(&bytes).into_owned()));
        Ok(Some(SmtpRoute { server, password }))
    }

    fn event(
        &self,
        event_type: EventType,
        message: &ClaimedEmail,
        error: Option<&str>,
    ) -> AuditEvent {
        let mut event = AuditDraft::system(event_type, "email_worker")
            .client(message.client_id)
            .target("email", message.id)
            .metadata(json!({
                "kind": message.kind,
                "attempts": message.attempts,
                "error": error,
            }))
            .at(self.ports.clock.now());
        event.user_id = message.user_id.map(|u| u.as_uuid());
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let base = Duration::from_secs(10);
        let max = Duration::from_secs(900);
        assert_eq!(backoff(base, max, 1), Duration::from_secs(10));
        assert_eq!(backoff(base, max, 2), Duration::from_secs(20));
        assert_eq!(backoff(base, max, 4), Duration::from_secs(80));
        assert_eq!(backoff(base, max, 10), max);
        assert_eq!(backoff(base, max, u32::MAX), max);
    }
}
