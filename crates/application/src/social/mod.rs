//! Social sign-in (Google, or any OpenID Connect provider), configured per client by
//! operators. The browser's way is SSO's — an attempt bound to the browser by a cookie, code +
//! PKCE + nonce, a one-time `auth_code` back to the app — with social rules for who signs in:
//! the identity (provider, `sub`) once linked; else a new user, but only for an address the
//! provider says it verified and that no account has yet. An existing account is never taken
//! over by a provider asserting its address (linking needs the account's own sign-in first).

use authservice_domain::social::{SocialKind, SocialProvider};
use authservice_domain::{ClientId, EventType, Permission};
use serde_json::{Value, json};

use crate::context::RequestCtx;
use crate::organizations::{OrgError, SsoSettings};
use crate::ports::{Ports, Write};

mod connected;
mod pending;
mod provider;
mod sign_in;

pub use connected::ConnectedAccounts;

pub use sign_in::SocialSignIn;

/// Where the provider sends the browser back for `kind`.
#[must_use]
pub fn callback_url(settings: &SsoSettings, kind: SocialKind) -> String {
    format!(
        "{}/api/auth/oauth/{}/callback",
        settings.base_url,
        kind.as_str()
    )
}

/// A provider as operators see it (never the secret).
#[must_use]
pub fn provider_json(settings: &SsoSettings, p: &SocialProvider) -> Value {
    let mut answer = p.config();
    answer["provider"] = json!(p.kind.as_str());
    answer["enabled"] = json!(p.enabled);
    answer["client_secret_set"] = json!(true);
    answer["redirect_uri"] = json!(callback_url(settings, p.kind));
    answer
}

/// Operators configure a client's providers (`clients:update`; `users:read` to list).
pub struct ManageSocialProviders {
    ports: Ports,
    settings: SsoSettings,
}

impl ManageSocialProviders {
    #[must_use]
    pub fn new(ports: &Ports, settings: &SsoSettings) -> Self {
        Self {
            ports: ports.clone(),
            settings: settings.clone(),
        }
    }

    #[must_use]
    pub fn settings(&self) -> &SsoSettings {
        &self.settings
    }

    async fn client(
        &self,
        ctx: &RequestCtx,
        permission: Permission,
        raw: &str,
    ) -> Result<ClientId, OrgError> {
        ctx.require(permission).map_err(|_| OrgError::Forbidden)?;
        let client = ClientId::parse(raw)?;
        ctx.require_for_client(permission, client)
            .map_err(|_| OrgError::Forbidden)?;
        self.ports
            .clients
            .get(client)
            .await?
            .ok_or(OrgError::ClientNotFound)?;
        Ok(client)
    }

    /// Sets provider `kind` of client `client`: `{client_id, client_secret, scopes?, issuer?,
    /// authorization_endpoint?, token_endpoint?, userinfo_endpoint?, team_id?, key_id?,
    /// store_tokens?, enabled?}` ([`SocialProvider::settings`]; the secret may be left out to
    /// keep the sealed one, unless the issuer, client id or Apple key change).
    ///
    /// # Errors
    /// `Invalid`, `Forbidden`, `ClientNotFound`, a store failure.
    pub async fn put(
        &self,
        ctx: &RequestCtx,
        client: &str,
        kind: &str,
        body: &Value,
    ) -> Result<Value, OrgError> {
        let client = self.client(ctx, Permission::ClientsUpdate, client).await?;
        let kind = SocialKind::parse(kind)?;
        let settings = SocialProvider::settings(kind, body, self.settings.allow_insecure_idp_urls)?;
        let existing = self.ports.social_providers.get(client, kind).await?;
        let changed = existing
            .as_ref()
            .is_some_and(|e| !e.same_credentials(&settings));
        let sealed = match body.get("client_secret") {
            Some(Value::String(secret)) if (1..=4096).contains(&secret.len()) => {
                if kind == SocialKind::Apple && !secret.contains("-----BEGIN PRIVATE KEY-----") {
                    return Err(authservice_domain::ValidationError::new(
                        "client_secret",
                        "is the PEM of the key Apple gave (the .p8 file) for apple",
                    )
                    .into());
                }
                self.ports.secret_box.seal(secret.as_bytes())?.0
            }
            None | Some(Value::Null) => existing
                .as_ref()
                .filter(|_| !changed)
                .map(|e| e.sealed_secret.clone())
                .ok_or_else(|| {
                    authservice_domain::ValidationError::new(
                        "client_secret",
                        "is required (for a new provider, issuer or client id)",
                    )
                })?,
            Some(_) => {
                return Err(authservice_domain::ValidationError::new(
                    "client_secret",
                    "1 to 4,096 characters",
                )
                .into());
            }
        };
        let now = self.ports.clock.now();
        let provider = SocialProvider {
            client_id: client,
            kind,
            enabled: body.get("enabled").and_then(Value::as_bool).unwrap_or(true),
            idp: settings.idp,
            endpoints: settings.endpoints,
            apple: settings.apple,
            store_tokens: settings.store_tokens,
            sealed_secret: sealed,
            created_at: existing.as_ref().map_or(now, |e| e.created_at),
            updated_at: now,
        };
        let mut event = ctx
            .audit(EventType::SocialProviderUpdated)
            .client(client)
            .target("social_provider", kind.as_str())
            .after(provider_json(&self.settings, &provider));
        if let Some(before) = &existing {
            event = event.before(provider_json(&self.settings, before));
        }
        // Another provider (issuer, client id, endpoints, Apple key) has other subjects: its
        // identities go with the old configuration.
        let mut writes = Vec::new();
        if changed {
            writes.push(Write::DeleteSocialProvider { client, kind });
        }
        writes.push(Write::PutSocialProvider(provider.clone()));
        writes.push(Write::Audit(event.at(now)));
        self.ports.uow.commit(writes).await?;
        Ok(provider_json(&self.settings, &provider))
    }

    /// The client's providers.
    ///
    /// # Errors
    /// `Forbidden`, `ClientNotFound`, a store failure.
    pub async fn list(&self, ctx: &RequestCtx, client: &str) -> Result<Vec<Value>, OrgError> {
        let client = self.client(ctx, Permission::UsersRead, client).await?;
        let providers = self.ports.social_providers.list(client).await?;
        Ok(providers
            .iter()
            .map(|p| provider_json(&self.settings, p))
            .collect())
    }

    /// Removes provider `kind` with the identities it linked (their users stay).
    ///
    /// # Errors
    /// `Forbidden`, `ClientNotFound`, `ProviderNotFound`, a store failure.
    pub async fn delete(&self, ctx: &RequestCtx, client: &str, kind: &str) -> Result<(), OrgError> {
        let client = self.client(ctx, Permission::ClientsUpdate, client).await?;
        let kind = SocialKind::parse(kind).map_err(|_| OrgError::ProviderNotFound)?;
        let event = ctx
            .audit(EventType::SocialProviderDeleted)
            .client(client)
            .target("social_provider", kind.as_str())
            .at(self.ports.clock.now());
        let committed = self
            .ports
            .uow
            .commit(vec![
                Write::DeleteSocialProvider { client, kind },
                Write::Audit(event),
            ])
            .await?;
        if committed.is_all() {
            Ok(())
        } else {
            Err(OrgError::ProviderNotFound)
        }
    }
}
