//! Log in with email and password. An unknown email costs the same as a wrong password (a
//! dummy hash is verified) and both answer the same `invalid_credentials`. A hash weaker than
//! the configured cost is upgraded on success.

use std::time::Duration;

use authservice_domain::{Email, UserStatus};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::{AuthConfig, IssuedTokens, ip_key, require_client, start_session};
use crate::audit::record_quietly;
use crate::context::RequestCtx;
use crate::error::{ErrorKind, UseCaseError};
use crate::ports::{HashError, Ports, RateDecision};

#[derive(Debug)]
pub struct LoginInput {
    pub email: String,
    pub password: SecretString,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("email or password is incorrect")]
    InvalidCredentials,
    #[error("this account is disabled")]
    Disabled,
    #[error("email address is not verified")]
    EmailNotVerified,
    #[error("too many login attempts from this address")]
    RateLimited { retry_after: Duration },
    #[error("server is busy")]
    Busy,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for LoginError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidCredentials => ErrorKind::InvalidCredentials,
            Self::Disabled => ErrorKind::AccountDisabled,
            Self::EmailNotVerified => ErrorKind::EmailNotVerified,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::Busy => ErrorKind::ServerBusy,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => Some(*retry_after),
            Self::Busy => Some(Duration::from_secs(1)),
            _ => None,
        }
    }
}

impl From<HashError> for LoginError {
    fn from(err: HashError) -> Self {
        match err {
            HashError::Busy => Self::Busy,
            HashError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

pub struct Login {
    ports: Ports,
    config: AuthConfig,
}

impl Login {
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
        input: LoginInput,
    ) -> Result<IssuedTokens, LoginError> {
        let client = require_client(ctx)?;
        if let RateDecision::Limited { retry_after } = self
            .ports
            .rate_limiter
            .hit(&ip_key("login", ctx), self.config.login_rule)
            .await?
        {
            return Err(LoginError::RateLimited { retry_after });
        }
        let password = input.password.expose_secret();
        let found = match Email::parse(&input.email) {
            Ok(email) => self.ports.users.find_by_email(client.id, &email).await?,
            Err(_) => None,
        };
        let Some(found) = found else {
            self.ports.passwords.verify_dummy(password).await?;
            self.fail(ctx, "unknown_email", None).await;
            return Err(LoginError::InvalidCredentials);
        };
        let verified = match &found.password_hash {
            Some(hash) => self.ports.passwords.verify(password, hash).await?,
            None => {
                self.ports.passwords.verify_dummy(password).await?;
                false
            }
        };
        let user = found.user;
        if !verified {
            self.fail(ctx, "wrong_password", Some(user.id.as_uuid()))
                .await;
            return Err(LoginError::InvalidCredentials);
        }
        if user.status != UserStatus::Active {
            self.fail(ctx, "account_disabled", Some(user.id.as_uuid()))
                .await;
            return Err(LoginError::Disabled);
        }
        let require_verified = client
            .settings
            .as_map()
            .get("require_verified_email")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        if require_verified && !user.email_verified {
            self.fail(ctx, "email_not_verified", Some(user.id.as_uuid()))
                .await;
            return Err(LoginError::EmailNotVerified);
        }
        let upgraded = match &found.password_hash {
            Some(hash) if self.ports.passwords.needs_rehash(hash) => {
                Some(self.ports.passwords.hash(password).await?)
            }
            _ => None,
        };
        let now = self.ports.clock.now();
        self.ports
            .users
            .record_login(client.id, user.id, now, upgraded.as_deref())
            .await?;
        let mut user = user;
        user.last_login_at = Some(now);
        Ok(start_session(
            &self.ports,
            &self.config,
            ctx,
            client,
            user,
            ctx.audit("login_succeeded"),
        )
        .await?)
    }

    /// `login_failed` with a reason code (never the password).
    async fn fail(&self, ctx: &RequestCtx, reason: &str, user: Option<uuid::Uuid>) {
        let mut event = ctx
            .audit("login_failed")
            .metadata(json!({ "reason": reason }))
            .at(self.ports.clock.now());
        event.user_id = user;
        record_quietly(&self.ports, &event).await;
    }
}
