//! Magic links: `magic-link/send` (API key; the same answer for unknown addresses, 3 per hour
//! per address); `GET magic-link/verify?token=` (public) only shows a confirmation page
//! (`inspect`, nothing consumed, so link scanners cannot burn the link and a link opened
//! elsewhere asks first); `POST magic-link/verify` consumes it, answering with tokens (JSON) or
//! with a one-time `auth_code` for a browser redirect; and `redirect/exchange {code}` (single
//! use, 2 minutes) turns that code into tokens — so tokens never travel in a URL.

use authservice_domain::EventType;
use std::time::Duration;

use authservice_domain::secret::{hex, sha256};
use authservice_domain::sign_in::{self, Admission, Proof, SecondFactors};
use authservice_domain::{ClientId, TokenPurpose, UserId};
use serde_json::json;

use super::{
    EmailFlowError, LinkRequest, LinkTokenError, MailConfig, not_consumed, request_link,
    token_digest,
};

use crate::auth::{AuthConfig, IssuedTokens, login_event, prepare_session};
use crate::context::RequestCtx;
use crate::ports::Ports;

/// How long a redirect `auth_code` can be exchanged.
pub const REDIRECT_CODE_TTL: Duration = Duration::from_secs(120);

pub(super) fn redirect_key(code_hash: &[u8; 32]) -> String {
    format!("auth_redirect:{}", hex(code_hash))
}

pub struct SendMagicLink {
    ports: Ports,
    config: MailConfig,
}

impl SendMagicLink {
    #[must_use]
    pub fn new(ports: &Ports, config: &MailConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
        }
    }

    /// Queues a sign-in link when the address has an active account; the same answer
    /// otherwise (see `request_link`).
    #[tracing::instrument(name = "send_magic_link", level = "debug", skip_all)]
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
                purpose: TokenPurpose::MagicLink,
                email,
                base_url,
                limit: "magic_link",
                event_type: EventType::MagicLinkSent,
                unknown_event_type: EventType::MagicLinkRequested,
            },
        )
        .await
    }
}

/// How the verify answer is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MagicLinkMode {
    /// Tokens in the answer (`Accept: application/json`, gRPC).
    Tokens,
    /// A one-time code for `redirect/exchange` (browser redirect).
    Redirect,
}

pub enum MagicLinkAnswer {
    Tokens(Box<IssuedTokens>),
    /// The user has a second factor: the link was the first; a challenge follows.
    SecondFactor(crate::mfa::TwoFactorChallenge),
    RedirectCode(String),
}

impl std::fmt::Debug for MagicLinkAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tokens(tokens) => f.debug_tuple("Tokens").field(tokens).finish(),
            Self::SecondFactor(challenge) => {
                f.debug_tuple("SecondFactor").field(challenge).finish()
            }
            Self::RedirectCode(_) => f.write_str("RedirectCode([redacted])"),
        }
    }
}

pub struct VerifyMagicLink {
    ports: Ports,
    config: AuthConfig,
}

