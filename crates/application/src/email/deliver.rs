//! The outbox worker: claims due messages (a lease, `FOR UPDATE SKIP LOCKED`, so replicas never
//! send the same message concurrently), delivers each through the client's own SMTP server or
//! the server's, and records the attempt. Temporary failures are retried with exponential
//! backoff; permanent ones, and messages out of attempts, are given up and audited.

use std::time::Duration;

use authservice_domain::{ActorType, AuditEvent};
use secrecy::SecretString;
use serde_json::json;
use uuid::Uuid;

use super::MailConfig;
use crate::ports::{ClaimedEmail, OutboundEmail, Ports, SendError, SmtpRoute};

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub claimed: usize,
    pub sent: usize,
    pub retrying: usize,
    pub given_up: usize,
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

    /// How long the worker may sleep when nothing is due (it is also woken on enqueue).
    #[must_use]
    pub fn lease(&self) -> Duration {
        self.config.lease
    }

    /// One round: claims up to a batch of due messages and tries each once.
    pub async fn run_once(&self) -> anyhow::Result<DeliveryReport> {
        let now = self.ports.clock.now();
        let claimed = self
            .ports
            .outbox
            .claim_due(now, self.config.lease, self.config.batch)
            .await?;
        let mut report = DeliveryReport {
            claimed: claimed.len(),
            ..DeliveryReport::default()
        };
        for message in claimed {
            match self.deliver(&message).await {
                Ok(()) => {
                    let event = self.event("email_delivered", &message, None);
                    self.ports
                        .outbox
                        .mark_sent(message.id, self.ports.clock.now(), &event)
                        .await?;
                    report.sent += 1;
                }
                Err(err) => {
                    let now = self.ports.clock.now();
                    let (text, permanent) = match &err {
                        SendError::Transient(t) => (t.as_str(), false),
                        SendError::Permanent(t) => (t.as_str(), true),
                    };
                    let text: String = text.chars().take(500).collect();
                    if permanent || message.attempts >= self.config.max_attempts {
                        tracing::warn!(email_id = %message.id, attempts = message.attempts, error = %text, "email given up");
                        let event = self.event("email_delivery_failed", &message, Some(&text));
                        self.ports
                            .outbox
                            .mark_failed(message.id, &text, now, None, Some(&event))
                            .await?;
                        report.given_up += 1;
                    } else {
                        let delay = backoff(
                            self.config.retry_base,
                            self.config.retry_max,
                            message.attempts,
                        );
                        tracing::info!(email_id = %message.id, attempts = message.attempts, retry_in_ms = delay.as_millis() as u64, error = %text, "email delivery failed; will retry");
                        let retry_at = now + chrono::Duration::from_std(delay)?;
                        self.ports
                            .outbox
                            .mark_failed(message.id, &text, now, Some(retry_at), None)
                            .await?;
                        report.retrying += 1;
                    }
                }
            }
        }
        Ok(report)
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

    fn event(&self, event_type: &str, message: &ClaimedEmail, error: Option<&str>) -> AuditEvent {
        AuditEvent {
            id: Uuid::now_v7(),
            occurred_at: self.ports.clock.now(),
            client_id: Some(message.client_id),
            user_id: message.user_id.map(|u| u.as_uuid()),
            event_type: event_type.to_owned(),
            actor_type: ActorType::System,
            actor_id: Some("email_worker".to_owned()),
            target_type: Some("email".to_owned()),
            target_id: Some(message.id.to_string()),
            request_id: None,
            ip: None,
            user_agent: None,
            metadata: json!({
                "kind": message.kind,
                "attempts": message.attempts,
                "error": error,
            }),
            before: None,
            after: None,
        }
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
