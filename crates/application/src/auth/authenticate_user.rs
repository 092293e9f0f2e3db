//! Resolve the user of a `Authorization: Bearer` access token on an app route. The token must
//! belong to the client of the request's API key (`token_client_mismatch` otherwise, on every
//! route), be unexpired and correctly signed, its user must exist and be active, and its
//! session (`sid`) must still be live — so logout, password change and session revocation end
//! access to the account routes at once, not when the access token expires.

use authservice_domain::{User, UserId, UserStatus};

use super::require_client;
use crate::context::RequestCtx;
use crate::error::{ErrorKind, UseCaseError};
use crate::ports::{AccessClaims, Ports};
use crate::tokens::TokenRefusal;

#[derive(Debug, thiserror::Error)]
pub enum AuthenticateUserError {
    #[error("Authorization: Bearer <access token> is required")]
    Missing,
    #[error(transparent)]
    Refused(#[from] TokenRefusal),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for AuthenticateUserError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Missing => ErrorKind::MissingToken,
            Self::Refused(refusal) => refusal.kind(),
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}

/// The verified caller.
#[derive(Debug, Clone)]
pub struct AuthenticatedUser {
    pub user: User,
    pub claims: AccessClaims,
}

pub struct AuthenticateUser {
    ports: Ports,
}

impl AuthenticateUser {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    #[tracing::instrument(name = "authenticate_user", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        bearer: Option<&str>,
    ) -> Result<AuthenticatedUser, AuthenticateUserError> {
        let client = require_client(ctx)?;
        let token = bearer
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthenticateUserError::Missing)?;
        let claims = self.ports.tokens.verify(client, token).await.map_err(|e| {
            match TokenRefusal::of(e) {
                Ok(refusal) => AuthenticateUserError::Refused(refusal),
                Err(e) => AuthenticateUserError::Unexpected(e),
            }
        })?;
        // A token an OIDC app (or a service account) was given speaks for its scopes, never
        // for the account routes.
        if claims.grant.is_some() {
            return Err(TokenRefusal::Invalid.into());
        }
        if crate::tokens::is_revoked(&self.ports, &claims.jti).await? {
            return Err(TokenRefusal::Revoked.into());
        }
        let user_id = UserId::parse(&claims.sub).map_err(|_| TokenRefusal::Invalid)?;
        let user = self
            .ports
            .users
            .get(client.id, user_id)
            .await?
            .ok_or(TokenRefusal::Invalid)?
            .user;
        if user.status != UserStatus::Active {
            return Err(TokenRefusal::UserDisabled.into());
        }
        let session = uuid::Uuid::parse_str(&claims.sid).map_err(|_| TokenRefusal::Invalid)?;
        if !self
            .ports
            .sessions
            .is_live(client.id, user.id, session, self.ports.clock.now())
            .await?
        {
            return Err(TokenRefusal::SessionEnded.into());
        }
        Ok(AuthenticatedUser { user, claims })
    }
}
