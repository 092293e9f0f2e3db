//! Log in with email and password. An unknown email costs the same as a wrong password (a
//! dummy hash is verified) and both answer the same `invalid_credentials`. A hash weaker than
//! the configured cost is upgraded on success.

use authservice_domain::EventType;
use std::time::Duration;

use authservice_domain::sign_in::{Admission, Proof, Refusal};
use authservice_domain::{ClientId, Email};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::{AuthConfig, IssuedTokens, login_event, prepare_session, require_client};
use crate::audit::record_quietly;
use crate::context::RequestCtx;
use crate::error::{ErrorKind, UseCaseError};
use crate::limits::{Limit, Slot, subject};
use crate::ports::{HashError, PasswordRehash, Ports};

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
    #[error("this application is suspended")]
    ClientSuspended,
    #[error("too many login attempts from this address")]
    RateLimited { retry_after: Duration },
    #[error("too many failed logins for this account; try again later")]
    Locked { retry_after: Duration },
    #[error("server is busy")]
    Busy,
    #[error("this address signs in through its organization's identity provider")]
    SsoRequired(crate::sso::SsoRequired),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for LoginError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidCredentials => ErrorKind::InvalidCredentials,
            Self::Disabled => ErrorKind::AccountDisabled,
            Self::EmailNotVerified => ErrorKind::EmailNotVerified,
            Self::ClientSuspended => ErrorKind::ClientSuspended,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::Locked { .. } => ErrorKind::AccountLocked,
            Self::Busy => ErrorKind::ServerBusy,
            Self::SsoRequired(_) => ErrorKind::SsoRequired,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            Self::SsoRequired(sso) => Some(sso.details()),
            _ => None,
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

impl From<Refusal> for LoginError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::ClientSuspended => Self::ClientSuspended,
            Refusal::AccountDisabled => Self::Disabled,
            Refusal::EmailNotVerified => Self::EmailNotVerified,
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

/// What a correct password leads to.
#[derive(Debug)]
pub enum LoginOutcome {
    Tokens(Box<IssuedTokens>),
    /// The user has a second factor: no tokens yet, a challenge to complete.
    SecondFactor(crate::mfa::TwoFactorChallenge),
}

pub struct Login {
    ports: Ports,
    config: AuthConfig,
}

/// A login attempt's slot in the email's failure window (reserved before the password is
/// checked, so parallel guesses cannot overrun the lockout).
struct FailureSlot {
    /// The email in its client (a digest).
    subject: String,
    slot: Slot,
}

