//! TOTP enrolment: `setup` (a new secret, pending for 10 minutes), `enable` (confirmed by a
//! valid code; returns the first recovery codes), `disable` (a current code or the password).
//! Secrets are sealed with ENCRYPTION_KEY; a code is accepted once (its time step is recorded).

use authservice_domain::EventType;
use authservice_domain::{Branding, Client, User, ValidationError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::SecretString;
use serde_json::json;

use super::{MfaError, TOTP_SETUP_TTL, new_recovery_codes};
use crate::auth::AuthenticatedUser;
use crate::context::RequestCtx;
use crate::limits::{Limit, subject};
use crate::ports::{Ports, SealedSecret, Write};

/// What `setup` hands out (shown once).
#[derive(Clone)]
pub struct TotpSetup {
    pub secret: String,
    pub otpauth_url: String,
    /// `data:image/png;base64,...`
    pub qr_code: String,
    pub expires_in: u64,
}

#[derive(Clone)]
pub struct TotpEnabled {
    pub recovery_codes: Vec<String>,
}

impl std::fmt::Debug for TotpSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpSetup").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for TotpEnabled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpEnabled")
            .field("recovery_codes", &self.recovery_codes.len())
            .finish()
    }
}

#[derive(Default)]
pub struct DisableTotpInput {
    pub code: Option<String>,
    pub password: Option<SecretString>,
}

impl std::fmt::Debug for DisableTotpInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DisableTotpInput")
            .field("code", &self.code.as_ref().map(|_| "[redacted]"))
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

fn setup_key(user: &User) -> String {
    format!("totp_setup:{}:{}", user.client_id, user.id)
}

fn unix_now(ports: &Ports) -> u64 {
    u64::try_from(ports.clock.now().timestamp()).unwrap_or(0)
}

/// Checks `code` against the user's enabled TOTP and records its step (a code works once).
pub(crate) async fn check_code(
    ports: &Ports,
    client: &Client,
    user: &User,
    code: &str,
) -> Result<(), MfaError> {
    let state = ports
        .mfa
        .totp(client.id, user.id)
        .await?
        .ok_or(MfaError::NotEnabled)?;
    let secret = ports.secret_box.open(&state.secret)?;
    let step = ports
        .totp
        .check(&secret, code.trim(), unix_now(ports))
        .ok_or(MfaError::WrongCode)?;
    if state.last_step.is_some_and(|last| step <= last)
        || !ports.mfa.use_totp_step(client.id, user.id, step).await?
    {
        return Err(MfaError::CodeReused);
    }
    Ok(())
}

pub struct ManageTotp {
    ports: Ports,
    config: crate::auth::AuthConfig,
    mail: crate::email::MailConfig,
}

impl ManageTotp {
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

    fn audit(
        &self,
        ctx: &RequestCtx,
        user: &User,
        event_type: EventType,
    ) -> authservice_domain::AuditEvent {
        let mut event = ctx
            .audit(event_type)
            .client(user.client_id)
            .target("user", user.id)
            .at(self.ports.clock.now());
        event.user_id = Some(user.id.as_uuid());
        event
    }

    /// A new pending secret (replacing any pending one); enabled by [`Self::enable`].
    pub async fn setup(
        &self,
        ctx: &RequestCtx,
        caller: AuthenticatedUser,
    ) -> Result<TotpSetup, MfaError> {
        let client = crate::auth::require_client(ctx)?;
        // Enabling then needs this pending secret, so one recent authentication covers both.
        super::require_recent_auth(&self.ports, &self.config, &caller)?;
        let user = caller.user;
        if user.totp_enabled {
            return Err(MfaError::AlreadyEnabled);
        }
        self.ports
            .limits
            .take(Limit::TotpSetup, &subject::user(user.client_id, user.id))
            .await?
            .map_err(|retry_after| MfaError::RateLimited { retry_after })?;
        let secret = self.ports.random.bytes32()[..20].to_vec();
        let brand = Branding::of(client);
        let provisioning =
            self.ports
                .totp
                .provisioning(&secret, &brand.name, user.email.as_str())?;
        let sealed = self.ports.secret_box.seal(&secret)?;
        self.ports
            .ephemeral
            .put_value(
                &setup_key(&user),
                &STANDARD.encode(&sealed.0),
                TOTP_SETUP_TTL,
            )
            .await?;
        crate::audit::record_quietly(
            &self.ports,
            &self.audit(ctx, &user, EventType::TotpSetupStarted),
        )
        .await;
        Ok(TotpSetup {
            secret: provisioning.secret_base32,
            otpauth_url: provisioning.otpauth_url,
            qr_code: format!("data:image/png;base64,{}", provisioning.qr_png_base64),
            expires_in: TOTP_SETUP_TTL.as_secs(),
        })
    }

