//! Authenticate an operator by the break-glass `ADMIN_API_KEY`.
//!
//! The key is compared in constant time. Failed attempts are counted per client IP in a
//! sliding window: after 10 failures within a minute, every attempt from that IP gets 429
//! until the window slides. Every failure is audited.

use std::net::IpAddr;
use std::time::Duration;

use authservice_domain::secret::secrets_equal;
use authservice_domain::{AdminPrincipal, AuditEvent};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::context::RequestCtx;
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
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        presented: Option<&str>,
    ) -> Result<AdminPrincipal, AuthenticateAdminError> {
        let bucket = failure_bucket(ctx.ip);
        let limiter = &self.ports.rate_limiter;
        if let RateDecision::Limited { retry_after } = limiter
            .peek(&bucket, ADMIN_FAILURE_RULE)
            .await
            .map_err(AuthenticateAdminError::Unavailable)?
        {
            self.audit_failure(ctx, "admin.auth_rate_limited", "rate_limited")
                .await;
            return Err(AuthenticateAdminError::RateLimited { retry_after });
        }
        let presented = presented.map(str::trim).filter(|k| !k.is_empty());
        if let Some(key) = presented
            && secrets_equal(
                key.as_bytes(),
                self.admin_api_key.expose_secret().as_bytes(),
            )
        {
            return Ok(AdminPrincipal::break_glass());
        }
        limiter
            .hit(&bucket, ADMIN_FAILURE_RULE)
            .await
            .map_err(AuthenticateAdminError::Unavailable)?;
        let (reason, err) = match presented {
            None => ("missing", AuthenticateAdminError::Missing),
            Some(_) => ("invalid", AuthenticateAdminError::Invalid),
        };
        self.audit_failure(ctx, "admin.auth_failed", reason).await;
        Err(err)
    }

    async fn audit_failure(&self, ctx: &RequestCtx, event_type: &str, reason: &str) {
        let event: AuditEvent = ctx
            .audit(event_type)
            .metadata(json!({ "reason": reason }))
            .at(self.ports.clock.now());
        if let Err(err) = self.ports.audit.record(&event).await {
            tracing::error!(error = %err, event_type, "could not write audit event");
        }
    }
}

fn failure_bucket(ip: Option<IpAddr>) -> String {
    match ip {
        Some(ip) => format!("admin_auth_fail:{ip}"),
        None => "admin_auth_fail:unknown".to_owned(),
    }
}