impl Login {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
        }
    }

    #[tracing::instrument(name = "login", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        input: LoginInput,
    ) -> Result<LoginOutcome, LoginError> {
        let client = require_client(ctx)?;
        self.ports
            .limits
            .take(Limit::Login, &subject::ip(ctx))
            .await?
            .map_err(|retry_after| LoginError::RateLimited { retry_after })?;
        // An organization that enforces SSO for the address's domain: no password here, for
        // accounts and unknown addresses alike.
        if let Ok(email) = Email::parse(&input.email)
            && let Some(sso) =
                crate::sso::required_for(&self.ports, &self.config.issuer, client.id, &email)
                    .await?
        {
            self.fail(ctx, "sso_required", None).await;
            return Err(LoginError::SsoRequired(sso));
        }
        let slot = self
            .reserve_failure_slot(ctx, client.id, &input.email)
            .await?;
        let password = input.password.expose_secret();
        let found = match Email::parse(&input.email) {
            Ok(email) => self.ports.users.find_by_email(client.id, &email).await?,
            Err(_) => None,
        };
        let Some(found) = found else {
            self.ports.passwords.verify_dummy(password).await?;
            self.fail(ctx, "unknown_email", None).await;
            self.keep_failure(ctx, slot).await?;
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
            self.keep_failure(ctx, slot).await?;
            return Err(LoginError::InvalidCredentials);
        }
        if let Some(failure) = slot {
            self.ports.limits.give_back(failure.slot).await?;
        }
        match super::gate::admit_knowing(
            &self.ports,
            client,
            &user,
            Proof::Password,
            found.has_passkey,
        )
        .await?
        {
            Err(refusal) => {
                self.fail(ctx, refusal.code(), Some(user.id.as_uuid()))
                    .await;
                return Err(refusal.into());
            }
            Ok(Admission::SecondFactor(methods)) => {
                let challenge = crate::mfa::start_challenge(
                    &self.ports,
                    ctx,
                    client,
                    &user,
                    crate::mfa::FirstFactor::Password,
                    methods,
                )
                .await?;
                return Ok(LoginOutcome::SecondFactor(challenge));
            }
            Ok(Admission::Session) => {}
        }
        let rehash = match found.password_hash {
            Some(old) if self.ports.passwords.needs_rehash(&old) => Some(PasswordRehash {
                new: self.ports.passwords.hash(password).await?,
                old,
            }),
            _ => None,
        };
        let mut user = user;
        user.last_login_at = Some(self.ports.clock.now());
        let mut prepared = prepare_session(
            &self.ports,
            &self.config,
            ctx,
            client,
            user,
            &[authservice_domain::sign_in::AuthMethod::Password],
        )
        .await?;
        prepared.session.rehash = rehash;
        let event = login_event(&self.ports, ctx, &prepared);
        self.ports
            .sessions
            .create(&prepared.session, &event)
            .await?;
        Ok(LoginOutcome::Tokens(Box::new(prepared.tokens)))
    }

    /// With lockout on: refuses a locked email, else reserves this attempt's failure slot.
    /// Unknown emails are counted too, so a lock does not reveal whether an account exists.
    async fn reserve_failure_slot(
        &self,
        ctx: &RequestCtx,
        client: ClientId,
        raw_email: &str,
    ) -> Result<Option<FailureSlot>, LoginError> {
        if !self.config.lockout {
            return Ok(None);
        }
        let subject = subject::email(client, raw_email);
        let limits = &self.ports.limits;
        if let Err(retry_after) = limits.check(Limit::LoginLock, &subject).await? {
            self.fail(ctx, "account_locked", None).await;
            return Err(LoginError::Locked { retry_after });
        }
        match limits.take(Limit::LoginFailure, &subject).await? {
            Ok(slot) => Ok(Some(FailureSlot { subject, slot })),
            Err(_) => {
                // The window is full of failures (or of attempts in flight): lock now.
                self.lock(ctx, &subject).await?;
                Err(LoginError::Locked {
                    retry_after: limits.rule(Limit::LoginLock).window,
                })
            }
        }
    }

    /// The attempt failed: its slot stays counted; the one that fills the window locks.
    async fn keep_failure(
        &self,
        ctx: &RequestCtx,
        failure: Option<FailureSlot>,
    ) -> Result<(), LoginError> {
        if let Some(failure) = failure
            && failure.slot.remaining == 0
        {
            self.lock(ctx, &failure.subject).await?;
        }
        Ok(())
    }

    async fn lock(&self, ctx: &RequestCtx, subject: &str) -> Result<(), LoginError> {
        let limits = &self.ports.limits;
        if limits.take(Limit::LoginLock, subject).await?.is_ok() {
            let locked_for = limits.rule(Limit::LoginLock).window;
            let event = ctx
                .audit(EventType::AccountLocked)
                .metadata(json!({ "locked_for_seconds": locked_for.as_secs() }))
                .at(self.ports.clock.now());
            record_quietly(&self.ports, &event).await;
        }
        Ok(())
    }

    /// `login_failed` with a reason code (never the password).
    async fn fail(&self, ctx: &RequestCtx, reason: &str, user: Option<uuid::Uuid>) {
        let mut event = ctx
            .audit(EventType::LoginFailed)
            .metadata(json!({ "reason": reason }))
            .at(self.ports.clock.now());
        event.user_id = user;
        record_quietly(&self.ports, &event).await;
    }
}
