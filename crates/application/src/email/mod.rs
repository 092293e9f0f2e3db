//! Email flows: verification, password reset, magic links and the redirect code exchange, the
//! per-client email settings, and the outbox worker that delivers every message.
//!
//! A flow never talks to a mail server: it stores the one-time token (hashed) and the rendered
//! message (sealed) in one transaction, and wakes the worker. The worker delivers with retries
//! and exponential backoff, so a mail server outage delays mail but loses none.

mod deliver;
mod email_config;
mod magic_link;
mod reset_password;
mod verify_email;

pub use deliver::{DeliverOutbox, Delivery, backoff};
pub use email_config::{
    EmailConfigError, EmailConfigView, ManageEmailConfig, PatchEmailConfig, PutEmailConfig, PutSmtp,
};
pub use magic_link::{
    ExchangeRedirectCode, ExchangeRedirectCodeInput, IssueRedirectCode, IssueRedirectCodeInput,
    MagicLinkAnswer, MagicLinkMode, REDIRECT_CODE_TTL, SendMagicLink, VerifyMagicLink,
};
pub use reset_password::{ForgotPassword, ResetPassword, ResetPasswordInput};
pub use verify_email::{ResendVerification, VerifyEmail};

use std::time::Duration;

use authservice_domain::secret::{hex, sha256};
use authservice_domain::{
    Branding, Client, ClientEmailConfig, Email, LinkBase, Locale, TokenPurpose, User,
    ValidationError,
};
use serde_json::json;
use uuid::Uuid;

use crate::context::RequestCtx;
use crate::error::{ErrorKind, UseCaseError};
use crate::limits::{Limit, subject};
use crate::ports::{
    ConsumeOutcome, EmailContent, Mailbox, NewOneTimeToken, OneTimeTokenRecord, OutboundEmail,
    PendingEmail, Ports, QueuedEmail,
};

/// Settings of the email flows and the outbox worker.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `BASE_URL`: the default base of emailed links and where the hosted pages live.
    pub base_url: LinkBase,
    /// `EMAIL_FROM`: the default sender.
    pub default_from: Mailbox,
    /// First retry delay; doubled per attempt up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// Attempts before a message is given up (and audited as failed).
    pub max_attempts: u32,
    /// How long a claimed message stays invisible to other workers (longer than one send
    /// can take: the SMTP timeout covers each step of it).
    pub lease: Duration,
    /// `EMAIL_ALLOW_PRIVATE_SMTP`: let clients name an SMTP server on a loopback, private or
    /// link-local address (off: a client's settings cannot reach the internal network).
    pub allow_private_smtp: bool,
}

/// Why a presented one-time token was refused (each a stable code).
#[derive(Debug, thiserror::Error)]
pub enum LinkTokenError {
    #[error("the token is not valid")]
    Invalid,
    #[error("the token has already been used")]
    Used,
    #[error("the token has expired")]
    Expired,
    #[error("the token was issued for another client")]
    ClientMismatch,
}

impl LinkTokenError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid => ErrorKind::OneTimeTokenInvalid,
            Self::Used => ErrorKind::OneTimeTokenUsed,
            Self::Expired => ErrorKind::OneTimeTokenExpired,
            Self::ClientMismatch => ErrorKind::OneTimeTokenClientMismatch,
        }
    }
}