impl VerifyMagicLink {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
        }
    }

    /// Looks at a link without consuming it (what the confirmation page shows): the address
    /// it signs in, if it would still work. A GET of the link — a mail scanner's, a preview's —
    /// spends nothing; only `execute` (a POST) does.
    pub async fn inspect(
        &self,
        token: &str,
        client: Option<ClientId>,
    ) -> Result<String, EmailFlowError> {
        let hash = token_digest(token)?;
        let now = self.ports.clock.now();
        let record =
            super::live_token(&self.ports, TokenPurpose::MagicLink, &hash, client, now).await?;
        Ok(record.email)
    }

    /// Consumes the token. With `client` (the request carried an API key) a token of another
    /// client is refused and stays unconsumed.
    #[tracing::instrument(name = "verify_magic_link", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        token: &str,
        client: Option<ClientId>,
        mode: MagicLinkMode,
    ) -> Result<MagicLinkAnswer, EmailFlowError> {
        let hash = token_digest(token)?;
        let now = self.ports.clock.now();
        let record =
            super::live_token(&self.ports, TokenPurpose::MagicLink, &hash, client, now).await?;
        let (owner, mut user) = load_login(&self.ports, record.client_id, record.user_id).await?;
        // A link sent before the organization began enforcing SSO signs nobody in after it
        // (it stays unconsumed).
        if let Some(sso) =
            crate::sso::required_for(&self.ports, &self.config.issuer, owner.id, &user.email)
                .await?
        {
            return Err(EmailFlowError::SsoRequired(sso));
        }
        let audit = ctx
            .audit(EventType::MagicLinkLogin)
            .metadata(json!({ "mode": match mode {
                MagicLinkMode::Tokens => "tokens",
                MagicLinkMode::Redirect => "redirect",
            } }))
            .at(now);
        let admission = match mode {
            MagicLinkMode::Tokens => {
                crate::auth::gate::admit(&self.ports, &owner, &user, Proof::MagicLink).await??
            }
            // The second factor is asked when the page exchanges the code.
            MagicLinkMode::Redirect => {
                sign_in::admit(&owner, &user, Proof::MagicLink, SecondFactors::default())?
            }
        };
        match (mode, admission) {
            (MagicLinkMode::Tokens, Admission::SecondFactor(methods)) => {
                let outcome = self
                    .ports
                    .one_time_tokens
                    .consume_magic_link(&hash, Some(record.client_id), now, &audit, None)
                    .await?;
                not_consumed(outcome, client, now)?;
                let challenge = crate::mfa::start_challenge(
                    &self.ports,
                    ctx,
                    &owner,
                    &user,
                    crate::mfa::FirstFactor::MagicLink,
                    methods,
                )
                .await?;
                Ok(MagicLinkAnswer::SecondFactor(challenge))
            }
            (MagicLinkMode::Tokens, Admission::Session) => {
                if user.email.as_str() == record.email {
                    user.email_verified = true;
                }
                user.last_login_at = Some(now);
                let prepared = prepare_session(
                    &self.ports,
                    &self.config,
                    ctx,
                    &owner,
                    user,
                    &[authservice_domain::sign_in::AuthMethod::MagicLink],
                )
                .await?;
                let mut login = login_event(&self.ports, ctx, &prepared);
                login.metadata["method"] = json!("magic_link");
                let outcome = self
                    .ports
                    .one_time_tokens
                    .consume_magic_link(
                        &hash,
                        Some(record.client_id),
                        now,
                        &audit,
                        Some((&prepared.session, &login)),
                    )
                    .await?;
                not_consumed(outcome, client, now)?;
                Ok(MagicLinkAnswer::Tokens(Box::new(prepared.tokens)))
            }
            (MagicLinkMode::Redirect, _) => {
                // The code is stored before the token is consumed, and only handed out after:
                // a code whose consumption failed is never seen by anyone and just expires.
                let code = hex(&self.ports.random.bytes32());
                let value = json!({
                    "client_id": owner.id.to_string(),
                    "user_id": user.id.to_string(),
                    "method": "magic_link",
                })
                .to_string();
                self.ports
                    .ephemeral
                    .put_value(
                        &redirect_key(&sha256(code.as_bytes())),
                        &value,
                        REDIRECT_CODE_TTL,
                    )
                    .await?;
                let outcome = self
                    .ports
                    .one_time_tokens
                    .consume_magic_link(&hash, Some(record.client_id), now, &audit, None)
                    .await?;
                not_consumed(outcome, client, now)?;
                Ok(MagicLinkAnswer::RedirectCode(code))
            }
        }
    }
}

/// The client and user a login is for (the caller applies the sign-in gate).
pub(super) async fn load_login(
    ports: &Ports,
    client_id: ClientId,
    user_id: UserId,
) -> Result<(authservice_domain::Client, authservice_domain::User), EmailFlowError> {
    let client = ports
        .clients
        .get(client_id)
        .await?
        .ok_or(LinkTokenError::Invalid)?;
    let user = ports
        .users
        .get(client_id, user_id)
        .await?
        .ok_or(LinkTokenError::Invalid)?
        .user;
    Ok((client, user))
}
