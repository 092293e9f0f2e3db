//! The current user's sessions: list them (with the current one flagged), revoke one, or
//! revoke all but the current one.

use authservice_domain::EventType;
use serde_json::json;
use uuid::Uuid;

use super::{AuthConfig, AuthenticatedUser};
use crate::context::RequestCtx;
use crate::error::{ErrorKind, UseCaseError};
use crate::ports::{Ports, SessionInfo};

#[derive(Debug, thiserror::Error)]
pub enum SessionsError {
    #[error("session not found")]
    NotFound,
    #[error("this change needs a recent sign-in: re-authenticate first")]
    ReauthenticationRequired,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for SessionsError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound => ErrorKind::SessionNotFound,
            Self::ReauthenticationRequired => ErrorKind::ReauthenticationRequired,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}

/// A session as listed to its user.
#[derive(Debug, Clone)]
pub struct ListedSession {
    pub info: SessionInfo,
    pub current: bool,
}

pub struct ManageSessions {
    ports: Ports,
    config: AuthConfig,
}

impl ManageSessions {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
        }
    }

    pub async fn list(
        &self,
        caller: &AuthenticatedUser,
    ) -> Result<Vec<ListedSession>, SessionsError> {
        let user = &caller.user;
        let sessions = self
            .ports
            .sessions
            .list_live(user.client_id, user.id, self.ports.clock.now())
            .await?;
        Ok(sessions
            .into_iter()
            .map(|info| ListedSession {
                current: info.id.to_string() == caller.claims.sid,
                info,
            })
            .collect())
    }

    /// Revokes one session by id (`session_id` / `sid`).
    pub async fn revoke(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
        session_id: &str,
    ) -> Result<(), SessionsError> {
        let user = &caller.user;
        let id = Uuid::parse_str(session_id.trim()).map_err(|_| SessionsError::NotFound)?;
        let now = self.ports.clock.now();
        if !self
            .ports
            .sessions
            .revoke_family(user.client_id, user.id, id, "revoked_by_user", now)
            .await?
        {
            return Err(SessionsError::NotFound);
        }
        crate::tokens::note_session_end(
            &self.ports,
            self.config.access_ttl,
            user.client_id,
            user.id,
        )
        .await?;
        self.audit(ctx, caller, json!({ "session_id": id.to_string() }))
            .await;
        Ok(())
    }

    /// Revokes every session but the caller's. Returns how many.
    pub async fn revoke_others(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
    ) -> Result<usize, SessionsError> {
        let user = &caller.user;
        if !super::recently_authenticated(&self.config, &caller.claims, self.ports.clock.now()) {
            return Err(SessionsError::ReauthenticationRequired);
        }
        let keep = Uuid::parse_str(&caller.claims.sid).ok();
        let count = self
            .ports
            .sessions
            .revoke_all(
                user.client_id,
                user.id,
                keep,
                "revoked_by_user",
                self.ports.clock.now(),
            )
            .await?;
        if count > 0 {
            crate::tokens::note_session_end(
                &self.ports,
                self.config.access_ttl,
                user.client_id,
                user.id,
            )
            .await?;
        }
        self.audit(ctx, caller, json!({ "scope": "all_other", "count": count }))
            .await;
        Ok(count)
    }

    async fn audit(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
        metadata: serde_json::Value,
    ) {
        let user = &caller.user;
        let mut event = ctx
            .audit(EventType::SessionRevoked)
            .client(user.client_id)
            .target("user", user.id)
            .metadata(metadata)
            .at(self.ports.clock.now());
        event.user_id = Some(user.id.as_uuid());
        crate::audit::record_quietly(&self.ports, &event).await;
    }
}