/// The error of every email flow.
#[derive(Debug, thiserror::Error)]
pub enum EmailFlowError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Token(#[from] LinkTokenError),
    #[error("too many emails requested; try again later")]
    RateLimited { retry_after: Duration },
    #[error("the email address is already verified")]
    AlreadyVerified,
    #[error("the account is disabled")]
    AccountDisabled,
    #[error("the client is suspended")]
    ClientSuspended,
    #[error("email address is not verified")]
    EmailNotVerified,
    #[error("redirect_uri is not one of the client's registered redirect URIs")]
    RedirectUriNotAllowed,
    #[error("redirect_uri differs from the one the code was issued for")]
    RedirectUriMismatch,
    #[error("code_verifier is missing or does not match the code_challenge")]
    CodeVerifierInvalid,
    #[error("the redirect code is not valid (unknown, used or expired)")]
    RedirectCodeInvalid,
    #[error("the redirect code was issued for another client")]
    RedirectCodeClientMismatch,
    #[error("this needs a recent sign-in: re-authenticate first")]
    ReauthenticationRequired,
    #[error("X-API-Key is required")]
    ApiKeyRequired,
    #[error("password does not meet the policy")]
    PasswordPolicy(Vec<authservice_domain::PasswordRule>),
    #[error("server is busy")]
    Busy,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for EmailFlowError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) => ErrorKind::InvalidRequest,
            Self::Token(e) => e.kind(),
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::AlreadyVerified => ErrorKind::EmailAlreadyVerified,
            Self::AccountDisabled => ErrorKind::AccountDisabled,
            Self::ClientSuspended => ErrorKind::ClientSuspended,
            Self::EmailNotVerified => ErrorKind::EmailNotVerified,
            Self::RedirectUriNotAllowed => ErrorKind::RedirectUriNotAllowed,
            Self::RedirectUriMismatch => ErrorKind::RedirectUriMismatch,
            Self::CodeVerifierInvalid => ErrorKind::CodeVerifierInvalid,
            Self::RedirectCodeInvalid => ErrorKind::RedirectCodeInvalid,
            Self::RedirectCodeClientMismatch => ErrorKind::RedirectCodeClientMismatch,
            Self::ReauthenticationRequired => ErrorKind::ReauthenticationRequired,
            Self::ApiKeyRequired => ErrorKind::MissingApiKey,
            Self::PasswordPolicy(_) => ErrorKind::PasswordPolicy,
            Self::Busy => ErrorKind::ServerBusy,
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
            Self::PasswordPolicy(rules) => Some(crate::auth::rules_json(rules)),
            _ => None,
        }
    }
}

impl From<authservice_domain::sign_in::Refusal> for EmailFlowError {
    fn from(refusal: authservice_domain::sign_in::Refusal) -> Self {
        use authservice_domain::sign_in::Refusal;
        match refusal {
            Refusal::ClientSuspended => Self::ClientSuspended,
            Refusal::AccountDisabled => Self::AccountDisabled,
            Refusal::EmailNotVerified => Self::EmailNotVerified,
        }
    }
}

