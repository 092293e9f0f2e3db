//! An existing account meets a provider's identity that asserts its address: nothing is linked
//! then (an asserted address never takes an account over), but the identity is parked for ten
//! minutes under a one-time token. The account's owner signs in their own way — password,
//! passkey, magic link, their second factor as usual — and completes the link with the token
//! (`POST /api/auth/oauth/link/complete`). Only the parked account can complete it, while its
//! address is still the one the provider vouched for.

use std::time::Duration;

use authservice_domain::secret::{hex, sha256};
use authservice_domain::social::{SocialKind, SocialProvider};
use authservice_domain::{ClientId, User, UserId};
use serde_json::{Value, json};

use super::ConnectedAccounts;
use crate::auth::AuthenticatedUser;
use crate::context::RequestCtx;
use crate::ports::{IdpAssertion, Ports};
use crate::sso::SsoError;

/// How long a parked identity waits for its account's sign-in.
pub const PENDING_LINK_TTL: Duration = Duration::from_secs(600);

fn key(token: &str) -> String {
    format!("social_link:{}", hex(&sha256(token.as_bytes())))
}

/// Parks the identity of `assertion` for `user` (whose address the provider vouched for): the
/// error that sends the browser back with the token.
///
/// # Errors
/// A store failure (as the outer error).
pub(super) async fn offer(
    ports: &Ports,
    provider: &SocialProvider,
    assertion: &IdpAssertion,
    user: &User,
) -> Result<SsoError, SsoError> {
    let token = hex(&ports.random.bytes32());
    let binding = hex(&ports.random.bytes32());
    let tokens = super::provider::sealed_tokens(ports, assertion)?.map(|t| hex(&t));
    let parked = json!({
        "client_id": user.client_id.to_string(),
        "user_id": user.id.to_string(),
        "email": user.email.as_str(),
        "provider": provider.kind.as_str(),
        "issuer": provider.idp.issuer,
        "subject": assertion.subject,
        "tokens": tokens,
        "binding": hex(&sha256(binding.as_bytes())),
    });
    ports
        .ephemeral
        .put_value(&key(&token), &parked.to_string(), PENDING_LINK_TTL)
        .await?;
    Ok(SsoError::LinkAfterSignIn {
        link_token: token,
        provider: provider.kind.as_str(),
        binding,
    })
}

impl ConnectedAccounts {
    /// Completes a parked link for the signed-in caller (a recent sign-in), in the browser
    /// whose social sign-in parked it (`binding`: its link cookie): the identity joins their
    /// account (`social.identity_linked`). The token is used once, and only by its account in
    /// that browser — anyone else's attempt leaves it in place.
    ///
    /// # Errors
    /// `ReauthenticationRequired`, `StateInvalid` (unknown, expired, used, another account's
    /// token or browser, or the address or provider changed since), `ProviderNotFound`
    /// (removed or disabled since), `AccountConflict` (the identity joined another account
    /// meanwhile), a store failure.
    pub async fn complete_link(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
        token: &str,
        binding: Option<&str>,
    ) -> Result<SocialKind, SsoError> {
        self.recent(caller)?;
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SsoError::StateInvalid);
        }
        let ports = &self.ports;
        let key = key(token);
        let parked: Value = ports
            .ephemeral
            .get_value(&key)
            .await?
            .and_then(|v| serde_json::from_str(&v).ok())
            .ok_or(SsoError::StateInvalid)?;
        let field = |name: &str| parked.get(name).and_then(Value::as_str).unwrap_or_default();
        let user = &caller.user;
        let theirs = ClientId::parse(field("client_id")).ok() == Some(user.client_id)
            && UserId::parse(field("user_id")).ok() == Some(user.id)
            && field("email") == user.email.as_str()
            && crate::sso::attempt::bound(binding, &parked);
        if !theirs {
            return Err(SsoError::StateInvalid);
        }
        if ports.ephemeral.take(&key).await?.is_none() {
            return Err(SsoError::StateInvalid);
        }
        let kind = SocialKind::parse(field("provider")).map_err(|_| SsoError::StateInvalid)?;
        let provider = ports
            .social_providers
            .get(user.client_id, kind)
            .await?
            .filter(|p| p.enabled)
            .ok_or(SsoError::ProviderNotFound)?;
        // The identity's subject means something only at the provider it was parked from.
        if provider.idp.issuer != field("issuer") {
            return Err(SsoError::StateInvalid);
        }
        let tokens = match parked.get("tokens").and_then(Value::as_str) {
            Some(sealed) if provider.store_tokens => Some(
                authservice_domain::secret::unhex(sealed)
                    .ok_or_else(|| anyhow::anyhow!("parked provider tokens"))?,
            ),
            _ => None,
        };
        super::connected::link(
            ports,
            ctx,
            user.client_id,
            kind,
            field("subject"),
            tokens,
            user.id,
        )
        .await?;
        Ok(kind)
    }
}
