//! Log out: revoke the session the refresh token belongs to. Idempotent.

use authservice_domain::EventType;
use secrecy::{ExposeSecret, SecretString};

use super::{AuthConfig, require_client};
use crate::audit::record_quietly;
use crate::context::RequestCtx;
use crate::error::{ErrorKind, UseCaseError};
use crate::ports::Ports;

#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    #[error("refresh token belongs to another client")]
    ClientMismatch,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for LogoutError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::ClientMismatch => ErrorKind::TokenClientMismatch,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}

pub struct Logout {
    ports: Ports,
    config: AuthConfig,
}

impl Logout {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
        }
    }

    /// Returns whether a live session was revoked.
    #[tracing::instrument(name = "logout", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        refresh_token: Option<SecretString>,
    ) -> Result<bool, LogoutError> {
        let client = require_client(ctx)?;
        let Some(token) = refresh_token.filter(|t| !t.expose_secret().trim().is_empty()) else {
            return Ok(false);
        };
        let hash = authservice_domain::secret::sha256(token.expose_secret().trim().as_bytes());
        let now = self.ports.clock.now();
        let Some((user_id, family_id)) = self
            .ports
            .sessions
            .revoke_by_token(client.id, &hash, now)
            .await?
        else {
            return match self.ports.sessions.client_of_token(&hash).await? {
                Some(owner) if owner != client.id => Err(LogoutError::ClientMismatch),
                _ => Ok(false),
            };
        };
        let mut event = ctx
            .audit(EventType::Logout)
            .client(client.id)
            .target("session", family_id)
            .at(now);
        event.user_id = Some(user_id.as_uuid());
        record_quietly(&self.ports, &event).await;
        crate::tokens::note_session_end(&self.ports, self.config.access_ttl, client.id, user_id)
            .await?;
        Ok(true)
    }
}
