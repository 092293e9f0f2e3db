//! Email verification: `verify-email {token}` (public) and `resend-verification` (the signed-in
//! user, 3 per hour). Signup sends the first message (see `auth::signup`).

use authservice_domain::EventType;
use authservice_domain::{ClientId, TokenPurpose};

use super::{
    EmailFlowError, MailConfig, Outgoing, enqueue, limit_mail_volume, limit_per_email,
    not_consumed, prepare_email, token_digest,
};
use crate::auth::AuthenticatedUser;
use crate::context::RequestCtx;
use crate::ports::Ports;

pub struct VerifyEmail {
    ports: Ports,
}

impl VerifyEmail {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    /// Consumes the token and marks its address verified. With `client` (an API key came with
    /// the request) a token of another client is refused.
    #[tracing::instrument(name = "verify_email", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        token: &str,
        client: Option<ClientId>,
    ) -> Result<(), EmailFlowError> {
        let hash = token_digest(token)?;
        let now = self.ports.clock.now();
        let audit = ctx.audit(EventType::EmailVerified).at(now);
        let outcome = self
            .ports
            .one_time_tokens
            .consume_verification(&hash, client, now, &audit)
            .await?;
        not_consumed(outcome, client, now)?;
        Ok(())
    }
}

pub struct ResendVerification {
    ports: Ports,
    config: MailConfig,
}

impl ResendVerification {
    #[must_use]
    pub fn new(ports: &Ports, config: &MailConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
        }
    }

    #[tracing::instrument(name = "resend_verification", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        caller: AuthenticatedUser,
        base_url: Option<&str>,
    ) -> Result<(), EmailFlowError> {
        let client = crate::auth::require_client(ctx)?;
        let user = caller.user;
        if user.email_verified {
            return Err(EmailFlowError::AlreadyVerified);
        }
        // Per user (the address is the user's own), 3 per hour.
        limit_mail_volume(&self.ports, ctx, client).await?;
        limit_per_email(&self.ports, "resend_verification", client, &user.email).await?;
        let settings = super::load_settings(&self.ports, client).await?;
        let base = super::checked_base(base_url, client, settings.base_url.as_ref(), &self.config)?;
        let pending = prepare_email(
            &self.ports,
            &self.config,
            ctx,
            client,
            &user,
            Outgoing {
                purpose: TokenPurpose::VerifyEmail,
                base_url: base.as_ref(),
                settings: &settings,
                event_type: EventType::VerificationEmailSent,
            },
        )
        .await?;
        enqueue(&self.ports, &pending).await?;
        Ok(())
    }
}
