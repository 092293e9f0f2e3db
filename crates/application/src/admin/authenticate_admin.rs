//! Authenticate an operator by the break-glass `ADMIN_API_KEY`.
//!
//! The key is compared in constant time. Failed attempts are counted per client IP in a
//! sliding window: after 10 failures within a minute, every attempt from that IP gets 429
//! until the window slides. Every failure is audited.

use std::net::IpAddr;
use std::time::Duration;

use authservice_domain::AdminPrincipal;
use authservice_domain::secret::secrets_equal;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::audit::record_quietly;
use crate::context::{RequestCtx, ip_bucket};
use crate::error::{ErrorKind, UseCaseError};
use crate::ports::{Ports, RateDecision, RateRule};

/// 10 failed attempts per minute per client IP.
pub const ADMIN_FAILURE_RULE: RateRule = RateRule {
    limit: 10,
    window: Duration::from_secs(60),
};

#[derive(Debug, thiserror::Error)]
pub enum AuthenticateAdminError {
    #[error("admin credentials are required")]
    Missing,
    #[error("admin credentials are not valid")]
    Invalid,
    #[error("too many failed admin attempts")]
    RateLimited { retry_after: Duration },
    #[error("rate limiter unavailable")]
    Unavailable(#[source] anyhow::Error),
}

impl UseCaseError for AuthenticateAdminError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Missing | Self::Invalid => ErrorKind::AdminUnauthorized,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::Unavailable(_) => ErrorKind::ServiceUnavailable,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => Some(*retry_after),
            Self::Unavailable(_) => Some(Duration::from_secs(5)),
            _ => None,
        }
    }
}

pub struct AuthenticateAdmin {
    ports: Ports,
    admin_api_key: SecretString,
}

impl AuthenticateAdmin {
    #[must_use]
    pub fn new(ports: &Ports, admin_api_key: SecretString) -> Self {
        Self {
            ports: ports.clone(),
            admin_api_key,
        }
    }

    /// `ctx` carries the request id, IP and user agent (its principal is ignored).
    ///
    /// Every attempt first reserves a slot in the IP's failure window (atomically, so parallel
    /// guesses cannot overrun it); a correct key gives its slot back, so only failures count.
    /// Fails closed when the limiter is unreachable.
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        presented: Option<&str>,
    ) -> Result<AdminPrincipal, AuthenticateAdminError> {
        let bucket = failure_bucket(ctx.ip);
        let limiter = &self.ports.rate_limiter;
        let ticket = match limiter.hit(&bucket, ADMIN_FAILURE_RULE).await {
            Ok(RateDecision::Allowed { ticket, .. }) => ticket,
            Ok(RateDecision::Limited { retry_after }) => {
                self.audit_rate_limited_once(ctx, &bucket).await;
                return Err(AuthenticateAdminError::RateLimited { retry_after });
            }
            Err(err) => {
                self.audit_failure(ctx, "admin.auth_failed", "rate_limiter_unavailable")
                    .await;
                return Err(AuthenticateAdminError::Unavailable(err));
            }
        };
        let presented = presented.map(str::trim).filter(|k| !k.is_empty());
        if let Some(key) = presented
            && secrets_equal(
                key.as_bytes(),
                self.admin_api_key.expose_secret().as_bytes(),
            )
        {
            if let Err(err) = limiter.release(&bucket, &ticket).await {
                tracing::warn!(error = %err, "could not release an admin rate-limit slot");
            }
            return Ok(AdminPrincipal::break_glass());
        }
        let (reason, err) = match presented {
            None => ("missing", AuthenticateAdminError::Missing),
            Some(_) => ("invalid", AuthenticateAdminError::Invalid),
        };
        self.audit_failure(ctx, "admin.auth_failed", reason).await;
        Err(err)
    }

    /// One `admin.auth_rate_limited` event per IP and window, so a flood of refused attempts
    /// cannot turn into a flood of audit rows.
    async fn audit_rate_limited_once(&self, ctx: &RequestCtx, bucket: &str) {
        let once = RateRule {
            limit: 1,
            window: ADMIN_FAILURE_RULE.window,
        };
        if let Ok(RateDecision::Allowed { .. }) = self
            .ports
            .rate_limiter
            .hit(&format!("{bucket}:audited"), once)
            .await
        {
            self.audit_failure(ctx, "admin.auth_rate_limited", "rate_limited")
                .await;
        }
    }

    async fn audit_failure(&self, ctx: &RequestCtx, event_type: &str, reason: &str) {
        let event = ctx
            .audit(event_type)
            .metadata(json!({ "reason": reason }))
            .at(self.ports.clock.now());
        record_quietly(&self.ports, &event).await;
    }
}

fn failure_bucket(ip: Option<IpAddr>) -> String {
    format!("admin_auth_fail:{}", ip_bucket(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_is_bucketed_by_64() {
        let a = failure_bucket(Some("2001:db8:1:2::1".parse().unwrap()));
        let b = failure_bucket(Some("2001:db8:1:2:ffff::9".parse().unwrap()));
        let c = failure_bucket(Some("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            failure_bucket(Some("10.0.0.1".parse().unwrap())),
            "admin_auth_fail:10.0.0.1"
        );
    }
}
