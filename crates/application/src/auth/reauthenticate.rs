//! Re-authentication: the signed-in user proves it is them again (password, a TOTP code, or a
//! passkey assertion) and gets a new access token for the same session with a fresh
//! `auth_time`, which sensitive changes require to be at most `REAUTH_MAX_AGE` old. The
//! session's stored `auth_time` moves too, so the next refresh carries it.

use authservice_domain::EventType;
use secrecy::SecretString;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{AuthConfig, AuthenticatedUser, SessionLimits, SessionStamp, sign_access_token};
use crate::context::RequestCtx;
use crate::error::{ErrorKind, UseCaseError};
use crate::limits::{Limit, subject};
use crate::mfa::{MfaError, PasskeyLogin};
use crate::ports::Ports;

/// The proof offered.
pub enum ReauthProof {
    Password(SecretString),
    TotpCode(String),
    /// A passkey assertion for a ceremony from `begin_passkey`.
    Passkey {
        session_id: String,
        credential: Value,
    },
}

impl std::fmt::Debug for ReauthProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReauthProof::{}([redacted])", self.method())
    }
}

impl ReauthProof {
    fn method(&self) -> &'static str {
        match self {
            Self::Password(_) => "password",
            Self::TotpCode(_) => "totp",
            Self::Passkey { .. } => "passkey",
        }
    }
}

/// The new access token.
pub struct Reauthenticated {
    pub access_token: String,
    pub expires_in: u64,
    /// Unix seconds.
    pub auth_time: i64,
}

impl std::fmt::Debug for Reauthenticated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reauthenticated")
            .field("access_token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("auth_time", &self.auth_time)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReauthenticateError {
    #[error("the password is incorrect")]
    WrongPassword,
    #[error(transparent)]
    Factor(#[from] MfaError),
    #[error("the session of this access token has ended")]
    SessionEnded,
    #[error("too many attempts; try again later")]
    RateLimited { retry_after: std::time::Duration },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for ReauthenticateError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::WrongPassword => ErrorKind::InvalidCurrentPassword,
            Self::Factor(e) => e.kind(),
            Self::SessionEnded => ErrorKind::SessionRevoked,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }

    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::RateLimited { retry_after } => Some(*retry_after),
            Self::Factor(e) => e.retry_after(),
            _ => None,
        }
    }
}

impl From<crate::ports::HashError> for ReauthenticateError {
    fn from(err: crate::ports::HashError) -> Self {
        Self::Factor(err.into())
    }
}

pub struct Reauthenticate {
    ports: Ports,
    config: AuthConfig,
    passkeys: PasskeyLogin,
}

impl Reauthenticate {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig, passkeys: PasskeyLogin) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
            passkeys,
        }
    }

    /// The passkey ceremony for a re-authentication (`POST /reauthenticate/passkey/begin`).
    pub async fn begin_passkey(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
    ) -> Result<crate::mfa::PasskeyCeremony, ReauthenticateError> {
        Ok(self.passkeys.begin_reauth(ctx, caller).await?)
    }

    #[tracing::instrument(name = "reauthenticate", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
        proof: ReauthProof,
    ) -> Result<Reauthenticated, ReauthenticateError> {
        let client = super::require_client(ctx)?;
        let user = &caller.user;
        // Wrong proofs are limited per user: a stolen access token is not a password oracle.
        let slot = self
            .ports
            .limits
            .take(
                Limit::Reauthenticate,
                &subject::user(user.client_id, user.id),
            )
            .await?
            .map_err(|retry_after| ReauthenticateError::RateLimited { retry_after })?;
        let method = proof.method();
        let proved: Result<(), ReauthenticateError> = match &proof {
            ReauthProof::Password(password) => {
                if super::password_matches(&self.ports, user, password).await? {
                    Ok(())
                } else {
                    Err(ReauthenticateError::WrongPassword)
                }
            }
            ReauthProof::TotpCode(code) => {
                crate::mfa::check_totp_code(&self.ports, client, user, code)
                    .await
                    .map_err(Into::into)
            }
            ReauthProof::Passkey {
                session_id,
                credential,
            } => self
                .passkeys
                .finish_reauth(ctx, caller, session_id, credential)
                .await
                .map_err(Into::into),
        };
        let now = self.ports.clock.now();
        if let Err(err) = proved {
            let mut event = ctx
                .audit(EventType::ReauthenticationFailed)
                .client(user.client_id)
                .target("user", user.id)
                .metadata(json!({ "method": method }))
                .at(now);
            event.user_id = Some(user.id.as_uuid());
            crate::audit::record_quietly(&self.ports, &event).await;
            return Err(err);
        }
        self.ports.limits.give_back(slot).await?;
        let family_id =
            Uuid::parse_str(&caller.claims.sid).map_err(|_| ReauthenticateError::SessionEnded)?;
        let started_at = self
            .ports
            .sessions
            .reauthenticate(user.client_id, user.id, family_id, now)
            .await?
            .ok_or(ReauthenticateError::SessionEnded)?;
        let limits = SessionLimits::of(&self.config, client)?;
        let access_token = sign_access_token(
            &self.ports,
            &self.config,
            client,
            user,
            SessionStamp {
                family_id,
                ends_at: started_at + limits.max_lifetime,
                auth_time: now,
                // How the session began; a re-authentication only renews its time.
                amr: &caller.claims.amr,
            },
            now,
        )
        .await?;
        let mut event = ctx
            .audit(EventType::Reauthenticated)
            .client(user.client_id)
            .target("session", family_id)
            .metadata(json!({ "method": method }))
            .at(now);
        event.user_id = Some(user.id.as_uuid());
        crate::audit::record_quietly(&self.ports, &event).await;
        Ok(Reauthenticated {
            access_token,
            expires_in: self.config.access_ttl.as_secs(),
            auth_time: now.timestamp(),
        })
    }
}
