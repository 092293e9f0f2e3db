//! An admin user signs in with email, password and a TOTP code (mandatory: the first sign-in
//! enrols one), refreshes its short-lived access token and signs out.
//!
//! Tokens are opaque (`adm_at_…`, `adm_rt_…`), stored as SHA-256 digests and looked up on every
//! request, so a sign-out, a disabled account or a changed role takes effect on the next
//! request. Failures count per admin email (`ADMIN_LOGIN_FAILURE_RATE_LIMIT`) and per IP (the
//! admin key's failure window); a correct attempt gives its slots back.

use std::time::Duration;

use authservice_domain::admin::{AdminStatus, AdminUser};
use authservice_domain::secret::{hex, sha256};
use authservice_domain::{AdminPrincipal, Email, EventType, Principal};
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{AdminAuthConfig, AdminPorts, needs_custom_roles, principal_of};
use crate::audit::record_to;
use crate::context::RequestCtx;
use crate::error::{ErrorKind, UseCaseError};
use crate::limits::{Limit, Slot, subject};
use crate::ports::{AdminCredentials, HashError, NewAdminSession, RefreshMatch};

const TOTP_ISSUER: &str = "AuthService Admin";

#[derive(Debug, thiserror::Error)]
pub enum AdminAuthError {
    #[error("email or password is wrong")]
    InvalidCredentials,
    #[error("the account is disabled")]
    Disabled,
    #[error("a TOTP code is required")]
    TotpRequired,
    #[error("the TOTP code is wrong")]
    WrongCode,
    #[error("the TOTP code was already used")]
    CodeReused,
    #[error("the enrolment token is unknown, used or expired")]
    EnrollmentInvalid,
    #[error("a first sign-in needs the account's setup token")]
    SetupTokenRequired,
    #[error("the refresh token is not valid")]
    InvalidRefreshToken,
    #[error("the refresh token was already used; the session is revoked")]
    RefreshReused,
    #[error("too many failed sign-ins")]
    RateLimited { retry_after: Duration },
    #[error("the password hasher is busy")]
    Busy,
    #[error("operator sign-in through an identity provider is not configured")]
    SsoNotConfigured,
    #[error(
        "the sign-in through the identity provider is unknown, used, expired or from another browser"
    )]
    SsoStateInvalid,
    #[error("the identity provider's answer was refused")]
    SsoFailed,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<HashError> for AdminAuthError {
    fn from(err: HashError) -> Self {
        match err {
            HashError::Busy => Self::Busy,
            other => Self::Unexpected(anyhow::Error::new(other)),
        }
    }
}

impl UseCaseError for AdminAuthError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidCredentials => ErrorKind::InvalidCredentials,
            Self::Disabled => ErrorKind::AccountDisabled,
            Self::TotpRequired => ErrorKind::TotpRequired,
            Self::WrongCode => ErrorKind::InvalidSecondFactorCode,
            Self::CodeReused => ErrorKind::SecondFactorCodeReused,
            Self::EnrollmentInvalid => ErrorKind::EnrollmentTokenInvalid,
            Self::SetupTokenRequired => ErrorKind::SetupTokenRequired,
            Self::InvalidRefreshToken => ErrorKind::InvalidRefreshToken,
            Self::RefreshReused => ErrorKind::RefreshTokenReused,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::Busy => ErrorKind::ServerBusy,
            Self::SsoNotConfigured => ErrorKind::SsoNotConfigured,
            Self::SsoStateInvalid => ErrorKind::SsoStateInvalid,
            Self::SsoFailed => ErrorKind::SsoFailed,
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

/// `POST /api/admin/auth/login`.
#[derive(Clone)]
pub struct AdminLoginInput {
    pub email: String,
    pub password: String,
    pub totp_code: Option<String>,
    /// The one-time setup token of an account without TOTP yet (its first sign-in).
    pub setup_token: Option<String>,
}

impl std::fmt::Debug for AdminLoginInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminLoginInput")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// A signed-in admin's credentials.
#[derive(Clone)]
pub struct AdminTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub admin: AdminUser,
}

