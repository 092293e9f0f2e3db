//! Recovery codes: 10 single-use codes, shown once, stored as digests. `status` counts the
//! unused ones; `regenerate` replaces the set (the old codes stop working).

use authservice_domain::EventType;
use serde_json::json;

use super::{MfaError, new_recovery_codes};
use crate::auth::AuthenticatedUser;
use crate::context::RequestCtx;
use crate::ports::Ports;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryCodeStatus {
    pub remaining: u32,
    pub total: u32,
}

pub struct ManageRecoveryCodes {
    ports: Ports,
    config: crate::auth::AuthConfig,
    mail: crate::email::MailConfig,
}

impl ManageRecoveryCodes {
    #[must_use]
    pub fn new(
        ports: &Ports,
        config: &crate::auth::AuthConfig,
        mail: &crate::email::MailConfig,
    ) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
            mail: mail.clone(),
        }
    }

    pub async fn status(&self, caller: &AuthenticatedUser) -> Result<RecoveryCodeStatus, MfaError> {
        let user = &caller.user;
        let (remaining, total) = self
            .ports
            .mfa
            .recovery_code_counts(user.client_id, user.id)
            .await?;
        Ok(RecoveryCodeStatus { remaining, total })
    }

    /// A new set (TOTP must be enabled: recovery codes stand in for it).
    pub async fn regenerate(
        &self,
        ctx: &RequestCtx,
        caller: AuthenticatedUser,
    ) -> Result<Vec<String>, MfaError> {
        super::require_recent_auth(&self.ports, &self.config, &caller)?;
        let user = caller.user;
        if !user.totp_enabled {
            return Err(MfaError::NotEnabled);
        }
        let (codes, hashes) = new_recovery_codes(&self.ports, user.id);
        let mut event = ctx
            .audit(EventType::RecoveryCodesRegenerated)
            .client(user.client_id)
            .target("user", user.id)
            .metadata(json!({ "count": codes.len() }))
            .at(self.ports.clock.now());
        event.user_id = Some(user.id.as_uuid());
        let client = crate::auth::require_client(ctx)?;
        let notice = crate::email::prepare_notice(
            &self.ports,
            &self.mail,
            client,
            &user,
            authservice_domain::Notice::RecoveryCodesRegenerated,
        )
        .await?;
        let writes = vec![
            crate::ports::Write::ReplaceRecoveryCodes {
                client: user.client_id,
                user: user.id,
                codes: hashes,
                at: self.ports.clock.now(),
            },
            crate::ports::Write::Audit(event),
            crate::ports::Write::QueueEmail(notice),
        ];
        self.ports.uow.commit(writes).await?;
        self.ports.outbox_signal.wake();
        Ok(codes)
    }
}
