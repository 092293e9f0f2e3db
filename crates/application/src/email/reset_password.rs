//! Password reset: `forgot-password` (API key) answers the same whether or not the address has
//! an account, 3 per hour per address; `reset-password {token, new_password}` (public) applies
//! the password policy, sets the password and revokes every session of the user.

use authservice_domain::EventType;
use authservice_domain::TokenPurpose;
use authservice_domain::sign_in::{self, Proof, SecondFactors};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::{
    EmailFlowError, LinkRequest, LinkTokenError, MailConfig, not_consumed, request_link,
    token_digest,
};
use crate::auth::AuthConfig;
use crate::context::RequestCtx;
use crate::ports::Ports;

pub struct ForgotPassword {
    ports: Ports,
    config: MailConfig,
}

impl ForgotPassword {
    #[must_use]
    pub fn new(ports: &Ports, config: &MailConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
        }
    }

    /// Queues a reset link when the address has an active account; the same answer otherwise
    /// (see `request_link`).
    #[tracing::instrument(name = "forgot_password", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        email: &str,
        base_url: Option<&str>,
    ) -> Result<(), EmailFlowError> {
        request_link(
            &self.ports,
            &self.config,
            ctx,
            LinkRequest {
                purpose: TokenPurpose::ResetPassword,
                email,
                base_url,
                limit: "forgot_password",
                event_type: EventType::PasswordResetRequested,
                unknown_event_type: EventType::PasswordResetRequested,
            },
        )
        .await
    }
}

pub struct ResetPasswordInput {
    pub token: String,
    pub new_password: SecretString,
}

impl std::fmt::Debug for ResetPasswordInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResetPasswordInput { token: [redacted], new_password: [redacted] }")
    }
}

pub struct ResetPassword {
    ports: Ports,
    config: AuthConfig,
}

impl ResetPassword {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
        }
    }

    /// With `client` (an API key came with the request) a token of another client is refused.
    #[tracing::instrument(name = "reset_password", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        input: ResetPasswordInput,
        client: Option<authservice_domain::ClientId>,
    ) -> Result<(), EmailFlowError> {
        let hash = token_digest(&input.token)?;
        let now = self.ports.clock.now();
        // Look first, so a policy failure does not burn the token; consume atomically below.
        let record =
            super::live_token(&self.ports, TokenPurpose::ResetPassword, &hash, client, now).await?;
        // The sign-in gate applies: a suspended client's users cannot take over accounts by
        // reset either (the link stays unconsumed for when the client is reactivated).
        let owner = self
            .ports
            .clients
            .get(record.client_id)
            .await?
            .ok_or(LinkTokenError::Invalid)?;
        let user = self
            .ports
            .users
            .get(record.client_id, record.user_id)
            .await?
            .ok_or(LinkTokenError::Invalid)?
            .user;
        sign_in::admit(
            &owner,
            &user,
            Proof::PasswordReset,
            SecondFactors::default(),
        )?;
        // A reset link sent before the organization began enforcing SSO sets no password
        // after it (it stays unconsumed).
        if let Some(sso) =
            crate::sso::required_for(&self.ports, &self.config.issuer, owner.id, &user.email)
                .await?
        {
            return Err(EmailFlowError::SsoRequired(sso));
        }
        let broken = self.config.password_policy.check(
            input.new_password.expose_secret(),
            Some(&user.email),
            user.display_name.as_deref(),
        );
        if !broken.is_empty() {
            return Err(EmailFlowError::PasswordPolicy(broken));
        }
        let new_hash = self
            .ports
            .passwords
            .hash(input.new_password.expose_secret())
            .await?;
        let now = self.ports.clock.now();
        let audit = ctx
            .audit(EventType::PasswordReset)
            .metadata(json!({ "sessions_revoked": true }))
            .at(now);
        let outcome = self
            .ports
            .one_time_tokens
            .consume_reset(&hash, Some(record.client_id), &new_hash, now, &audit)
            .await?;
        not_consumed(outcome, client, now)?;
        crate::tokens::note_session_end(
            &self.ports,
            self.config.access_ttl,
            record.client_id,
            record.user_id,
        )
        .await?;
        Ok(())
    }
}
