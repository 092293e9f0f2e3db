//! An operator reads one end user of a client, or disables / re-enables them. Disabling ends
//! every session of the user at once: refresh tokens stop, the account routes refuse the
//! user's access tokens, and `ValidateToken` answers `user_disabled` within a second.

use authservice_domain::EventType;
use authservice_domain::{ClientId, Permission, User, UserId, UserStatus, ValidationError};
use serde_json::json;

use crate::audit::record_quietly;
use crate::auth::AuthConfig;
use crate::context::{Forbidden, RequestCtx};
use crate::error::{ErrorKind, UseCaseError};
use crate::ports::{Committed, Ports, Write, Written};

#[derive(Debug, thiserror::Error)]
pub enum ManageUserError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("user not found")]
    NotFound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for ManageUserError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::Invalid(_) => ErrorKind::InvalidRequest,
            Self::NotFound => ErrorKind::UserNotFound,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}

pub struct ManageUser {
    ports: Ports,
    config: AuthConfig,
}

impl ManageUser {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
        }
    }

    fn ids(
        ctx: &RequestCtx,
        permission: Permission,
        client: &str,
        user: &str,
    ) -> Result<(ClientId, UserId), ManageUserError> {
        ctx.require(permission)?;
        let client = ClientId::parse(client)?;
        ctx.require_for_client(permission, client)?;
        // Any malformed id is simply not one of this client's users.
        let user = UserId::parse(user).map_err(|_| ManageUserError::NotFound)?;
        Ok((client, user))
    }

    /// `client` and `user` are the raw path values.
    pub async fn get(
        &self,
        ctx: &RequestCtx,
        client: &str,
        user: &str,
    ) -> Result<User, ManageUserError> {
        let (client, user) = Self::ids(ctx, Permission::UsersRead, client, user)?;
        let found = self
            .ports
            .users
            .get(client, user)
            .await?
            .ok_or(ManageUserError::NotFound)?
            .user;
        let event = ctx
            .audit(EventType::UserRead)
            .client(client)
            .target("user", user)
            .at(self.ports.clock.now());
        record_quietly(&self.ports, &event).await;
        Ok(found)
    }

    /// Sets `status` (`active` | `disabled`); audited `user_disabled` / `user_enabled`.
    pub async fn set_status(
        &self,
        ctx: &RequestCtx,
        client: &str,
        user: &str,
        status: &str,
    ) -> Result<User, ManageUserError> {
        let (client, user) = Self::ids(ctx, Permission::UsersUpdate, client, user)?;
        let status = UserStatus::parse(status.trim())?;
        let now = self.ports.clock.now();
        let action = match status {
            UserStatus::Active => EventType::UserEnabled,
            UserStatus::Disabled => EventType::UserDisabled,
        };
        let mut event = ctx
            .audit(action)
            .client(client)
            .target("user", user)
            .metadata(json!({ "sessions_revoked": status == UserStatus::Disabled }))
            .at(now);
        event.user_id = Some(user.as_uuid());
        // Disabling ends every session of the user with the change.
        let mut writes = vec![Write::SetUserStatus {
            client,
            user,
            status,
            at: now,
        }];
        if status == UserStatus::Disabled {
            writes.push(Write::RevokeUserSessions {
                client,
                user,
                keep: None,
                reason: "user_disabled",
                at: now,
            });
        }
        writes.push(Write::Audit(event));
        let Committed::All(written) = self.ports.uow.commit(writes).await? else {
            return Err(ManageUserError::NotFound);
        };
        let Some(Written::User(updated)) = written.into_iter().next() else {
            return Err(anyhow::anyhow!("a status change answers the user").into());
        };
        if status == UserStatus::Disabled {
            crate::tokens::note_session_end(&self.ports, self.config.access_ttl, client, user)
                .await?;
        }
        Ok(updated)
    }
}
