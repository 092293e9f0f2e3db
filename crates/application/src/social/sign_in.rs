//! The browser's way through a social provider (see the module above for who signs in).

use authservice_domain::sign_in::Proof;
use authservice_domain::social::{SocialKind, SocialProvider};
use authservice_domain::{Client, ClientId, Email, EventType, User};
use serde_json::{Value, json};

use crate::audit::record_quietly;
use crate::context::RequestCtx;
use crate::limits::{Limit, subject};
use crate::organizations::SsoSettings;
use crate::ports::{Committed, Ports, Write};
use crate::sso::attempt;
use crate::sso::{Landed, SsoError, SsoFailure, StartInput, Started};

/// The browser's way through a social provider.
pub struct SocialSignIn {
    ports: Ports,
    settings: SsoSettings,
}

impl SocialSignIn {
    #[must_use]
    pub fn new(ports: &Ports, settings: &SsoSettings) -> Self {
        Self {
            ports: ports.clone(),
            settings: settings.clone(),
        }
    }

    async fn provider(&self, client: ClientId, kind: &str) -> Result<SocialProvider, SsoError> {
        let kind = SocialKind::parse(kind).map_err(|_| SsoError::ProviderNotFound)?;
        self.ports
            .social_providers
            .get(client, kind)
            .await?
            .filter(|p| p.enabled)
            .ok_or(SsoError::ProviderNotFound)
    }