/// A first sign-in: the TOTP secret to enrol, and the token that completes it.
#[derive(Clone)]
pub struct AdminEnrollment {
    pub enrollment_token: String,
    pub secret: String,
    pub otpauth_url: String,
    pub qr_png_base64: String,
}

impl std::fmt::Debug for AdminEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminEnrollment([redacted])")
    }
}

impl std::fmt::Debug for AdminTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminTokens")
            .field("admin", &self.admin.id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub enum AdminLoginOutcome {
    SignedIn(AdminTokens),
    EnrollmentRequired(AdminEnrollment),
}

pub struct AdminSignIn {
    pub(super) ports: AdminPorts,
    pub(super) config: AdminAuthConfig,
    /// Sign-in through the operators' identity provider, when configured.
    pub(super) sso: Option<super::AdminSso>,
}

/// The rate-limit slots one attempt holds (given back when it succeeds).
pub(super) struct Attempt(Vec<Slot>);

impl AdminSignIn {
    #[must_use]
    pub fn new(ports: AdminPorts, config: AdminAuthConfig, sso: Option<super::AdminSso>) -> Self {
        Self { ports, config, sso }
    }

    #[tracing::instrument(name = "admin_login", level = "debug", skip_all)]
    pub async fn login(
        &self,
        ctx: &RequestCtx,
        input: AdminLoginInput,
    ) -> Result<AdminLoginOutcome, AdminAuthError> {
        let email = input.email.trim().to_lowercase();
        let attempt = self.attempt(ctx, &email).await?;
        let creds = match Email::parse(&email) {
            Ok(email) => self.ports.admins.credentials(email.as_str()).await?,
            Err(_) => None,
        };
        let Some(creds) = self.password_matches(creds, &input.password).await? else {
            self.failed(ctx, None, "invalid_credentials").await;
            return Err(AdminAuthError::InvalidCredentials);
        };
        self.second_step(
            ctx,
            attempt,
            &creds,
            input.totp_code.as_deref(),
            input.setup_token.as_deref(),
        )
        .await
    }

    /// After the first factor (a password, or the operators' identity provider): the
    /// account's state, then its authenticator — or, on a first sign-in, its setup token
    /// opening the enrolment.
    pub(super) async fn second_step(
        &self,
        ctx: &RequestCtx,
        attempt: Attempt,
        creds: &AdminCredentials,
        totp_code: Option<&str>,
        setup_token: Option<&str>,
    ) -> Result<AdminLoginOutcome, AdminAuthError> {
        let admin = &creds.admin;
        if admin.status == AdminStatus::Disabled {
            self.failed(ctx, Some(admin), "disabled").await;
            return Err(AdminAuthError::Disabled);
        }
        if !admin.totp_enabled {
            // Only the owner's setup token opens the first enrolment: the password alone
            // (known to whoever created the account, or leaked) does not.
            if !setup_matches(creds, setup_token, self.ports.clock.now()) {
                self.failed(ctx, Some(admin), "setup_token").await;
                return Err(AdminAuthError::SetupTokenRequired);
            }
            let enrollment = self.start_enrollment(admin).await?;
            self.release(attempt).await;
            return Ok(AdminLoginOutcome::EnrollmentRequired(enrollment));
        }
        let Some(code) = totp_code.map(str::trim).filter(|c| !c.is_empty()) else {
            self.release(attempt).await;
            return Err(AdminAuthError::TotpRequired);
        };
        let step = self.check_code(ctx, creds, code).await?;
        if !self.ports.admins.use_totp_step(admin.id, step).await? {
            self.failed(ctx, Some(admin), "code_reused").await;
            return Err(AdminAuthError::CodeReused);
        }
        self.release(attempt).await;
        Ok(AdminLoginOutcome::SignedIn(
            self.open_session(ctx, admin.clone()).await?,
        ))
    }

    /// `POST /api/admin/auth/totp/enable`: completes a first sign-in's enrolment with a code
    /// from the new authenticator, and signs in.
    #[tracing::instrument(name = "admin_enable_totp", level = "debug", skip_all)]
    pub async fn enable_totp(
        &self,
        ctx: &RequestCtx,
        enrollment_token: &str,
        code: &str,
    ) -> Result<AdminTokens, AdminAuthError> {
        let hash = sha256(enrollment_token.trim().as_bytes());
        let now = self.ports.clock.now();
        let creds = self
            .ports
            .admins
            .enrollment(&hash, now)
            .await?
            .ok_or(AdminAuthError::EnrollmentInvalid)?;
        let attempt = self.attempt(ctx, creds.admin.email.as_str()).await?;
        if creds.admin.status == AdminStatus::Disabled {
            return Err(AdminAuthError::Disabled);
        }
        let step = self.check_code(ctx, &creds, code.trim()).await?;
        if !self
            .ports
            .admins
            .complete_enrollment(creds.admin.id, &hash, step, now)
            .await?
        {
            return Err(AdminAuthError::EnrollmentInvalid);
        }
        self.release(attempt).await;
        let mut admin = creds.admin;
        admin.totp_enabled = true;
        let event = admin_ctx(ctx, &admin)
            .audit(EventType::AdminTotpEnrolled)
            .target("admin_user", admin.id)
            .at(now);
        record_to(self.ports.audit.as_ref(), &event).await;
        self.open_session(ctx, admin).await
    }

    /// `POST /api/admin/auth/refresh`: new access and refresh tokens for a live session. A
    /// refresh token presented a second time revokes its session.
    #[tracing::instrument(name = "admin_refresh", level = "debug", skip_all)]
    pub async fn refresh(
        &self,
        ctx: &RequestCtx,
        refresh_token: &str,
    ) -> Result<AdminTokens, AdminAuthError> {
        let presented = sha256(refresh_token.trim().as_bytes());
        let now = self.ports.clock.now();
        let Some((session, admin, matched)) =
            self.ports.admins.session_by_refresh(&presented).await?
        else {
            return Err(AdminAuthError::InvalidRefreshToken);
        };
        if matched == RefreshMatch::Previous {
            if session.revoked_at.is_none() {
                self.ports.admins.revoke_session(session.id, now).await?;
                let event = admin_ctx(ctx, &admin)
                    .audit(EventType::AdminRefreshReused)
                    .target("admin_session", session.id)
                    .at(now);
                record_to(self.ports.audit.as_ref(), &event).await;
            }
            return Err(AdminAuthError::RefreshReused);
        }
        if session.revoked_at.is_some() || session.expires_at <= now {
            return Err(AdminAuthError::InvalidRefreshToken);
        }
        if admin.status == AdminStatus::Disabled {
            return Err(AdminAuthError::Disabled);
        }
        let (access_token, access_hash) = self.ports.token("adm_at_");
        let (refresh_token, refresh_hash) = self.ports.token("adm_rt_");
        let access_expires_at = self.access_expiry(now, session.expires_at);
        if !self
            .ports
            .admins
            .rotate_session(
                session.id,
                &presented,
                &access_hash,
                access_expires_at,
                &refresh_hash,
                now,
            )
            .await?
        {
            return Err(AdminAuthError::InvalidRefreshToken);
        }
        Ok(AdminTokens {
            access_token,
            refresh_token,
            expires_in: seconds_until(now, access_expires_at),
            admin,
        })
    }

    /// `POST /api/admin/auth/logout`: ends the caller's admin session (nothing for the key).
    ///
    /// # Errors
    /// The store failed.
    pub async fn logout(&self, ctx: &RequestCtx) -> Result<(), AdminAuthError> {
        let Principal::Admin(admin) = &ctx.principal else {
            return Ok(());
        };
        let Some(session) = admin.session else {
            return Ok(());
        };
        let now = self.ports.clock.now();
        self.ports.admins.revoke_session(session, now).await?;
        let event = ctx
            .audit(EventType::AdminSignedOut)
            .target("admin_session", session)
            .at(now);
        record_to(self.ports.audit.as_ref(), &event).await;
        Ok(())
    }

    /// The principal of a bearer admin access token, if its session and account are live.
    ///
    /// # Errors
    /// The store failed.
    pub async fn principal(&self, access_token: &str) -> anyhow::Result<Option<AdminPrincipal>> {
        if !access_token.starts_with("adm_at_") {
            return Ok(None);
        }
        let hash = sha256(access_token.as_bytes());
        let Some((session, admin)) = self.ports.admins.session_by_access(&hash).await? else {
            return Ok(None);
        };
        let now = self.ports.clock.now();
        if session.revoked_at.is_some()
            || session.access_expires_at <= now
            || session.expires_at <= now
            || admin.status != AdminStatus::Active
        {
            return Ok(None);
        }
        let custom = if needs_custom_roles(&admin) {
            self.ports.admins.roles().await?
        } else {
            Vec::new()
        };
        Ok(Some(principal_of(&admin, session.id, &custom)))
    }

    /// The signed-in admin user's account (`None` for the break-glass key).
    ///
    /// # Errors
    /// The store failed.
    pub async fn me(&self, ctx: &RequestCtx) -> Result<Option<AdminUser>, AdminAuthError> {
        match &ctx.principal {
            Principal::Admin(a) if a.session.is_some() => match Uuid::parse_str(&a.actor_id) {
                Ok(id) => Ok(self.ports.admins.get(id).await?),
                Err(_) => Ok(None),
            },
            _ => Ok(None),
        }
    }

    pub(super) async fn attempt(
        &self,
        ctx: &RequestCtx,
        email: &str,
    ) -> Result<Attempt, AdminAuthError> {
        let limits = &self.ports.limits;
        // Per address *and* IP: someone elsewhere cannot lock a known operator out.
        let by_email = format!(
            "{}:{}",
            hex(&sha256(email.as_bytes())[..16]),
            subject::ip(ctx)
        );
        let mut slots = Vec::new();
        for (limit, key) in [
            (Limit::AdminFailure, subject::ip(ctx)),
            (Limit::AdminLoginFailure, by_email),
        ] {
            match limits.take(limit, &key).await? {
                Ok(slot) => slots.push(slot),
                Err(retry_after) => {
                    for slot in slots {
                        let _ = limits.give_back(slot).await;
                    }
                    self.failed(ctx, None, "rate_limited").await;
                    return Err(AdminAuthError::RateLimited { retry_after });
                }
            }
        }
        Ok(Attempt(slots))
    }

    pub(super) async fn release(&self, attempt: Attempt) {
        for slot in attempt.0 {
            if let Err(err) = self.ports.limits.give_back(slot).await {
                tracing::warn!(error = %err, "could not release an admin sign-in slot");
            }
        }
    }

    /// The credentials if the password matches (a dummy hash is checked otherwise, so an
    /// unknown email takes as long as a wrong password).
    async fn password_matches(
        &self,
        creds: Option<AdminCredentials>,
        password: &str,
    ) -> Result<Option<AdminCredentials>, AdminAuthError> {
        let hash = creds.as_ref().and_then(|c| c.password_hash.as_deref());
        match hash {
            Some(hash) if self.ports.passwords.verify(password, hash).await? => Ok(creds),
            Some(_) => Ok(None),
            None => {
                self.ports.passwords.verify_dummy(password).await?;
                Ok(None)
            }
        }
    }

    async fn check_code(
        &self,
        ctx: &RequestCtx,
        creds: &AdminCredentials,
        code: &str,
    ) -> Result<u64, AdminAuthError> {
        let sealed = creds
            .totp_secret
            .as_ref()
            .ok_or(AdminAuthError::EnrollmentInvalid)?;
        let secret = self.ports.secret_box.open(sealed)?;
        let now = u64::try_from(self.ports.clock.now().timestamp()).unwrap_or(0);
        match self.ports.totp.check(&secret, code, now) {
            Some(step) => Ok(step),
            None => {
                self.failed(ctx, Some(&creds.admin), "invalid_code").await;
                Err(AdminAuthError::WrongCode)
            }
        }
    }

    async fn start_enrollment(&self, admin: &AdminUser) -> Result<AdminEnrollment, AdminAuthError> {
        let secret = self.ports.random.bytes32()[..20].to_vec();
        let provisioning =
            self.ports
                .totp
                .provisioning(&secret, TOTP_ISSUER, admin.email.as_str())?;
        let sealed = self.ports.secret_box.seal(&secret)?;
        let (token, hash) = self.ports.token("adm_et_");
        let expires_at = self.ports.clock.now()
            + chrono::Duration::from_std(self.config.enrollment_ttl).map_err(anyhow::Error::new)?;
        if !self
            .ports
            .admins
            .start_enrollment(admin.id, &sealed, &hash, expires_at)
            .await?
        {
            return Err(AdminAuthError::EnrollmentInvalid);
        }
        Ok(AdminEnrollment {
            enrollment_token: token,
            secret: provisioning.secret_base32,
            otpauth_url: provisioning.otpauth_url,
            qr_png_base64: provisioning.qr_png_base64,
        })
    }

    async fn open_session(
        &self,
        ctx: &RequestCtx,
        admin: AdminUser,
    ) -> Result<AdminTokens, AdminAuthError> {
        let now = self.ports.clock.now();
        let expires_at = now
            + chrono::Duration::from_std(self.config.session_ttl).map_err(anyhow::Error::new)?;
        let (access_token, access_hash) = self.ports.token("adm_at_");
        let (refresh_token, refresh_hash) = self.ports.token("adm_rt_");
        let access_expires_at = self.access_expiry(now, expires_at);
        let session = NewAdminSession {
            id: Uuid::new_v4(),
            admin_user_id: admin.id,
            access_hash,
            access_expires_at,
            refresh_hash,
            created_at: now,
            expires_at,
            ip: ctx.ip.map(|ip| ip.to_string()),
            user_agent: ctx.user_agent.clone(),
        };
        self.ports.admins.create_session(&session).await?;
        let event = admin_ctx(ctx, &admin)
            .audit(EventType::AdminSignedIn)
            .target("admin_session", session.id)
            .at(now);
        record_to(self.ports.audit.as_ref(), &event).await;
        Ok(AdminTokens {
            access_token,
            refresh_token,
            expires_in: seconds_until(now, access_expires_at),
            admin,
        })
    }

    fn access_expiry(&self, now: DateTime<Utc>, session_end: DateTime<Utc>) -> DateTime<Utc> {
        let ttl = chrono::Duration::from_std(self.config.access_ttl)
            .unwrap_or_else(|_| chrono::Duration::minutes(15));
        (now + ttl).min(session_end)
    }

    pub(super) async fn failed(&self, ctx: &RequestCtx, admin: Option<&AdminUser>, reason: &str) {
        let ctx = match admin {
            Some(admin) => admin_ctx(ctx, admin),
            None => ctx.clone(),
        };
        let mut draft = ctx
            .audit(EventType::AdminSignInFailed)
            .metadata(json!({ "reason": reason }));
        if let Some(admin) = admin {
            draft = draft.target("admin_user", admin.id);
        }
        record_to(self.ports.audit.as_ref(), &draft.at(self.ports.clock.now())).await;
    }
}

/// Whether `presented` is the account's unexpired setup token.
fn setup_matches(creds: &AdminCredentials, presented: Option<&str>, now: DateTime<Utc>) -> bool {
    match (
        creds.setup,
        presented.map(str::trim).filter(|t| !t.is_empty()),
    ) {
        (Some((hash, expires_at)), Some(token)) => {
            expires_at > now
                && authservice_domain::secret::secrets_equal(&sha256(token.as_bytes()), &hash)
        }
        _ => false,
    }
}

/// The request as the admin user's own (its audit events name the admin as actor).
fn admin_ctx(ctx: &RequestCtx, admin: &AdminUser) -> RequestCtx {
    let mut principal = AdminPrincipal::console();
    principal.kind = authservice_domain::AdminKind::AdminUser;
    principal.actor_id = admin.id.to_string();
    principal.permissions = Vec::new();
    ctx.clone().with_principal(Principal::Admin(principal))
}

fn seconds_until(now: DateTime<Utc>, at: DateTime<Utc>) -> u64 {
    u64::try_from((at - now).num_seconds()).unwrap_or(0)
}
