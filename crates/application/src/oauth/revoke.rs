//! Token revocation (RFC 7009): an app or service account revokes an access token it was
//! issued (`azp`); the `jti` is deny-listed until the token's expiry, so validation,
//! introspection and the app routes refuse it at once. Unknown, malformed or expired tokens are
//! answered like successes (the spec's 200), a token issued to someone else is refused.

use std::sync::Arc;

use authservice_domain::{Client, EventType};
use serde_json::json;

use super::{OAuthCaller, OAuthError};
use crate::context::RequestCtx;
use crate::ports::{AccessTokens, AuditLog, Clock, EphemeralStore, Ports, TokenError};

pub struct RevokeToken {
    tokens: Arc<dyn AccessTokens>,
    ephemeral: Arc<dyn EphemeralStore>,
    audit: Arc<dyn AuditLog>,
    clock: Arc<dyn Clock>,
}

impl RevokeToken {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            tokens: ports.tokens.clone(),
            ephemeral: ports.ephemeral.clone(),
            audit: ports.audit.clone(),
            clock: ports.clock.clone(),
        }
    }

    /// Revokes `token` for `caller` of `client`. `token_type_hint` may be `access_token` or
    /// `refresh_token` (refresh tokens come from the authorization-code grant; this service
    /// issues none to machines, so an unknown one is a no-op like any unknown token).
    ///
    /// # Errors
    /// `UnsupportedTokenType` for another hint, `UnauthorizedClient` for a token issued to
    /// another caller, `Unexpected` when a store fails.
    #[tracing::instrument(name = "oauth_revoke", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        client: &Client,
        caller: &OAuthCaller,
        token: &str,
        token_type_hint: Option<&str>,
    ) -> Result<(), OAuthError> {
        if let Some(hint) = token_type_hint.filter(|h| !h.is_empty())
            && hint != "access_token"
            && hint != "refresh_token"
        {
            return Err(OAuthError::UnsupportedTokenType(format!(
                "token_type_hint '{}' is not supported",
                hint.chars().take(40).collect::<String>()
            )));
        }
        let claims = match self.tokens.verify(client, token.trim()).await {
            Ok(claims) => claims,
            Err(TokenError::Unexpected(e)) => return Err(e.into()),
            // Invalid, expired or another tenant's token: nothing to revoke (RFC 7009 §2.2).
            Err(_) => return Ok(()),
        };
        let issued_to = claims.grant.as_ref().map(|g| g.azp.as_str());
        if issued_to != Some(caller.public_id().as_str()) {
            return Err(OAuthError::UnauthorizedClient(
                "the token was not issued to this client".into(),
            ));
        }
        let now = self.clock.now();
        let remaining = u64::try_from(claims.exp - now.timestamp()).unwrap_or(0);
        if remaining > 0 {
            crate::tokens::deny_list(self.ephemeral.as_ref(), &claims.jti, remaining).await?;
        }
        let event = ctx
            .audit(EventType::OAuthTokenRevoked)
            .client(client.id)
            .by_oauth_client(&caller.public_id())
            .target("access_token", &claims.jti)
            .metadata(json!({ "azp": caller.public_id(), "exp": claims.exp }))
            .at(now);
        self.audit.record(&event).await?;
        Ok(())
    }
}