impl From<crate::ports::HashError> for EmailFlowError {
    fn from(err: crate::ports::HashError) -> Self {
        match err {
            crate::ports::HashError::Busy => Self::Busy,
            crate::ports::HashError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

/// A presented token's digest; malformed tokens are refused before any lookup.
fn token_digest(raw: &str) -> Result<[u8; 32], LinkTokenError> {
    let raw = raw.trim();
    if raw.len() != 64 || !raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(LinkTokenError::Invalid);
    }
    Ok(sha256(raw.to_ascii_lowercase().as_bytes()))
}

/// Why a token that exists was refused (used beats expired: a used token stays used).
fn refusal(
    record: &OneTimeTokenRecord,
    client: Option<authservice_domain::ClientId>,
    now: chrono::DateTime<chrono::Utc>,
) -> LinkTokenError {
    if client.is_some_and(|c| c != record.client_id) {
        LinkTokenError::ClientMismatch
    } else if record.consumed_at.is_some() || record.voided_at.is_some() {
        LinkTokenError::Used
    } else if record.expires_at <= now {
        LinkTokenError::Expired
    } else {
        // Live a moment ago, consumed by a concurrent request since.
        LinkTokenError::Used
    }
}

/// The live token of `purpose` hashing to `hash` — unconsumed, not voided, unexpired and, with
/// `client`, of that client — or the refusal that fits. Looking consumes nothing.
async fn live_token(
    ports: &Ports,
    purpose: TokenPurpose,
    hash: &[u8; 32],
    client: Option<authservice_domain::ClientId>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<OneTimeTokenRecord, EmailFlowError> {
    let record = ports
        .one_time_tokens
        .find(purpose, hash)
        .await?
        .ok_or(LinkTokenError::Invalid)?;
    if client.is_some_and(|c| c != record.client_id)
        || record.consumed_at.is_some()
        || record.voided_at.is_some()
        || record.expires_at <= now
    {
        return Err(refusal(&record, client, now).into());
    }
    Ok(record)
}

/// The refusal of a consumption that did not happen.
fn not_consumed(
    outcome: ConsumeOutcome,
    client: Option<authservice_domain::ClientId>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<OneTimeTokenRecord, LinkTokenError> {
    match outcome {
        ConsumeOutcome::Consumed(record) => Ok(record),
        ConsumeOutcome::Refused(record) => Err(refusal(&record, client, now)),
        ConsumeOutcome::Unknown => Err(LinkTokenError::Invalid),
    }
}

/// The base URL a caller asked links to use: a registered link base — the client's configured
/// `base_url` (email-config) or `BASE_URL`, origin and path alike — never an arbitrary site or
/// page (a reset link pointing elsewhere would hand the token to that site, or to any page of
/// the app that leaks URLs). A client without a configured base keeps the older rule as a
/// fallback: any path on one of its allowed origins.
fn checked_base(
    raw: Option<&str>,
    client: &Client,
    configured: Option<&LinkBase>,
    config: &MailConfig,
) -> Result<Option<LinkBase>, ValidationError> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let base = LinkBase::parse("base_url", raw)?;
    let registered = |b: &LinkBase| b.as_str() == base.as_str();
    let allowed = registered(&config.base_url)
        || match configured {
            Some(configured) => registered(configured),
            None => client.allows_origin(&base.origin()),
        };
    if allowed {
        Ok(Some(base))
    } else {
        Err(ValidationError::new(
            "base_url",
            "must be a registered link base: the client's email-config base_url or BASE_URL",
        ))
    }
}

/// Which message to prepare.
#[derive(Debug, Clone, Copy)]
struct Outgoing<'a> {
    purpose: TokenPurpose,
    /// The caller's requested link base, if any (checked by [`checked_base`]).
    base_url: Option<&'a LinkBase>,
    /// The client's email settings.
    settings: &'a ClientEmailConfig,
    /// The audit event recording the send.
    event_type: &'a str,
}

/// The client's email settings (defaults when it has none).
async fn load_settings(ports: &Ports, client: &Client) -> anyhow::Result<ClientEmailConfig> {
    Ok(ports
        .email_configs
        .get(client.id)
        .await?
        .map(|s| s.config)
        .unwrap_or_default())
}

/// Renders the message carrying `token` to `to` (in the user's locale, else the client's) and
/// seals it; returns the locale used too.
#[allow(clippy::too_many_arguments)]
fn render_sealed(
    ports: &Ports,
    config: &MailConfig,
    client: &Client,
    settings: &ClientEmailConfig,
    user_locale: Option<&str>,
    to: &Email,
    purpose: TokenPurpose,
    base: &LinkBase,
    token: &str,
) -> anyhow::Result<(crate::ports::SealedSecret, Locale)> {
    render_message(
        ports,
        config,
        client,
        settings,
        user_locale,
        to,
        authservice_domain::Message::Link(purpose),
        base.link(purpose, token),
    )
}

/// Renders any message for `to` with the client's branding and sender, and seals it.
#[allow(clippy::too_many_arguments)]
fn render_message(
    ports: &Ports,
    config: &MailConfig,
    client: &Client,
    settings: &ClientEmailConfig,
    user_locale: Option<&str>,
    to: &Email,
    message: authservice_domain::Message,
    link: String,
) -> anyhow::Result<(crate::ports::SealedSecret, Locale)> {
    let brand = Branding::of(client);
    let locale = Locale::resolve(user_locale, brand.locale.as_deref());
    let content = ports.email_renderer.render(&EmailContent {
        message,
        locale,
        link,
        brand: brand.clone(),
    })?;
    let outbound = OutboundEmail {
        from: Mailbox {
            name: settings.from_name.clone().or(Some(brand.name)),
            email: settings.from_email.as_ref().map_or_else(
                || config.default_from.email.clone(),
                |e| e.as_str().to_owned(),
            ),
        },
        reply_to: settings.reply_to.as_ref().map(|e| e.as_str().to_owned()),
        to: to.as_str().to_owned(),
        content,
    };
    Ok((
        ports.secret_box.seal(&serde_json::to_vec(&outbound)?)?,
        locale,
    ))
}

/// A security notice for `user` ("a passkey was added to your account"), rendered in their
/// language with the client's branding and sealed, ready to queue in the outbox — in the same
/// transaction as the change it reports.
pub(crate) async fn prepare_notice(
    ports: &Ports,
    config: &MailConfig,
    client: &Client,
    user: &User,
    notice: authservice_domain::Notice,
) -> anyhow::Result<QueuedEmail> {
    let settings = load_settings(ports, client).await?;
    // The app's own pages when it configured a link base, else the hosted pages.
    let link = match &settings.base_url {
        Some(base) => base.as_str().to_owned(),
        None => format!("{}{}", config.base_url.as_str(), notice.link_path()),
    };
    let (sealed, _) = render_message(
        ports,
        config,
        client,
        &settings,
        user.locale.as_deref(),
        &user.email,
        authservice_domain::Message::Notice(notice),
        link,
    )?;
    Ok(QueuedEmail {
        id: uuid::Uuid::now_v7(),
        client_id: client.id,
        user_id: Some(user.id),
        kind: format!("notice_{}", notice.as_str()),
        recipient: user.email.clone(),
        sealed,
        created_at: ports.clock.now(),
    })
}

/// Queues a notice on its own (when no change of state goes with it, e.g. a signup attempt with
/// a registered address).
pub(crate) async fn notify(
    ports: &Ports,
    config: &MailConfig,
    client: &Client,
    user: &User,
    notice: authservice_domain::Notice,
) -> anyhow::Result<()> {
    let email = prepare_notice(ports, config, client, user, notice).await?;
    ports.outbox.enqueue(&email).await?;
    ports.outbox_signal.wake();
    Ok(())
}

/// The base of a link: magic links always point at this server (`BASE_URL`: it must receive
/// the click); verification and reset links at the requested base, else the client's, else
/// `BASE_URL` (where the hosted pages are).
fn link_base<'a>(
    purpose: TokenPurpose,
    requested: Option<&'a LinkBase>,
    settings: &'a ClientEmailConfig,
    config: &'a MailConfig,
) -> &'a LinkBase {
    if purpose == TokenPurpose::MagicLink {
        return &config.base_url;
    }
    requested
        .or(settings.base_url.as_ref())
        .unwrap_or(&config.base_url)
}