    /// The providers the client offers (enabled), for the hosted pages.
    ///
    /// # Errors
    /// The store failed.
    pub async fn offered(&self, client: ClientId) -> anyhow::Result<Vec<&'static str>> {
        let providers = self.ports.social_providers.list(client).await?;
        Ok(providers
            .iter()
            .filter(|p| p.enabled)
            .map(|p| p.kind.as_str())
            .collect())
    }

    /// Begins a sign-in at provider `kind` for the request's client.
    ///
    /// # Errors
    /// A failure with where to report it (the app's redirect URI once it is validated).
    #[tracing::instrument(name = "social_start", level = "debug", skip_all)]
    pub async fn start(
        &self,
        ctx: &RequestCtx,
        kind: &str,
        input: StartInput,
    ) -> Result<Started, SsoFailure> {
        let client = ctx
            .client
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("social start without a client"))?;
        self.ports
            .limits
            .take(Limit::SsoStart, &subject::ip(ctx))
            .await?
            .map_err(|retry_after| SsoError::RateLimited { retry_after })?;
        let return_to = crate::sso::return_to(&self.settings, client, &input)?;
        let fail = |error: SsoError| SsoFailure {
            error,
            return_to: return_to.clone(),
        };
        if !client.is_active() {
            return Err(fail(SsoError::ClientSuspended));
        }
        let app_challenge = crate::sso::app_challenge(&input).map_err(fail)?;
        let provider = self.provider(client.id, kind).await.map_err(fail)?;
        if return_to.redirect_uri.is_none() && return_to.app_state.is_none() {
            return Err(fail(
                authservice_domain::ValidationError::new(
                    "state",
                    "is required without a redirect_uri",
                )
                .into(),
            ));
        }
        let stored = json!({
            "client_id": client.id.to_string(),
            "redirect_uri": return_to.redirect_uri,
            "app_state": return_to.app_state,
            "code_challenge": app_challenge,
        });
        super::provider::begin(
            &self.ports,
            &self.settings,
            &provider,
            stored,
            input.email.as_deref().map(str::trim),
        )
        .await
        .map_err(fail)
    }

    /// The provider sent the browser back.
    ///
    /// # Errors
    /// A failure with where to report it.
    #[tracing::instrument(name = "social_callback", level = "debug", skip_all)]
    pub async fn callback(
        &self,
        ctx: &RequestCtx,
        kind: &str,
        input: crate::sso::CallbackInput,
    ) -> Result<Landed, SsoFailure> {
        let (stored, return_to) = attempt::take(&self.ports, input.state.as_deref()).await?;
        let field = |name: &str| stored.get(name).and_then(Value::as_str);
        match self.finish(ctx, kind, &input, &stored).await {
            Ok(Some(code)) => Ok(Landed::Redirect(crate::sso::success_location(
                &self.settings,
                &return_to,
                &code,
            ))),
            // A provider connected from the account page: back there.
            Ok(None) => Ok(Landed::Redirect(format!(
                "{}/account.html?connected={kind}",
                self.settings.base_url
            ))),
            Err(error) => {
                let mut event = ctx
                    .audit(EventType::SocialLoginFailed)
                    .metadata(json!({ "provider": kind, "reason": error.code() }));
                if let Some(client) = field("client_id").and_then(|c| ClientId::parse(c).ok()) {
                    event = event.client(client);
                }
                record_quietly(&self.ports, &event.at(self.ports.clock.now())).await;
                Err(SsoFailure { error, return_to })
            }
        }
    }

    async fn finish(
        &self,
        ctx: &RequestCtx,
        kind: &str,
        input: &crate::sso::CallbackInput,
        stored: &Value,
    ) -> Result<Option<String>, SsoError> {
        let field = |name: &str| stored.get(name).and_then(Value::as_str).unwrap_or_default();
        if !attempt::bound(input.binding.as_deref(), stored) || field("social") != kind {
            return Err(SsoError::StateInvalid);
        }
        let client_id = ClientId::parse(field("client_id")).map_err(|_| SsoError::StateInvalid)?;
        let provider = self.provider(client_id, kind).await?;
        if let Some(error) = &input.error {
            let why: String = error.chars().take(64).collect();
            return Err(SsoError::Failed(format!("idp_error:{why}")));
        }
        let assertion =
            super::provider::exchange(&self.ports, &self.settings, &provider, input, stored)
                .await?;
        let client = self
            .ports
            .clients
            .get(client_id)
            .await?
            .ok_or(SsoError::StateInvalid)?;
        if let Some(user) = stored.get("link_user").and_then(Value::as_str) {
            let user =
                authservice_domain::UserId::parse(user).map_err(|_| SsoError::StateInvalid)?;
            let tokens = super::provider::sealed_tokens(&self.ports, &assertion)?;
            super::connected::link(
                &self.ports,
                ctx,
                client.id,
                provider.kind,
                &assertion.subject,
                tokens,
                user,
            )
            .await?;
            return Ok(None);
        }
        let user = self.sign_in_as(ctx, &client, &provider, &assertion).await?;
        let value = json!({
            "client_id": client_id.to_string(),
            "user_id": user.id.to_string(),
            "method": "social",
            "redirect_uri": stored.get("redirect_uri"),
            "code_challenge": stored.get("code_challenge"),
            "page_state": attempt::page_state(stored),
            "auth_time": self.ports.clock.now().timestamp(),
            "amr": attempt::idp_amr(&assertion.claims),
        });
        Ok(Some(
            crate::email::redirect_code::mint_code(&self.ports, &value).await?,
        ))
    }

    /// Who the provider's user is here (see the module's rules).
    async fn sign_in_as(
        &self,
        ctx: &RequestCtx,
        client: &Client,
        provider: &SocialProvider,
        assertion: &crate::ports::IdpAssertion,
    ) -> Result<User, SsoError> {
        let ports = &self.ports;
        let subject = assertion.subject.trim();
        if subject.is_empty() || subject.len() > 255 {
            return Err(SsoError::Failed("profile: no subject".to_owned()));
        }
        let now = ports.clock.now();
        let linked = ports
            .social_providers
            .identity_user(client.id, provider.kind, subject)
            .await?;
        let mut writes = Vec::new();
        let (user, event_type) = if let Some(user_id) = linked {
            let user = ports
                .users
                .get(client.id, user_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("linked user is gone"))?
                .user;
            (user, EventType::SocialLogin)
        } else {
            let email = assertion
                .claims
                .get("email")
                .and_then(Value::as_str)
                .and_then(|e| Email::parse(e).ok())
                .ok_or_else(|| SsoError::Failed("profile: no email".to_owned()))?;
            if assertion
                .claims
                .get("email_verified")
                .and_then(Value::as_bool)
                != Some(true)
            {
                return Err(SsoError::NotProvisioned("email_not_verified_by_idp"));
            }
            if let Some(existing) = ports.users.find_by_email(client.id, &email).await? {
                // Never a takeover by an asserted address: the account's owner signs in their
                // own way first, then the identity joins it — only an account whose address
                // was proven (a pre-registered, unproven one is nobody's yet).
                if !existing.user.email_verified {
                    return Err(SsoError::AccountConflict);
                }
                return Err(
                    super::pending::offer(ports, provider, assertion, &existing.user).await?,
                );
            }
            let name = assertion
                .claims
                .get("name")
                .and_then(Value::as_str)
                .map(|n| n.trim().chars().take(100).collect::<String>())
                .filter(|n| !n.is_empty());
            let mut user = User::new(client.id, email, true, name, now);
            user.last_login_at = Some(now);
            writes.push(Write::CreateUser(user.clone()));
            (user, EventType::SocialUserCreated)
        };
        if let Some(sso) =
            crate::sso::required_for(ports, &self.settings.base_url, client.id, &user.email).await?
        {
            return Err(SsoError::Required(sso));
        }
        crate::auth::gate::admit(ports, client, &user, Proof::CompletedSignIn).await??;
        let link_at = writes.len();
        writes.push(Write::LinkSocialIdentity {
            client: client.id,
            kind: provider.kind,
            subject: subject.to_owned(),
            user: user.id,
            at: now,
            tokens: super::provider::sealed_tokens(ports, assertion)?,
        });
        let mut event = ctx
            .audit(event_type)
            .client(client.id)
            .target("social_provider", provider.kind.as_str())
            .at(now);
        event.user_id = Some(user.id.as_uuid());
        writes.push(Write::Audit(event));
        match ports.uow.commit(writes).await? {
            Committed::All(_) => Ok(user),
            Committed::Duplicate(_) => Err(SsoError::AccountConflict),
            Committed::Refused(i) if i == link_at => Err(SsoError::AccountConflict),
            Committed::Refused(_) => Err(anyhow::anyhow!("the sign-in changed meanwhile").into()),
        }
    }
}
