//! Log in with email and password. An unknown email costs the same as a wrong password (a
//! dummy hash is verified) and both answer the same `invalid_credentials`. A hash weaker than
//! the configured cost is upgraded on success.

use std::time::Duration;

use authservice_domain::{ClientId, Email, UserStatus};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::{AuthConfig, IssuedTokens, Lockout, ip_key, require_client, start_session};
use crate::audit::record_quietly;
use crate::context::RequestCtx;
use crate::error::{ErrorKind, UseCaseError};
use crate::ports::{HashError, Ports, RateDecision, RateRule};

/// A lock is one entry in a window of the lock's length.
fn lock_rule(lockout: Lockout) -> RateRule {
    RateRule {
        limit: 1,
        window: lockout.lock_for,
    }
}

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
    #[error("too many failed logins for this account; try again later")]
    Locked { retry_after: Duration },
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
            Self::Locked { .. } => ErrorKind::AccountLocked,
            Self::Busy => ErrorKind::ServerBusy,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } | Self::Locked { retry_after } => Some(*retry_after),
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
        let lock_keys = self.lock_keys(client.id, &input.email);
        if let (Some(lockout), Some((_, lock_key))) = (self.config.lockout, &lock_keys)
            && let RateDecision::Limited { retry_after } = self
                .ports
                .rate_limiter
                .peek(lock_key, lock_rule(lockout))
                .await?
        {
            self.fail(ctx, "account_locked", None).await;
            return Err(LoginError::Locked { retry_after });
        }
        let found = match Email::parse(&input.email) {
            Ok(email) => self.ports.users.find_by_email(client.id, &email).await?,
            Err(_) => None,
        };
        let Some(found) = found else {
            self.ports.passwords.verify_dummy(password).await?;
            self.fail(ctx, "unknown_email", None).await;
            self.count_failure(ctx, lock_keys.as_ref()).await?;
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
            self.count_failure(ctx, lock_keys.as_ref()).await?;
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

    /// Rate-limiter keys of the failure count and the lock of one email in one client
    /// (unknown emails are counted too, so a lock does not reveal whether an account exists).
    fn lock_keys(&self, client: ClientId, raw_email: &str) -> Option<(String, String)> {
        self.config.lockout?;
        let email = raw_email.trim().to_lowercase();
        let digest = authservice_domain::secret::sha256(email.as_bytes());
        let id: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        Some((
            format!("login_fail:{client}:{id}"),
            format!("login_lock:{client}:{id}"),
        ))
    }

    /// Counts a failed login; the one that fills the window locks the email.
    async fn count_failure(
        &self,
        ctx: &RequestCtx,
        keys: Option<&(String, String)>,
    ) -> Result<(), LoginError> {
        let (Some(lockout), Some((fail_key, lock_key))) = (self.config.lockout, keys) else {
            return Ok(());
        };
        let limiter = &self.ports.rate_limiter;
        if let RateDecision::Allowed { remaining: 0, .. } =
            limiter.hit(fail_key, lockout.failures).await?
        {
            limiter.hit(lock_key, lock_rule(lockout)).await?;
            let event = ctx
                .audit("account_locked")
                .metadata(json!({ "locked_for_seconds": lockout.lock_for.as_secs() }))
                .at(self.ports.clock.now());
            record_quietly(&self.ports, &event).await;
        }
        Ok(())
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
