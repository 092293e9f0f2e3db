//! `/userinfo` (OpenID Connect Core 5.3): the claims of the access token's user that its
//! granted scopes allow. Only access tokens an app was given for a user with `openid` qualify;
//! a revoked token, an ended session or a disabled user is refused at once.

use authservice_domain::{Client, UserId, UserStatus};
use serde_json::Value;

use super::code_grant::user_claims;
use crate::ports::{Ports, TokenError};

/// Why `/userinfo` refused (RFC 6750 §3.1).
#[derive(Debug, thiserror::Error)]
pub enum UserInfoError {
    /// 401 `invalid_token`.
    #[error("{0}")]
    InvalidToken(&'static str),
    /// 403 `insufficient_scope`: the token was not granted `openid`.
    #[error("the access token was not granted the openid scope")]
    InsufficientScope,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

pub struct UserInfo {
    ports: Ports,
}

impl UserInfo {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    /// The claims for `bearer` at `client`'s issuer.
    ///
    /// # Errors
    /// `InvalidToken`, `InsufficientScope`; `Unexpected` when a store fails.
    #[tracing::instrument(name = "oauth_userinfo", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        client: &Client,
        bearer: Option<&str>,
    ) -> Result<Value, UserInfoError> {
        let token = bearer
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(UserInfoError::InvalidToken("an access token is required"))?;
        let claims = match self.ports.tokens.verify(client, token).await {
            Ok(claims) => claims,
            Err(TokenError::Unexpected(e)) => return Err(e.into()),
            Err(_) => return Err(UserInfoError::InvalidToken("the access token is not valid")),
        };
        let Some(grant) = claims.grant.as_ref().filter(|g| g.token_use == "access") else {
            return Err(UserInfoError::InvalidToken(
                "the access token was not issued to an app for a user",
            ));
        };
        if !grant.scopes.iter().any(|s| s == "openid") {
            return Err(UserInfoError::InsufficientScope);
        }
        if crate::tokens::is_revoked(&self.ports, &claims.jti).await? {
            return Err(UserInfoError::InvalidToken("the access token was revoked"));
        }
        let invalid = UserInfoError::InvalidToken("the access token is not valid");
        let user_id = UserId::parse(&claims.sub).map_err(|_| invalid)?;
        let Some(user) = self.ports.users.get(client.id, user_id).await? else {
            return Err(UserInfoError::InvalidToken("the user no longer exists"));
        };
        if user.user.status != UserStatus::Active {
            return Err(UserInfoError::InvalidToken("the user is disabled"));
        }
        let session = uuid::Uuid::parse_str(&claims.sid)
            .map_err(|_| UserInfoError::InvalidToken("the access token is not valid"))?;
        if !self
            .ports
            .sessions
            .is_live(client.id, user_id, session, self.ports.clock.now())
            .await?
        {
            return Err(UserInfoError::InvalidToken("the session has ended"));
        }
        Ok(user_claims(&user.user, &grant.scopes))
    }
}
