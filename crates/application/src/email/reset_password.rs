//! Password reset: `forgot-password` (API key) answers the same whether or not the address has
//! an account, 3 per hour per address; `reset-password {token, new_password}` (public) applies
//! the password policy, sets the password and revokes every session of the user.

use authservice_domain::{Email, TokenPurpose, UserStatus};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::{
    EmailFlowError, LinkTokenError, MailConfig, Outgoing, enqueue, limit_per_email, not_consumed,
    prepare_email, refusal, token_digest,
};
use crate::audit::record_quietly;
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

    /// Queues a reset link when the address has an active account. Unknown, disabled and
    /// passwordless-only addresses get the same answer, after the same limit and a comparable
    /// amount of work (an audit write), so the answer reveals nothing.
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        email: &str,
        base_url: Option<&str>,
    ) -> Result<(), EmailFlowError> {
        let client = crate::auth::require_client(ctx)?;
        let email = Email::parse(email)?;
        limit_per_email(&self.ports, "forgot_password", client, &email).await?;
        let found = self.ports.users.find_by_email(client.id, &email).await?;
        let user = found
            .map(|f| f.user)
            .filter(|u| u.status == UserStatus::Active);
        let Some(user) = user else {
            // Validate base_url the same way a known address would.
            super::requested_base(base_url, client, None, &self.config)?;
            let event = ctx
                .audit("password_reset_requested")
                .client(client.id)
                .metadata(json!({ "account": "none" }))
                .at(self.ports.clock.now());
            record_quietly(&self.ports, &event).await;
            return Ok(());
        };
        let pending = prepare_email(
            &self.ports,
            &self.config,
            ctx,
            client,
            &user,
            Outgoing {
                purpose: TokenPurpose::ResetPassword,
                base_url,
                event_type: "password_reset_requested",
            },
        )
        .await?;
        enqueue(&self.ports, &pending).await?;
        Ok(())
    }
}

#[derive(Debug)]
pub struct ResetPasswordInput {
    pub token: String,
    pub new_password: SecretString,
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

    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        input: ResetPasswordInput,
    ) -> Result<(), EmailFlowError> {
        let hash = token_digest(&input.token)?;
        let now = self.ports.clock.now();
        // Look first, so a policy failure does not burn the token; consume atomically below.
        let record = self
            .ports
            .one_time_tokens
            .find(TokenPurpose::ResetPassword, &hash)
            .await?
            .ok_or(LinkTokenError::Invalid)?;
        if record.consumed_at.is_some() || record.voided_at.is_some() || record.expires_at <= now {
            return Err(refusal(&record, None, now).into());
        }
        let user = self
            .ports
            .users
            .get(record.client_id, record.user_id)
            .await?
            .ok_or(LinkTokenError::Invalid)?
            .user;
        if user.status != UserStatus::Active {
            return Err(EmailFlowError::AccountDisabled);
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
            .audit("password_reset")
            .metadata(json!({ "sessions_revoked": true }))
            .at(now);
        let outcome = self
            .ports
            .one_time_tokens
            .consume_reset(&hash, &new_hash, now, &audit)
            .await?;
        not_consumed(outcome, None, now)?;
        Ok(())
    }
}
