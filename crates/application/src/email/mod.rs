//! Email flows: verification, password reset, magic links and the redirect code exchange, the
//! per-client email settings, and the outbox worker that delivers every message.
//!
//! A flow never talks to a mail server: it stores the one-time token (hashed) and the rendered
//! message (sealed) in one transaction, and wakes the worker. The worker delivers with retries
//! and exponential backoff, so a mail server outage delays mail but loses none.

mod compose;
mod deliver;
mod email_config;
mod errors;
mod magic_link;
pub(crate) mod redirect_code;
mod reset_password;
mod verify_email;

pub use deliver::{DeliverOutbox, Delivery, backoff};
pub use email_config::{
    EmailConfigError, EmailConfigView, ManageEmailConfig, PatchEmailConfig, PutEmailConfig, PutSmtp,
};
pub use magic_link::{
    MagicLinkAnswer, MagicLinkMode, REDIRECT_CODE_TTL, SendMagicLink, VerifyMagicLink,
};
pub use redirect_code::{
    ExchangeRedirectCode, ExchangeRedirectCodeInput, IssueRedirectCode, IssueRedirectCodeInput,
};
pub use reset_password::{ForgotPassword, ResetPassword, ResetPasswordInput};
pub use verify_email::{ResendVerification, VerifyEmail};

use authservice_domain::EventType;
use compose::*;
pub(crate) use compose::{notify, prepare_invitation, prepare_notice, prepare_verification};
pub use errors::{EmailFlowError, LinkTokenError};

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

/// The caps on mail a signed-in user sends to an address they name (an organization
/// invitation): the volume caps every emailed link shares, and the per-address one.
pub(crate) async fn limit_invitation_mail(
    ports: &Ports,
    ctx: &RequestCtx,
    client: &Client,
    email: &Email,
) -> Result<(), EmailFlowError> {
    limit_mail_volume(ports, ctx, client).await?;
    limit_per_email(ports, "invitation", client, email).await
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
    event_type: EventType,
    unknown_event_type: EventType,
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
    // An organization that enforces SSO for the domain: no link is sent (known or not).
    if let Some(sso) =
        crate::sso::required_for(ports, config.base_url.as_str(), client.id, &email).await?
    {
        return Err(EmailFlowError::SsoRequired(sso));
    }
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
        let stand_in = User::new(client.id, email.clone(), false, None, now);
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

/// An operator has a link for `purpose` (a password reset, a verification) sent to `user`: the
/// client's link base, the per-address limit (3 an hour), audited `event_type` with the
/// operator as actor.
///
/// # Errors
/// `RateLimited`, a store or rendering failure.
pub(crate) async fn send_link_for_operator(
    ports: &Ports,
    config: &MailConfig,
    ctx: &RequestCtx,
    client: &Client,
    user: &authservice_domain::User,
    purpose: TokenPurpose,
    event_type: EventType,
) -> Result<(), EmailFlowError> {
    limit_per_email(ports, purpose.as_str(), client, &user.email).await?;
    let settings = compose::load_settings(ports, client).await?;
    let pending = compose::prepare_email(
        ports,
        config,
        ctx,
        client,
        user,
        compose::Outgoing {
            purpose,
            base_url: None,
            settings: &settings,
            event_type,
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
mod tests;
