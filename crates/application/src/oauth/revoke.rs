//! Token revocation (RFC 7009): an app or service account revokes an access token it was
//! issued (`azp`); the `jti` is deny-listed until the token's expiry, so validation,
//! introspection and the app routes refuse it at once. Unknown, malformed or expired tokens are
//! answered like successes (the spec's 200), a token issued to someone else is refused.

use std::sync::Arc;

use authservice_domain::{Client, EventType};
use serde_json::json;

use super::{OAuthCaller, OAuthError};
use crate::context::RequestCtx;
use crate::ports::{
    AccessTokens, AuditLog, Clock, EphemeralStore, Ports, SessionRepository, TokenError,
};

pub struct RevokeToken {
    sessions: Arc<dyn SessionRepository>,
    access_ttl: std::time::Duration,
    ports: Ports,
    tokens: Arc<dyn AccessTokens>,
    ephemeral: Arc<dyn EphemeralStore>,
    audit: Arc<dyn AuditLog>,
    clock: Arc<dyn Clock>,
}

impl RevokeToken {
    #[must_use]
    pub fn new(ports: &Ports, access_ttl: std::time::Duration) -> Self {
        Self {
            sessions: ports.sessions.clone(),
            access_ttl,
            ports: ports.clone(),
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
        if self
            .revoke_refresh_token(ctx, client, caller, token.trim())
            .await?
        {
            return Ok(());
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

    /// Revokes the session of `token` if it is a refresh token of the tenant (RFC 7009 §2.1:
    /// with the access tokens of the same grant, which stop at the session check). Returns
    /// whether it was one.
    async fn revoke_refresh_token(
        &self,
        ctx: &RequestCtx,
        client: &Client,
        caller: &OAuthCaller,
        token: &str,
    ) -> Result<bool, OAuthError> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(false);
        }
        let hash = authservice_domain::secret::sha256(token.as_bytes());
        let Some(found) = self.sessions.find_token(client.id, &hash).await? else {
            return Ok(false);
        };
        let OAuthCaller::App(app) = caller else {
            return Err(OAuthError::UnauthorizedClient(
                "the token was not issued to this client".into(),
            ));
        };
        if found.grant.as_ref().map(|g| g.app_id) != Some(app.id) {
            return Err(OAuthError::UnauthorizedClient(
                "the token was not issued to this client".into(),
            ));
        }
        let now = self.clock.now();
        if !found.revoked {
            self.sessions
                .revoke_family(
                    client.id,
                    found.user_id,
                    found.family_id,
                    "oauth_revoke",
                    now,
                )
                .await?;
            crate::tokens::note_session_end(&self.ports, self.access_ttl, client.id, found.user_id)
                .await?;
        }
        let mut event = ctx
            .audit(EventType::OAuthTokenRevoked)
            .client(client.id)
            .by_oauth_client(&caller.public_id())
            .target("session", found.family_id)
            .metadata(json!({ "azp": caller.public_id(), "token_type": "refresh_token" }))
            .at(now);
        event.user_id = Some(found.user_id.as_uuid());
        self.audit.record(&event).await?;
        Ok(true)
    }
}
