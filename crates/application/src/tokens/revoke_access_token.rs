//! Revoke one access token by `jti` until its expiry: it goes on a deny-list in Redis (or the
//! in-process store) that validation and the account routes consult.

use authservice_domain::EventType;
use std::time::Duration;

use authservice_domain::{Permission, ValidationError};
use serde_json::json;

use super::{REVOCATION_LEEWAY, deny_list};
use crate::context::{Forbidden, RequestCtx};
use crate::error::{ErrorKind, UseCaseError};
use crate::ports::Ports;

/// Longer-lived entries are refused: no access token lives this long.
const MAX_TTL: Duration = Duration::from_secs(31 * 86_400);

#[derive(Debug, thiserror::Error)]
pub enum RevokeAccessTokenError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for RevokeAccessTokenError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::Invalid(_) => ErrorKind::InvalidRequest,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}

pub struct RevokeAccessToken {
    ports: Ports,
}

impl RevokeAccessToken {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    /// `exp` is the token's expiry (unix seconds). Returns whether an entry was written (an
    /// already expired token needs none).
    #[tracing::instrument(name = "revoke_access_token", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        jti: &str,
        exp: i64,
    ) -> Result<bool, RevokeAccessTokenError> {
        // A jti names no tenant: only an operator of every client revokes by jti.
        if ctx.require(Permission::TokensRevoke)?.scope != authservice_domain::AdminScope::All {
            return Err(crate::context::Forbidden("tokens:revoke with scope all").into());
        }
        let jti = jti.trim();
        if jti.is_empty() || jti.len() > 128 || jti.chars().any(char::is_control) {
            return Err(ValidationError::new("jti", "must be 1 to 128 characters").into());
        }
        let now = self.ports.clock.now();
        let remaining = exp - now.timestamp();
        let written = if remaining > 0 {
            let remaining = u64::try_from(remaining).unwrap_or(0);
            let ttl = Duration::from_secs(remaining) + REVOCATION_LEEWAY;
            if ttl > MAX_TTL {
                return Err(ValidationError::new(
                    "exp",
                    "is too far in the future for an access token",
                )
                .into());
            }
            deny_list(self.ports.ephemeral.as_ref(), jti, remaining).await?;
            true
        } else {
            false
        };
        let event = ctx
            .audit(EventType::TokenRevoked)
            .target("access_token", jti)
            .metadata(json!({ "exp": exp, "deny_listed": written }))
            .at(now);
        self.ports.audit.record(&event).await?;
        Ok(written)
    }
}