    /// Confirms the pending secret with a valid code; returns the first recovery codes.
    pub async fn enable(
        &self,
        ctx: &RequestCtx,
        caller: AuthenticatedUser,
        code: &str,
    ) -> Result<TotpEnabled, MfaError> {
        let user = caller.user;
        if user.totp_enabled {
            return Err(MfaError::AlreadyEnabled);
        }
        let pending = self
            .ports
            .ephemeral
            .get_value(&setup_key(&user))
            .await?
            .ok_or(MfaError::SetupMissing)?;
        let sealed = SealedSecret(
            STANDARD
                .decode(pending)
                .map_err(|e| anyhow::anyhow!("malformed pending TOTP secret: {e}"))?,
        );
        let secret = self.ports.secret_box.open(&sealed)?;
        // Wrong codes while enabling count like wrong codes when disabling (5 per 15 min).
        let slot = self
            .ports
            .limits
            .take(
                Limit::TotpCode,
                &format!("enable:{}", subject::user(user.client_id, user.id)),
            )
            .await?
            .map_err(|retry_after| MfaError::RateLimited { retry_after })?;
        let Some(step) = self
            .ports
            .totp
            .check(&secret, code.trim(), unix_now(&self.ports))
        else {
            let mut event = self.audit(ctx, &user, EventType::TwoFactorFailed);
            event.metadata = json!({ "method": "totp", "reason": "enable_wrong_code" });
            crate::audit::record_quietly(&self.ports, &event).await;
            return Err(MfaError::WrongCode);
        };
        self.ports.limits.give_back(slot).await?;
        let (codes, hashes) = new_recovery_codes(&self.ports, user.id);
        let client = crate::auth::require_client(ctx)?;
        let notice = crate::email::prepare_notice(
            &self.ports,
            &self.mail,
            client,
            &user,
            authservice_domain::Notice::TotpEnabled,
        )
        .await?;
        let now = self.ports.clock.now();
        let writes = vec![
            Write::EnableTotp {
                client: user.client_id,
                user: user.id,
                secret: sealed,
                step,
                at: now,
            },
            Write::ReplaceRecoveryCodes {
                client: user.client_id,
                user: user.id,
                codes: hashes,
                at: now,
            },
            Write::Audit(self.audit(ctx, &user, EventType::TotpEnabled)),
            Write::QueueEmail(notice),
        ];
        if !self.ports.uow.commit(writes).await?.is_all() {
            return Err(MfaError::AlreadyEnabled);
        }
        self.ports.outbox_signal.wake();
        self.ports.ephemeral.take(&setup_key(&user)).await?;
        Ok(TotpEnabled {
            recovery_codes: codes,
        })
    }

    /// Disables TOTP (and deletes the recovery codes) given a current code or the password.
    pub async fn disable(
        &self,
        ctx: &RequestCtx,
        caller: AuthenticatedUser,
        input: DisableTotpInput,
    ) -> Result<(), MfaError> {
        let client = crate::auth::require_client(ctx)?;
        let user = caller.user;
        if !user.totp_enabled {
            return Err(MfaError::NotEnabled);
        }
        let slot = self
            .ports
            .limits
            .take(
                Limit::TotpCode,
                &format!("disable:{}", subject::user(user.client_id, user.id)),
            )
            .await?
            .map_err(|retry_after| MfaError::RateLimited { retry_after })?;
        let proof = match (&input.code, &input.password) {
            (Some(code), _) if !code.trim().is_empty() => {
                check_code(&self.ports, client, &user, code).await
            }
            (_, Some(password)) => {
                if crate::auth::password_matches(&self.ports, &user, password).await? {
                    Ok(())
                } else {
                    Err(MfaError::WrongPassword)
                }
            }
            _ => {
                return Err(ValidationError::new(
                    "code",
                    "a current code or the password is required",
                )
                .into());
            }
        };
        if let Err(err) = proof {
            let mut event = self.audit(ctx, &user, EventType::TwoFactorFailed);
            event.metadata = json!({ "method": "totp", "reason": "disable_refused" });
            crate::audit::record_quietly(&self.ports, &event).await;
            return Err(err);
        }
        self.ports.limits.give_back(slot).await?;
        let notice = crate::email::prepare_notice(
            &self.ports,
            &self.mail,
            client,
            &user,
            authservice_domain::Notice::TotpDisabled,
        )
        .await?;
        let now = self.ports.clock.now();
        let mut writes = vec![Write::DisableTotp {
            client: user.client_id,
            user: user.id,
            at: now,
        }];
        // Recovery codes back up the second factor: they go with the last one (a passkey
        // still registered keeps them).
        if self
            .ports
            .passkeys
            .list(user.client_id, user.id)
            .await?
            .is_empty()
        {
            writes.push(Write::ReplaceRecoveryCodes {
                client: user.client_id,
                user: user.id,
                codes: Vec::new(),
                at: now,
            });
        }
        writes.push(Write::Audit(self.audit(
            ctx,
            &user,
            EventType::TotpDisabled,
        )));
        writes.push(Write::QueueEmail(notice));
        if self.ports.uow.commit(writes).await?.is_all() {
            self.ports.outbox_signal.wake();
        }
        Ok(())
    }
}
