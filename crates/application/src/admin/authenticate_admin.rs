//! Authenticate an operator: the break-glass `ADMIN_API_KEY` (`X-Admin-Key`), or an admin
//! user's bearer access token (`Authorization: Bearer adm_at_…`).
//!
//! The key is compared in constant time; a bearer token is looked up by its digest. Failed attempts are counted per client IP in a
//! sliding window: after 10 failures within a minute, every attempt from that IP gets 429
//! until the window slides. Every failure is audited.

use authservice_domain::EventType;
use std::time::Duration;

use authservice_domain::AdminPrincipal;
use authservice_domain::secret::secrets_equal;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::audit::record_quietly;
use crate::context::RequestCtx;
use crate::error::{ErrorKind, UseCaseError};
use crate::limits::{Limit, subject};
use crate::ports::Ports;

use super::{AdminAuthConfig, AdminPorts, AdminSignIn};

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
    sessions: AdminSignIn,
}

/// What an admin request carried.
#[derive(Debug, Clone, Copy, Default)]
pub struct AdminCredentialsPresented<'a> {
    /// `X-Admin-Key` (`x-admin-api-key` over gRPC).
    pub key: Option<&'a str>,
    /// The bearer token of `Authorization`.
    pub bearer: Option<&'a str>,
}

impl AuthenticateAdmin {
    #[must_use]
    pub fn new(ports: &Ports, admin_api_key: SecretString, config: AdminAuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            admin_api_key,
            sessions: AdminSignIn::new(AdminPorts::of(ports), config, None),
        }
    }

    /// `ctx` carries the request id, IP and user agent (its principal is ignored).
    ///
    /// Every attempt first reserves a slot in the IP's failure window (atomically, so parallel
    /// guesses cannot overrun it); a correct key gives its slot back, so only failures count.
    /// Fails closed when the limiter is unreachable.
    #[tracing::instrument(name = "authenticate_admin", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        presented: AdminCredentialsPresented<'_>,
    ) -> Result<AdminPrincipal, AuthenticateAdminError> {
        let ip = subject::ip(ctx);
        let limits = &self.ports.limits;
        let slot = match limits.take(Limit::AdminFailure, &ip).await {
            Ok(Ok(slot)) => slot,
            Ok(Err(retry_after)) => {
                self.audit_rate_limited_once(ctx, &ip).await;
                return Err(AuthenticateAdminError::RateLimited { retry_after });
            }
            Err(err) => {
                self.audit_failure(ctx, EventType::AdminAuthFailed, "rate_limiter_unavailable")
                    .await;
                return Err(AuthenticateAdminError::Unavailable(err));
            }
        };
        let key = presented.key.map(str::trim).filter(|k| !k.is_empty());
        let bearer = presented.bearer.map(str::trim).filter(|k| !k.is_empty());
        let principal = match (key, bearer) {
            (Some(key), _) => secrets_equal(
                key.as_bytes(),
                self.admin_api_key.expose_secret().as_bytes(),
            )
            .then(AdminPrincipal::break_glass),
            (None, Some(token)) => self
                .sessions
                .principal(token)
                .await
                .map_err(AuthenticateAdminError::Unavailable)?,
            (None, None) => None,
        };
        if let Some(principal) = principal {
            if let Err(err) = limits.give_back(slot).await {
                tracing::warn!(error = %err, "could not release an admin rate-limit slot");
            }
            return Ok(principal);
        }
        let (reason, err) = match (key, bearer) {
            (None, None) => ("missing", AuthenticateAdminError::Missing),
            (Some(_), _) => ("invalid", AuthenticateAdminError::Invalid),
            (None, Some(_)) => ("invalid_bearer", AuthenticateAdminError::Invalid),
        };
        self.audit_failure(ctx, EventType::AdminAuthFailed, reason)
            .await;
        Err(err)
    }

    /// One `admin.auth_rate_limited` event per IP and window, so a flood of refused attempts
    /// cannot turn into a flood of audit rows.
    async fn audit_rate_limited_once(&self, ctx: &RequestCtx, ip: &str) {
        let once = self.ports.limits.take(Limit::AdminFailureAudit, ip).await;
        if let Ok(Ok(_)) = once {
            self.audit_failure(ctx, EventType::AdminAuthRateLimited, "rate_limited")
                .await;
        }
    }

    async fn audit_failure(&self, ctx: &RequestCtx, event_type: EventType, reason: &str) {
        let event = ctx
            .audit(event_type)
            .metadata(json!({ "reason": reason }))
            .at(self.ports.clock.now());
        record_quietly(&self.ports, &event).await;
    }
}