/// Builds a token for `purpose` and the message that carries it (rendered and sealed), ready
/// to store in one transaction.
async fn prepare_email(
    ports: &Ports,
    config: &MailConfig,
    ctx: &RequestCtx,
    client: &Client,
    user: &User,
    what: Outgoing<'_>,
) -> Result<PendingEmail, EmailFlowError> {
    let Outgoing {
        purpose,
        base_url,
        settings,
        event_type,
    } = what;
    let base = link_base(purpose, base_url, settings, config);
    let token = hex(&ports.random.bytes32());
    let (sealed, locale) = render_sealed(
        ports,
        config,
        client,
        settings,
        user.locale.as_deref(),
        &user.email,
        purpose,
        base,
        &token,
    )?;
    let now = ports.clock.now();
    let email_id = Uuid::now_v7();
    let mut audit = ctx
        .audit(event_type)
        .client(client.id)
        .target("user", user.id)
        .metadata(json!({
            "email_id": email_id.to_string(),
            "purpose": purpose.as_str(),
            "locale": locale.as_str(),
        }))
        .at(now);
    audit.user_id = Some(user.id.as_uuid());
    Ok(PendingEmail {
        token: NewOneTimeToken {
            id: Uuid::now_v7(),
            client_id: client.id,
            user_id: user.id,
            purpose,
            token_hash: sha256(token.as_bytes()),
            email: user.email.clone(),
            created_at: now,
            expires_at: now
                + chrono::Duration::from_std(purpose.ttl()).map_err(anyhow::Error::from)?,
        },
        email: QueuedEmail {
            id: email_id,
            client_id: client.id,
            user_id: Some(user.id),
            kind: purpose.as_str().to_owned(),
            recipient: user.email.clone(),
            sealed,
            created_at: now,
        },
        audit,
        void_older: purpose == TokenPurpose::ResetPassword,
    })
}

