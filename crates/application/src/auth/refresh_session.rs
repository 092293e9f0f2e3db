//! Rotate a refresh token: the presented token is consumed and a new one issued in the same
//! family, atomically (the store's one conditional update). The rules are here: presenting an
//! already-consumed token is a reuse and revokes the family; a revoked, expired or too old
//! session is over; and the sign-in gate applies to every refresh (a disabled user or, where
//! the client requires it, an unverified address gets no new token — and the presented one is
//! left unspent).

use authservice_domain::EventType;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use uuid::Uuid;

use super::{
    AuthConfig, IssuedTokens, SessionLimits, SessionStamp, new_refresh_token, require_client,
    sign_access_token_for,
};
use crate::audit::record_quietly;
use crate::context::RequestCtx;
use crate::error::{ErrorKind, UseCaseError};
use authservice_domain::sign_in::{self, Proof, Refusal, SecondFactors};

use crate::ports::{NewSession, Ports, PresentedToken};

#[derive(Debug)]
pub struct RefreshSessionInput {
    pub refresh_token: Option<SecretString>,
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshSessionError {
    #[error("refresh token is missing, expired or revoked")]
    Invalid,
    #[error("refresh token was already used; the session has been revoked")]
    Reused,
    #[error("refresh token belongs to another client")]
    ClientMismatch,
    #[error("email address is not verified")]
    EmailNotVerified,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for RefreshSessionError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid => ErrorKind::InvalidRefreshToken,
            Self::Reused => ErrorKind::RefreshTokenReused,
            Self::ClientMismatch => ErrorKind::TokenClientMismatch,
            Self::EmailNotVerified => ErrorKind::EmailNotVerified,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}

pub struct RefreshSession {
    ports: Ports,
    config: AuthConfig,
}

impl RefreshSession {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
        }
    }

    /// The presented token if it is live; a consumed one is a reuse (the family is revoked);
    /// one of another client is named as such.
    async fn live_token(
        &self,
        ctx: &RequestCtx,
        client: &authservice_domain::Client,
        presented: &[u8; 32],
        app: Option<Uuid>,
    ) -> Result<PresentedToken, RefreshSessionError> {
        let now = self.ports.clock.now();
        let Some(token) = self.ports.sessions.find_token(client.id, presented).await? else {
            let owner = self.ports.sessions.client_of_token(presented).await?;
            return Err(match owner {
                Some(owner) if owner != client.id => RefreshSessionError::ClientMismatch,
                _ => RefreshSessionError::Invalid,
            });
        };
        // An OIDC app's refresh token works only at its token endpoint, for that app; the
        // service's own tokens never there.
        if token.grant.as_ref().map(|g| g.app_id) != app {
            return Err(RefreshSessionError::Invalid);
        }
        // Consumed rows are never marked revoked (revocation ends the live ones), so a consumed
        // token is always a reuse.
        if token.consumed {
            self.ports
                .sessions
                .revoke_family(
                    client.id,
                    token.user_id,
                    token.family_id,
                    "refresh_token_reuse",
                    now,
                )
                .await?;
            let mut event = ctx
                .audit(EventType::TokenRefreshReuse)
                .client(client.id)
                .target("session", token.family_id)
                .metadata(json!({ "action": "family_revoked" }))
                .at(now);
            event.user_id = Some(token.user_id.as_uuid());
            record_quietly(&self.ports, &event).await;
            crate::tokens::note_session_end(
                &self.ports,
                self.config.access_ttl,
                client.id,
                token.user_id,
            )
            .await?;
            return Err(RefreshSessionError::Reused);
        }
        if token.consumed || token.revoked || token.expires_at <= now {
            return Err(RefreshSessionError::Invalid);
        }
        Ok(token)
    }

    #[tracing::instrument(name = "refresh_session", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        input: RefreshSessionInput,
    ) -> Result<IssuedTokens, RefreshSessionError> {
        let client = require_client(ctx)?;
        let presented = input
            .refresh_token
            .as_ref()
            .map(|t| t.expose_secret().trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or(RefreshSessionError::Invalid)?;
        self.rotate_with(ctx, client, &presented, None, &mut Vec::new())
            .await
    }

    /// The `refresh_token` grant of an OIDC app at its tenant's issuer: the token must belong
    /// to a session granted to `app`; the new access token carries the granted scopes.
    /// Returns the tokens and the scopes granted.
    ///
    /// # Errors
    /// As [`Self::execute`]; a token of another app, or of the service's own sessions, is
    /// `Invalid`.
    #[tracing::instrument(name = "refresh_app_session", level = "debug", skip_all)]
    pub async fn execute_for_app(
        &self,
        ctx: &RequestCtx,
        client: &authservice_domain::Client,
        app: &authservice_domain::oidc_app::OidcApp,
        issuer: &str,
        presented: &str,
    ) -> Result<(IssuedTokens, Vec<String>), RefreshSessionError> {
        let stamp = super::AppStamp {
            issuer: issuer.to_owned(),
            azp: app.public_id.clone(),
            scopes: Vec::new(),
        };
        let mut scopes = Vec::new();
        let tokens = self
            .rotate_with(
                ctx,
                client,
                presented.trim(),
                Some((app.id, &stamp)),
                &mut scopes,
            )
            .await?;
        Ok((tokens, scopes))
    }

    async fn rotate_with(
        &self,
        ctx: &RequestCtx,
        client: &authservice_domain::Client,
        presented: &str,
        app: Option<(Uuid, &super::AppStamp)>,
        granted: &mut Vec<String>,
    ) -> Result<IssuedTokens, RefreshSessionError> {
        if presented.is_empty() {
            return Err(RefreshSessionError::Invalid);
        }
        let app_id = app.map(|(id, _)| id);
        let presented_hash = authservice_domain::secret::sha256(presented.as_bytes());
        let now = self.ports.clock.now();
        let limits = SessionLimits::of(&self.config, client)?;
        let token = self
            .live_token(ctx, client, &presented_hash, app_id)
            .await?;
        if token.started_at <= now - limits.max_lifetime {
            // The hard end: a session older than its lifetime is over, whatever the refreshes.
            return Err(RefreshSessionError::Invalid);
        }
        let user = self
            .ports
            .users
            .get(client.id, token.user_id)
            .await?
            .ok_or(RefreshSessionError::Invalid)?
            .user;
        match sign_in::admit(client, &user, Proof::Refresh, SecondFactors::default()) {
            Ok(_) => {}
            Err(Refusal::EmailNotVerified) => return Err(RefreshSessionError::EmailNotVerified),
            Err(Refusal::AccountDisabled | Refusal::ClientSuspended) => {
                return Err(RefreshSessionError::Invalid);
            }
        }
        let (refresh_token, refresh_hash) = new_refresh_token(&self.ports);
        let expires_at = (now + limits.idle).min(token.started_at + limits.max_lifetime);
        let next = NewSession {
            id: Uuid::now_v7(),
            family_id: token.family_id,
            client_id: client.id,
            user_id: user.id,
            refresh_token_hash: refresh_hash,
            user_agent: ctx.user_agent.clone(),
            ip: ctx.ip.map(|ip| ip.to_string()),
            started_at: token.started_at,
            created_at: now,
            expires_at,
            auth_time: token.auth_time,
            amr: token.amr.clone(),
            rehash: None,
            grant: token.grant.clone(),
        };
        let mut audit = ctx
            .audit(EventType::TokenRefreshed)
            .client(client.id)
            .target("session", token.family_id)
            .at(now);
        audit.user_id = Some(user.id.as_uuid());
        let Some(auth_time) = self
            .ports
            .sessions
            .consume_and_replace(token.id, &next, &audit)
            .await?
        else {
            // A concurrent refresh (or a revocation) got there first: what the token is now
            // decides — a consumed token presented twice is a reuse.
            self.live_token(ctx, client, &presented_hash, app_id)
                .await?;
            return Err(RefreshSessionError::Invalid);
        };
        let (family_id, started_at) = (token.family_id, token.started_at);
        let stamp = app.map(|(_, stamp)| super::AppStamp {
            scopes: token
                .grant
                .as_ref()
                .map(|g| g.scopes.clone())
                .unwrap_or_default(),
            ..stamp.clone()
        });
        if let Some(stamp) = &stamp {
            granted.clone_from(&stamp.scopes);
        }
        let access_token = sign_access_token_for(
            &self.ports,
            &self.config,
            client,
            &user,
            SessionStamp {
                family_id,
                ends_at: started_at + limits.max_lifetime,
                auth_time,
                amr: &token.amr,
            },
            stamp.as_ref(),
            now,
        )
        .await?;
        Ok(IssuedTokens {
            access_token,
            expires_in: self.config.access_ttl.as_secs(),
            refresh_token,
            refresh_expires_in: u64::try_from((expires_at - now).num_seconds()).unwrap_or(0),
            user,
            session_id: family_id,
            auth_time,
            amr: token.amr,
        })
    }
}
