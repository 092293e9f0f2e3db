//! Sign up with email and password: rate limited per IP, disposable domains refused, the
//! password policy applied (every broken rule reported at once), then a first session — or,
//! when the client requires verified addresses or protects against enumeration, no session:
//! the answer is "check your email" whether or not the address already had an account (the
//! owner of an existing one gets a notice instead of a verification link).

use authservice_domain::EventType;
use std::time::Duration;

use authservice_domain::user::parse_display_name;
use authservice_domain::{Email, PasswordRule, User, ValidationError};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::{AuthConfig, IssuedTokens, login_event, prepare_session, require_client};
use crate::audit::record_quietly;
use crate::context::RequestCtx;
use crate::email::MailConfig;
use crate::error::{ErrorKind, UseCaseError};
use crate::limits::{Limit, subject};
use crate::ports::{HashError, Ports, UserWriteError};

/// What a signup hands back.
#[derive(Debug)]
pub enum SignupOutcome {
    /// Signed in at once.
    Tokens(Box<IssuedTokens>),
    /// "Check your email": the same answer for a new and an already registered address.
    VerificationRequired { email: String },
}

#[derive(Debug)]
pub struct SignupInput {
    pub email: String,
    pub password: SecretString,
    pub display_name: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SignupError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("password does not meet the policy")]
    PasswordPolicy(Vec<PasswordRule>),
    #[error("email domain is not accepted")]
    EmailDomainBlocked,
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("too many signups from this address")]
    RateLimited { retry_after: Duration },
    #[error("server is busy")]
    Busy,
    #[error("this address signs in through its organization's identity provider")]
    SsoRequired(crate::sso::SsoRequired),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for SignupError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) => ErrorKind::InvalidRequest,
            Self::PasswordPolicy(_) => ErrorKind::PasswordPolicy,
            Self::EmailDomainBlocked => ErrorKind::EmailDomainBlocked,
            Self::EmailTaken => ErrorKind::EmailTaken,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::Busy => ErrorKind::ServerBusy,
            Self::SsoRequired(_) => ErrorKind::SsoRequired,
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

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            Self::PasswordPolicy(rules) => Some(super::rules_json(rules)),
            Self::SsoRequired(sso) => Some(sso.details()),
            _ => None,
        }
    }
}

impl From<HashError> for SignupError {
    fn from(err: HashError) -> Self {
        match err {
            HashError::Busy => Self::Busy,
            HashError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

pub struct Signup {
    ports: Ports,
    config: AuthConfig,
    mail: MailConfig,
}

impl Signup {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig, mail: &MailConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
            mail: mail.clone(),
        }
    }

    #[tracing::instrument(name = "signup", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        input: SignupInput,
    ) -> Result<SignupOutcome, SignupError> {
        let client = require_client(ctx)?;
        self.ports
            .limits
            .take(Limit::Signup, &subject::ip(ctx))
            .await?
            .map_err(|retry_after| SignupError::RateLimited { retry_after })?;
        let email = Email::parse(&input.email)?;
        if let Some(sso) =
            crate::sso::required_for(&self.ports, &self.config.issuer, client.id, &email).await?
        {
            return Err(SignupError::SsoRequired(sso));
        }
        let display_name = input
            .display_name
            .as_deref()
            .map(parse_display_name)
            .transpose()?
            .flatten();
        if authservice_domain::user::is_blocked_domain(&email, &self.config.blocked_email_domains) {
            let event = ctx
                .audit(EventType::SignupBlocked)
                .client(client.id)
                .metadata(json!({ "reason": "email_domain_blocked", "domain": email.domain() }))
                .at(self.ports.clock.now());
            record_quietly(&self.ports, &event).await;
            return Err(SignupError::EmailDomainBlocked);
        }
        let broken = self.config.password_policy.check(
            input.password.expose_secret(),
            Some(&email),
            display_name.as_deref(),
        );
        if !broken.is_empty() {
            return Err(SignupError::PasswordPolicy(broken));
        }
        let hash = self
            .ports
            .passwords
            .hash(input.password.expose_secret())
            .await?;
        let now = self.ports.clock.now();
        let mut user = User::new(client.id, email, false, display_name, now);
        user.last_login_at = Some(now);
        let mut event = ctx
            .audit(EventType::Signup)
            .client(client.id)
            .target("user", user.id)
            .at(now);
        event.user_id = Some(user.id.as_uuid());
        let policy = client.policy();
        let protect = policy.signup_enumeration_protection;
        // Sessions only for verified addresses, or no answer may differ between a new and a
        // registered address: then nobody gets tokens at signup.
        let session_now = !policy.require_verified_email && !protect;
        let sends_verification = !session_now || policy.send_verification_email;
        if !session_now {
            user.last_login_at = None;
        }
        let verification = if sends_verification {
            Some(
                crate::email::prepare_verification(&self.ports, &self.mail, ctx, client, &user)
                    .await?,
            )
        } else {
            None
        };
        let email = user.email.clone();
        let prepared = if session_now {
            Some(
                prepare_session(
                    &self.ports,
                    &self.config,
                    ctx,
                    client,
                    user.clone(),
                    &[authservice_domain::sign_in::AuthMethod::Password],
                )
                .await?,
            )
        } else {
            None
        };
        let login = prepared.as_ref().map(|p| login_event(&self.ports, ctx, p));
        let first_session = prepared
            .as_ref()
            .zip(login.as_ref())
            .map(|(p, l)| (&p.session, l));
        match self
            .ports
            .users
            .insert(&user, &hash, &event, first_session, verification.as_ref())
            .await
        {
            Ok(()) => {
                if verification.is_some() {
                    self.ports.outbox_signal.wake();
                }
                Ok(match prepared {
                    Some(prepared) => SignupOutcome::Tokens(Box::new(prepared.tokens)),
                    None => SignupOutcome::VerificationRequired {
                        email: email.as_str().to_owned(),
                    },
                })
            }
            Err(UserWriteError::EmailTaken) if protect => {
                // The same answer as for a new address; the owner hears about the attempt.
                // At most 3 such notices per address per hour (the same rule as emailed
                // links), and nothing about them may change the answer.
                let owner = self.ports.users.find_by_email(client.id, &email).await?;
                if let Some(owner) = owner
                    && crate::email::may_notify(&self.ports, "signup_notice", client, &email).await
                    && let Err(err) = crate::email::notify(
                        &self.ports,
                        &self.mail,
                        client,
                        &owner.user,
                        authservice_domain::Notice::SignupWithExistingAccount,
                    )
                    .await
                {
                    tracing::warn!(error = %format!("{err:#}"), "could not queue a signup notice");
                }
                let event = ctx
                    .audit(EventType::SignupExistingAccount)
                    .client(client.id)
                    .at(self.ports.clock.now());
                record_quietly(&self.ports, &event).await;
                Ok(SignupOutcome::VerificationRequired {
                    email: email.as_str().to_owned(),
                })
            }
            Err(UserWriteError::EmailTaken) => Err(SignupError::EmailTaken),
            Err(UserWriteError::Unexpected(e)) => Err(SignupError::Unexpected(e)),
        }
    }
}
