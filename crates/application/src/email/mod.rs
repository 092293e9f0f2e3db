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

pub use deliver::{DeliverOutbox, DeliveryReport};
pub use email_config::{
    EmailConfigError, EmailConfigView, ManageEmailConfig, PutEmailConfig, PutSmtp,
};
pub use magic_link::{
    ExchangeRedirectCode, MagicLinkAnswer, MagicLinkMode, SendMagicLink, VerifyMagicLink,
};
pub use reset_password::{ForgotPassword, ResetPassword, ResetPasswordInput};
pub use verify_email::{ResendVerification, VerifyEmail};

use std::time::Duration;

use authservice_domain::secret::{hex, sha256};
use authservice_domain::{
    Branding, Client, Email, LinkBase, Locale, TokenPurpose, User, ValidationError,
};
use serde_json::json;
use uuid::Uuid;

use crate::context::RequestCtx;
use crate::error::{ErrorKind, UseCaseError};
use crate::ports::{
    ConsumeOutcome, EmailContent, Mailbox, NewOneTimeToken, OneTimeTokenRecord, OutboundEmail,
    PendingEmail, Ports, QueuedEmail, RateRule,
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
    /// How long a claimed message stays invisible to other workers.
    pub lease: Duration,
    /// Messages claimed per round.
    pub batch: usize,
}

/// 3 per hour: forgot-password and magic links per email, resend-verification per user.
pub const HOURLY_EMAIL_RULE: RateRule = RateRule {
    limit: 3,
    window: Duration::from_secs(3600),
};

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

/// The base URL a caller asked links to use: only an origin the client allows, the client's
/// configured base, or `BASE_URL` — never an arbitrary site (a reset link pointing elsewhere
/// would hand the token to that site).
fn requested_base(
    raw: Option<&str>,
    client: &Client,
    configured: Option<&LinkBase>,
    config: &MailConfig,
) -> Result<Option<LinkBase>, ValidationError> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let base = LinkBase::parse("base_url", raw)?;
    let origin = base.origin();
    let allowed = client.allows_origin(&origin)
        || origin == config.base_url.origin()
        || configured.is_some_and(|c| c.origin() == origin);
    if allowed {
        Ok(Some(base))
    } else {
        Err(ValidationError::new(
            "base_url",
            "must be on one of the client's allowed origins",
        ))
    }
}

/// Which message to prepare.
#[derive(Debug, Clone, Copy)]
struct Outgoing<'a> {
    purpose: TokenPurpose,
    /// The caller's requested link base, if any.
    base_url: Option<&'a str>,
    /// The audit event recording the send.
    event_type: &'a str,
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
        event_type,
    } = what;
    let stored = ports.email_configs.get(client.id).await?;
    let settings = stored.map(|s| s.config).unwrap_or_default();
    let requested = requested_base(base_url, client, settings.base_url.as_ref(), config)?;
    let base = requested
        .as_ref()
        .or(settings.base_url.as_ref())
        .unwrap_or(&config.base_url);
    let token = hex(&ports.random.bytes32());
    let brand = Branding::of(client);
    let locale = Locale::resolve(user.locale.as_deref(), brand.locale.as_deref());
    let content = ports.email_renderer.render(&EmailContent {
        purpose,
        locale,
        link: base.link(purpose, &token),
        brand: brand.clone(),
    })?;
    let outbound = OutboundEmail {
        from: Mailbox {
            name: settings
                .from_name
                .clone()
                .or_else(|| Some(brand.name.clone())),
            email: settings.from_email.as_ref().map_or_else(
                || config.default_from.email.clone(),
                |e| e.as_str().to_owned(),
            ),
        },
        reply_to: settings.reply_to.as_ref().map(|e| e.as_str().to_owned()),
        to: user.email.as_str().to_owned(),
        content,
    };
    let sealed = ports
        .secret_box
        .seal(&serde_json::to_vec(&outbound).map_err(anyhow::Error::from)?)?;
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
    prepare_email(
        ports,
        config,
        ctx,
        client,
        user,
        Outgoing {
            purpose: TokenPurpose::VerifyEmail,
            base_url: None,
            event_type: "verification_email_sent",
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("preparing the verification email: {e}"))
}

/// Counts one request against a per-email hourly limit. The key is a digest, so the limiter
/// never holds addresses; unknown addresses are counted like known ones.
async fn limit_per_email(
    ports: &Ports,
    action: &str,
    client: &Client,
    email: &Email,
) -> Result<(), EmailFlowError> {
    let digest = hex(&sha256(email.as_str().as_bytes())[..16]);
    let key = format!("{action}:{}:{digest}", client.id);
    match ports.rate_limiter.hit(&key, HOURLY_EMAIL_RULE).await? {
        crate::ports::RateDecision::Allowed { .. } => Ok(()),
        crate::ports::RateDecision::Limited { retry_after } => {
            Err(EmailFlowError::RateLimited { retry_after })
        }
    }
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