/// The verification message of a new account (stored with the account by signup).
pub(crate) async fn prepare_verification(
    ports: &Ports,
    config: &MailConfig,
    ctx: &RequestCtx,
    client: &Client,
    user: &User,
) -> anyhow::Result<PendingEmail> {
    let settings = load_settings(ports, client).await?;
    prepare_email(
        ports,
        config,
        ctx,
        client,
        user,
        Outgoing {
            purpose: TokenPurpose::VerifyEmail,
            base_url: None,
            settings: &settings,
            event_type: "verification_email_sent",
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("preparing the verification email: {e}"))
}

/// Counts one request against the per-address limit of `action`. The subject is a digest, so
/// the limiter never holds addresses; unknown addresses are counted like known ones.
async fn limit_per_email(
    ports: &Ports,
    action: &str,
    client: &Client,
    email: &Email,
) -> Result<(), EmailFlowError> {
    let subject = subject::email_action(action, client.id, email);
    limit(ports, Limit::EmailAddress, &subject).await
}

/// Whether another unsolicited notice may go to `email` this hour (3 per address, like links);
/// a limiter failure counts as "no".
pub(crate) async fn may_notify(
    ports: &Ports,
    action: &str,
    client: &Client,
    email: &Email,
) -> bool {
    limit_per_email(ports, action, client, email).await.is_ok()
}

/// The caps every emailed-link request shares, whatever the address: per client IP (an IPv6
/// /64 counts as one) and per client, across forgot-password, magic links and
/// resend-verification. Checked before the per-address limit.
async fn limit_mail_volume(
    ports: &Ports,
    ctx: &RequestCtx,
    client: &Client,
) -> Result<(), EmailFlowError> {
    limit(ports, Limit::EmailIp, &subject::ip(ctx)).await?;
    limit(ports, Limit::EmailClient, &client.id.to_string()).await
}

async fn limit(ports: &Ports, limit: Limit, subject: &str) -> Result<(), EmailFlowError> {
    ports
        .limits
        .take(limit, subject)
        .await?
        .map(drop)
        .map_err(|retry_after| EmailFlowError::RateLimited { retry_after })
}

/// Which emailed link a caller asked for (forgot-password, magic link).
struct LinkRequest<'a> {
    purpose: TokenPurpose,
    email: &'a str,
    base_url: Option<&'a str>,
    /// Rate-limit key prefix (3 per hour per address).
    limit: &'a str,
    /// Audit event of a send; the same with `account: "none"` for unknown addresses.
    event_type: &'a str,
    unknown_event_type: &'a str,
}

/// Queues the link when the address has an active account. Unknown and disabled addresses get
/// the same answer after the same checks (limit, `base_url`), the same rendering work and one
/// audit write, so neither the answer nor its timing says whether the account exists.
async fn request_link(
    ports: &Ports,
    config: &MailConfig,
    ctx: &RequestCtx,
    request: LinkRequest<'_>,
) -> Result<(), EmailFlowError> {
    let client = crate::auth::require_client(ctx)?;
    let email = Email::parse(request.email)?;
    // A refused base_url is a caller's mistake, not a sent link: checked before the limit.
    let settings = load_settings(ports, client).await?;
    let base = checked_base(request.base_url, client, settings.base_url.as_ref(), config)?;
    limit_mail_volume(ports, ctx, client).await?;
    limit_per_email(ports, request.limit, client, &email).await?;
    let user = ports
        .users
        .find_by_email(client.id, &email)
        .await?
        .map(|f| f.user)
        .filter(|u| u.status == authservice_domain::UserStatus::Active);
    let Some(user) = user else {
        // The same preparation (token, rendering, sealing) and the same database statements
        // as for a real account, undone: only the audit event stays.
        let now = ports.clock.now();
        let stand_in = User {
            id: authservice_domain::UserId::from_uuid(Uuid::new_v4()),
            client_id: client.id,
            email: email.clone(),
            email_verified: false,
            display_name: None,
            timezone: None,
            locale: None,
            role: "user".to_owned(),
            status: authservice_domain::UserStatus::Active,
            totp_enabled: false,
            last_login_at: None,
            created_at: now,
            updated_at: now,
        };
        let mut decoy = prepare_email(
            ports,
            config,
            ctx,
            client,
            &stand_in,
            Outgoing {
                purpose: request.purpose,
                base_url: base.as_ref(),
                settings: &settings,
                event_type: request.unknown_event_type,
            },
        )
        .await?;
        decoy.audit = ctx
            .audit(request.unknown_event_type)
            .client(client.id)
            .metadata(json!({ "account": "none" }))
            .at(now);
        ports.one_time_tokens.issue_decoy(&decoy).await?;
        return Ok(());
    };
    let pending = prepare_email(
        ports,
        config,
        ctx,
        client,
        &user,
        Outgoing {
            purpose: request.purpose,
            base_url: base.as_ref(),
            settings: &settings,
            event_type: request.event_type,
        },
    )
    .await?;
    enqueue(ports, &pending).await?;
    Ok(())
}

/// Stores a prepared message and wakes the worker.
async fn enqueue(ports: &Ports, pending: &PendingEmail) -> anyhow::Result<()> {
    ports.one_time_tokens.issue(pending).await?;
    ports.outbox_signal.wake();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_digests_refuse_malformed_tokens() {
        assert!(token_digest("abc").is_err());
        assert!(token_digest(&"g".repeat(64)).is_err());
        let upper = "AB".repeat(32);
        assert_eq!(
            token_digest(&upper).unwrap(),
            token_digest(&upper.to_lowercase()).unwrap()
        );
    }
}
