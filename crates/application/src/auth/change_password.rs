//! Change the current user's password: the current password must match, the new one must meet
//! the policy; every other session of the user is revoked (the current one stays).

use authservice_domain::EventType;
use std::time::Duration;

use authservice_domain::PasswordRule;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use uuid::Uuid;

use super::{AuthConfig, AuthenticatedUser};
use crate::context::RequestCtx;
use crate::error::{ErrorKind, UseCaseError};
use crate::limits::{Limit, subject};
use crate::ports::{HashError, Ports, Write};

#[derive(Debug)]
pub struct ChangePasswordInput {
    pub current_password: SecretString,
    pub new_password: SecretString,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    #[error("current password is incorrect")]
    WrongPassword,
    #[error("too many wrong current passwords; try again later")]
    RateLimited { retry_after: Duration },
    #[error("password does not meet the policy")]
    PasswordPolicy(Vec<PasswordRule>),
    #[error("server is busy")]
    Busy,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for ChangePasswordError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::WrongPassword => ErrorKind::InvalidCurrentPassword,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::PasswordPolicy(_) => ErrorKind::PasswordPolicy,
            Self::Busy => ErrorKind::ServerBusy,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Busy => Some(Duration::from_secs(1)),
            Self::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            Self::PasswordPolicy(rules) => Some(super::rules_json(rules)),
            _ => None,
        }
    }
}

impl From<HashError> for ChangePasswordError {
    fn from(err: HashError) -> Self {
        match err {
            HashError::Busy => Self::Busy,
            HashError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

pub struct ChangePassword {
    ports: Ports,
    config: AuthConfig,
    mail: crate::email::MailConfig,
}

impl ChangePassword {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig, mail: &crate::email::MailConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
            mail: mail.clone(),
        }
    }

    #[tracing::instrument(name = "change_password", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        caller: AuthenticatedUser,
        input: ChangePasswordInput,
    ) -> Result<(), ChangePasswordError> {
        let user = caller.user;
        // A stolen access token must not become an unlimited password oracle: 5 wrong current
        // passwords per user per 15 minutes (the slot is reserved first, released on success).
        let slot = self
            .ports
            .limits
            .take(
                Limit::ChangePassword,
                &subject::user(user.client_id, user.id),
            )
            .await?
            .map_err(|retry_after| ChangePasswordError::RateLimited { retry_after })?;
        if !super::password_matches(&self.ports, &user, &input.current_password).await? {
            let mut event = ctx
                .audit(EventType::PasswordChangeFailed)
                .client(user.client_id)
                .target("user", user.id)
                .metadata(json!({ "reason": "wrong_password" }))
                .at(self.ports.clock.now());
            event.user_id = Some(user.id.as_uuid());
            crate::audit::record_quietly(&self.ports, &event).await;
            return Err(ChangePasswordError::WrongPassword);
        }
        self.ports.limits.give_back(slot).await?;
        let broken = self.config.password_policy.check(
            input.new_password.expose_secret(),
            Some(&user.email),
            user.display_name.as_deref(),
        );
        if !broken.is_empty() {
            return Err(ChangePasswordError::PasswordPolicy(broken));
        }
        let hash = self
            .ports
            .passwords
            .hash(input.new_password.expose_secret())
            .await?;
        let now = self.ports.clock.now();
        let keep = Uuid::parse_str(&caller.claims.sid).ok();
        let mut event = ctx
            .audit(EventType::PasswordChanged)
            .client(user.client_id)
            .target("user", user.id)
            .metadata(json!({ "other_sessions_revoked": true }))
            .at(now);
        event.user_id = Some(user.id.as_uuid());
        let client = super::require_client(ctx)?;
        let notice = crate::email::prepare_notice(
            &self.ports,
            &self.mail,
            client,
            &user,
            authservice_domain::Notice::PasswordChanged,
        )
        .await?;
        // The new hash, the end of the other sessions, the record and the owner's notice:
        // together or not at all.
        let writes = vec![
            Write::SetPasswordHash {
                client: user.client_id,
                user: user.id,
                hash,
                at: now,
            },
            Write::RevokeUserSessions {
                client: user.client_id,
                user: user.id,
                keep,
                reason: "password_changed",
                at: now,
            },
            Write::Audit(event),
            Write::QueueEmail(notice),
        ];
        if !self.ports.uow.commit(writes).await?.is_all() {
            return Err(anyhow::anyhow!("the user no longer exists").into());
        }
        self.ports.outbox_signal.wake();
        crate::tokens::note_session_end(
            &self.ports,
            self.config.access_ttl,
            user.client_id,
            user.id,
        )
        .await?;
        Ok(())
    }
}
