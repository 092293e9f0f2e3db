//! The apps a user allowed (the account page's "Connected apps"): listing them, and
//! disconnecting one, which forgets the consent and ends the app's sessions of that user.

use authservice_domain::{Client, EventType, UserId};
use serde_json::json;

use crate::context::RequestCtx;
use crate::error::{ErrorKind, UseCaseError};
use crate::ports::{Consent, Ports};

#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    #[error("this app is not connected to the account")]
    NotFound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for ConsentError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound => ErrorKind::ConsentNotFound,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}

pub struct ManageConsents {
    ports: Ports,
    access_ttl: std::time::Duration,
}

impl ManageConsents {
    #[must_use]
    pub fn new(ports: &Ports, access_ttl: std::time::Duration) -> Self {
        Self {
            ports: ports.clone(),
            access_ttl,
        }
    }

    /// The user's consents, newest first.
    ///
    /// # Errors
    /// A store failed.
    pub async fn list(&self, client: &Client, user: UserId) -> Result<Vec<Consent>, ConsentError> {
        Ok(self.ports.consents.list(client.id, user).await?)
    }

    /// Disconnects the app called `app_public_id` (`app_…`).
    ///
    /// # Errors
    /// `NotFound` when the user never allowed it; a store failed.
    pub async fn revoke(
        &self,
        ctx: &RequestCtx,
        client: &Client,
        user: UserId,
        app_public_id: &str,
    ) -> Result<(), ConsentError> {
        if app_public_id.len() > 64 {
            return Err(ConsentError::NotFound);
        }
        let now = self.ports.clock.now();
        let mut event = ctx
            .audit(EventType::OAuthConsentRevoked)
            .client(client.id)
            .target("oidc_app", app_public_id)
            .metadata(json!({ "client_id": app_public_id }))
            .at(now);
        event.user_id = Some(user.as_uuid());
        let Some((_, families)) = self
            .ports
            .consents
            .revoke(client.id, user, app_public_id, now, &event)
            .await?
        else {
            return Err(ConsentError::NotFound);
        };
        if !families.is_empty() {
            crate::tokens::note_session_end(&self.ports, self.access_ttl, client.id, user).await?;
        }
        Ok(())
    }
}
