//! Webhook endpoints of a client: where audit events are delivered, signed per the Standard
//! Webhooks specification (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`
//! over `{id}.{timestamp}.{body}` with the endpoint's `whsec_` secret).

use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{ClientId, EventType, ValidationError};

/// Subscribes to every event type.
pub const ALL_EVENTS: &str = "*";

/// Deliveries are retried for this long after they were queued, then given up.
pub const RETRY_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// No wait between two attempts is longer than this.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(6 * 3600);

/// At most this many event types per endpoint.
const MAX_EVENT_TYPES: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: Uuid,
    pub client_id: ClientId,
    pub url: String,
    /// Audit event type names, or [`ALL_EVENTS`].
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// When the previous secret stops signing (it signs next to the new one until then).
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Since when every delivery has failed (none since the last success).
    pub failing_since: Option<DateTime<Utc>>,
    /// Why the service disabled the endpoint (`failing`), if it did.
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WebhookEndpoint {
    /// Whether an event of this type goes to this endpoint.
    #[must_use]
    pub fn wants(&self, event_type: &str) -> bool {
        self.enabled
            && self
                .event_types
                .iter()
                .any(|t| t == ALL_EVENTS || t == event_type)
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Failed,
}

impl DeliveryStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// An endpoint URL: absolute `https` (or `http` with `allow_private`), no credentials, and —
/// unless `allow_private` — a public host (names that resolve to internal addresses are
/// refused when connecting). The rule of every outbound URL (`sso::check_idp_url`).
///
/// # Errors
/// A `url` validation error saying why.
pub fn parse_url(raw: &str, allow_private: bool) -> Result<String, ValidationError> {
    crate::sso::check_idp_url(raw, allow_private).map(|u| u.to_string())
}

/// Event type names to subscribe to: audit event types or `*`, at least one.
///
/// # Errors
/// An `event_types` validation error naming the unknown type.
pub fn parse_event_types(names: &[String]) -> Result<Vec<String>, ValidationError> {
    let invalid = |m: String| ValidationError::new("event_types", m);
    if names.is_empty() || names.len() > MAX_EVENT_TYPES {
        return Err(invalid(format!(
            "must list 1 to {MAX_EVENT_TYPES} event types (or \"*\")"
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        // Events are written with current names: a legacy one subscribes to its successor.
        let name = crate::audit::current_name(name.trim());
        let known = name == ALL_EVENTS || EventType::ALL.iter().any(|e| e.as_str() == name);
        if !known {
            return Err(invalid(format!(
                "{name:?} is not an event type (GET /api/admin/event-types)"
            )));
        }
        if !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
    }
    Ok(out)
}

/// A new signing secret from 32 random bytes: `whsec_` + base64.
#[must_use]
pub fn new_secret(random: &[u8; 32]) -> String {
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(random)
    )
}

/// The HMAC key of a `whsec_` secret.
#[must_use]
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_")?)
        .ok()
}

/// The wait before attempt `attempts + 1`: `base`, doubling with each attempt made, at most
/// six hours.
#[must_use]
pub fn retry_delay(base: Duration, attempts: u32) -> Duration {
    let factor = 1u32 << attempts.saturating_sub(1).min(20);
    base.saturating_mul(factor).min(MAX_RETRY_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_https_and_not_internal_unless_allowed() {
        assert!(parse_url("https://hooks.example.com/in", false).is_ok());
        for bad in [
            "http://hooks.example.com/in",
            "https://127.0.0.1/x",
            "https://localhost:8443/x",
            "https://10.1.2.3/",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/",
            "https://[::ffff:192.168.0.1]/",
            "https://100.64.0.1/",
            "https://user:pw@hooks.example.com/",
            "ftp://hooks.example.com/",
            "not a url",
        ] {
            assert!(parse_url(bad, false).is_err(), "{bad}");
        }
        assert!(parse_url("http://127.0.0.1:9000/hook", true).is_ok());
    }

    #[test]
    fn event_types_are_known_names_or_all() {
        let ok = parse_event_types(&["user.signed_up".into(), "*".into(), "user.signed_up".into()]);
        assert_eq!(ok.unwrap(), ["user.signed_up", "*"]);
        assert!(parse_event_types(&[]).is_err());
        assert!(parse_event_types(&["user.nope".into()]).is_err());
    }

    #[test]
    fn retries_double_up_to_six_hours_and_secrets_round_trip() {
        let base = Duration::from_secs(30);
        assert_eq!(retry_delay(base, 1), base);
        assert_eq!(retry_delay(base, 3), base * 4);
        assert_eq!(retry_delay(base, 40), MAX_RETRY_DELAY);
        let secret = new_secret(&[9; 32]);
        assert!(secret.starts_with("whsec_"));
        assert_eq!(secret_key(&secret).unwrap(), vec![9; 32]);
        assert!(secret_key("nope").is_none());
    }
}
