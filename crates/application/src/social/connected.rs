//! Connected accounts: a signed-in user connects a social provider to their own account (the
//! sign-in proves the account, the provider's sign-in the identity — no address is trusted),
//! lists and disconnects them — never the last way to sign in.

use authservice_domain::social::SocialKind;
use authservice_domain::{ClientId, EventType, UserId};
use serde_json::{Value, json};

use crate::auth::{AuthConfig, AuthenticatedUser};
use crate::context::RequestCtx;
use crate::organizations::SsoSettings;
use crate::ports::{Committed, Ports, Write};
use crate::sso::{SsoError, Started};

pub struct ConnectedAccounts {
    pub(super) ports: Ports,
    settings: SsoSettings,
    config: AuthConfig,
}

impl ConnectedAccounts {
    #[must_use]
    pub fn new(ports: &Ports, settings: &SsoSettings, config: &AuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            settings: settings.clone(),
            config: config.clone(),
        }
    }

    pub(super) fn recent(&self, caller: &AuthenticatedUser) -> Result<(), SsoError> {
        if crate::auth::recently_authenticated(&self.config, &caller.claims, self.ports.clock.now())
        {
            Ok(())
        } else {
            Err(SsoError::ReauthenticationRequired)
        }
    }

    /// The tokens provider `kind` gave at the caller's last sign-in or connection there, for
    /// the app to call the provider's API on the user's behalf — kept only when the provider's
    /// configuration says `store_tokens`.
    ///
    /// # Errors
    /// `ProviderNotFound` (not connected, or no tokens kept), a store failure.
    pub async fn tokens(&self, caller: &AuthenticatedUser, kind: &str) -> Result<Value, SsoError> {
        let user = &caller.user;
        let kind = SocialKind::parse(kind).map_err(|_| SsoError::ProviderNotFound)?;
        // Only while the provider is on and still keeps tokens (turning `store_tokens` off
        // hides the ones kept; the next sign-in forgets them).
        self.ports
            .social_providers
            .get(user.client_id, kind)
            .await?
            .filter(|p| p.enabled && p.store_tokens)
            .ok_or(SsoError::ProviderNotFound)?;
        let sealed = self
            .ports
            .social_providers
            .sealed_tokens(user.client_id, user.id, kind)
            .await?
            .ok_or(SsoError::ProviderNotFound)?;
        let tokens = self
            .ports
            .secret_box
            .open(&crate::ports::SealedSecret(sealed))?;
        let mut tokens: Value = serde_json::from_slice(&tokens)
            .map_err(|e| anyhow::anyhow!("stored provider tokens: {e}"))?;
        tokens["provider"] = json!(kind.as_str());
        Ok(tokens)
    }

    /// The providers the caller's account is connected to.
    ///
    /// # Errors
    /// A store failure.
    pub async fn list(&self, caller: &AuthenticatedUser) -> Result<Vec<Value>, SsoError> {
        let user = &caller.user;
        let identities = self
            .ports
            .social_providers
            .identities_of(user.client_id, user.id)
            .await?;
        Ok(identities
            .into_iter()
            .map(|(kind, at)| json!({ "provider": kind.as_str(), "connected_at": at.to_rfc3339() }))
            .collect())
    }

    /// Begins connecting provider `kind` (a recent sign-in needed): where to send the browser,
    /// and the cookie binding the attempt to it.
    ///
    /// # Errors
    /// `ReauthenticationRequired`, `ProviderNotFound`, `IdpUnavailable`, a store failure.
    pub async fn begin(&self, caller: &AuthenticatedUser, kind: &str) -> Result<Started, SsoError> {
        self.recent(caller)?;
        let user = &caller.user;
        let kind = SocialKind::parse(kind).map_err(|_| SsoError::ProviderNotFound)?;
        let provider = self
            .ports
            .social_providers
            .get(user.client_id, kind)
            .await?
            .filter(|p| p.enabled)
            .ok_or(SsoError::ProviderNotFound)?;
        let stored = json!({
            "client_id": user.client_id.to_string(),
            "link_user": user.id.to_string(),
        });
        super::provider::begin(&self.ports, &self.settings, &provider, stored, None).await
    }

    /// Disconnects provider `kind` (a recent sign-in needed) unless it is the account's only
    /// way to sign in (no password, no passkey, no other provider).
    ///
    /// # Errors
    /// `ReauthenticationRequired`, `ProviderNotFound` (not connected), `LastSignInMethod`, a
    /// store failure.
    pub async fn disconnect(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
        kind: &str,
    ) -> Result<(), SsoError> {
        self.recent(caller)?;
        let user = &caller.user;
        let kind = SocialKind::parse(kind).map_err(|_| SsoError::ProviderNotFound)?;
        let identities = self
            .ports
            .social_providers
            .identities_of(user.client_id, user.id)
            .await?;
        if !identities.iter().any(|(k, _)| *k == kind) {
            return Err(SsoError::ProviderNotFound);
        }
        let has_password = self
            .ports
            .users
            .get(user.client_id, user.id)
            .await?
            .is_some_and(|u| u.password_hash.is_some());
        let has_passkey = !self
            .ports
            .passkeys
            .list(user.client_id, user.id)
            .await?
            .is_empty();
        if !has_password && !has_passkey && identities.len() < 2 {
            return Err(SsoError::LastSignInMethod);
        }
        let mut event = ctx
            .audit(EventType::SocialIdentityUnlinked)
            .client(user.client_id)
            .target("social_provider", kind.as_str())
            .at(self.ports.clock.now());
        event.user_id = Some(user.id.as_uuid());
        let committed = self
            .ports
            .uow
            .commit(vec![
                Write::UnlinkSocialIdentity {
                    client: user.client_id,
                    user: user.id,
                    kind,
                },
                Write::Audit(event),
            ])
            .await?;
        if committed.is_all() {
            Ok(())
        } else {
            Err(SsoError::ProviderNotFound)
        }
    }
}

/// The identity (`kind`, `subject`) joins the account `user` (refused when it belongs to
/// someone else), with the provider's sealed `tokens` when they are kept.
pub(super) async fn link(
    ports: &Ports,
    ctx: &RequestCtx,
    client: ClientId,
    kind: SocialKind,
    subject: &str,
    tokens: Option<Vec<u8>>,
    user: UserId,
) -> Result<(), SsoError> {
    let subject = subject.trim();
    if subject.is_empty() || subject.len() > 255 {
        return Err(SsoError::Failed("profile: no subject".to_owned()));
    }
    let now = ports.clock.now();
    let mut event = ctx
        .audit(EventType::SocialIdentityLinked)
        .client(client)
        .target("social_provider", kind.as_str())
        .at(now);
    event.user_id = Some(user.as_uuid());
    match ports
        .uow
        .commit(vec![
            Write::LinkSocialIdentity {
                client,
                kind,
                subject: subject.to_owned(),
                user,
                at: now,
                tokens,
            },
            Write::Audit(event),
        ])
        .await?
    {
        Committed::All(_) => Ok(()),
        _ => Err(SsoError::AccountConflict),
    }
}
