//! Rotate a refresh token: the presented token is consumed and a new one issued in the same
//! family, atomically. Presenting an already-consumed token revokes the family.

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use uuid::Uuid;

use super::{
    AuthConfig, IssuedTokens, SessionLimits, SessionStamp, new_refresh_token, require_client,
    sign_access_token,
};
use crate::audit::record_quietly;
use crate::context::RequestCtx;
use crate::error::{ErrorKind, UseCaseError};
use crate::ports::{NextSession, Ports, RotateOutcome};

#[derive(Debug)]
pub struct RefreshSessionInput {
    pub refresh_token: Option<SecretString>,
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshSessionError {
    #[error("refresh token is missing, expired or revoked")]
    Invalid,
    #[error("refresh token was already used; the session has been revoked")]
    Reused,
    #[error("refresh token belongs to another client")]
    ClientMismatch,
    #[error("email address is not verified")]
    EmailNotVerified,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for RefreshSessionError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid => ErrorKind::InvalidRefreshToken,
            Self::Reused => ErrorKind::RefreshTokenReused,
            Self::ClientMismatch => ErrorKind::TokenClientMismatch,
            Self::EmailNotVerified => ErrorKind::EmailNotVerified,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}

pub struct RefreshSession {
    ports: Ports,
    config: AuthConfig,
}

impl RefreshSession {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
        }
    }

    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        input: RefreshSessionInput,
    ) -> Result<IssuedTokens, RefreshSessionError> {
        let client = require_client(ctx)?;
        let presented = input
            .refresh_token
            .as_ref()
            .map(|t| t.expose_secret().trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or(RefreshSessionError::Invalid)?;
        let presented_hash = authservice_domain::secret::sha256(presented.as_bytes());
        let now = self.ports.clock.now();
        let (refresh_token, refresh_hash) = new_refresh_token(&self.ports);
        let limits = SessionLimits::of(&self.config, client)?;
        let next = NextSession {
            id: Uuid::now_v7(),
            refresh_token_hash: refresh_hash,
            user_agent: ctx.user_agent.clone(),
            ip: ctx.ip.map(|ip| ip.to_string()),
            created_at: now,
            idle_timeout: limits.idle,
            max_lifetime: limits.max_lifetime,
            // A client that requires verified addresses gives unverified users no session —
            // also not one started before the setting was turned on.
            require_verified_email: client.policy().require_verified_email,
        };
        let (user, family_id, started_at, expires_at, auth_time) = match self
            .ports
            .sessions
            .rotate(
                client.id,
                &presented_hash,
                &next,
                &ctx.audit("token_refreshed").client(client.id).at(now),
            )
            .await?
        {
            RotateOutcome::EmailNotVerified => return Err(RefreshSessionError::EmailNotVerified),
            RotateOutcome::Rotated {
                user,
                family_id,
                started_at,
                expires_at,
                auth_time,
            } => (*user, family_id, started_at, expires_at, auth_time),
            RotateOutcome::Reused { user_id, family_id } => {
                let mut event = ctx
                    .audit("token_refresh_reuse")
                    .client(client.id)
                    .target("session", family_id)
                    .metadata(json!({ "action": "family_revoked" }))
                    .at(now);
                event.user_id = Some(user_id.as_uuid());
                record_quietly(&self.ports, &event).await;
                crate::tokens::note_session_end(
                    &self.ports,
                    self.config.access_ttl,
                    client.id,
                    user_id,
                )
                .await?;
                return Err(RefreshSessionError::Reused);
            }
            RotateOutcome::Invalid => {
                let owner = self.ports.sessions.client_of_token(&presented_hash).await?;
                return Err(match owner {
                    Some(owner) if owner != client.id => RefreshSessionError::ClientMismatch,
                    _ => RefreshSessionError::Invalid,
                });
            }
        };
        let access_token = sign_access_token(
            &self.ports,
            &self.config,
            client,
            &user,
            SessionStamp {
                family_id,
                ends_at: started_at + limits.max_lifetime,
                auth_time,
            },
            now,
        )
        .await?;
        Ok(IssuedTokens {
            access_token,
            expires_in: self.config.access_ttl.as_secs(),
            refresh_token,
            refresh_expires_in: u64::try_from((expires_at - now).num_seconds()).unwrap_or(0),
            user,
            session_id: family_id,
        })
    }
}
