//! The apps a user allowed (the account page's "Connected apps"): listing them, and
//! disconnecting one, which forgets the consent and ends the app's sessions of that user.

use authservice_domain::{Client, EventType, UserId};
use serde_json::json;

use crate::context::RequestCtx;
use crate::error::{ErrorKind, UseCaseError};
use crate::ports::{Committed, Consent, Ports, Write, Written};

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
        let app = match self.ports.oidc_apps.by_public_id(app_public_id).await? {
            Some((app, _)) if app.client_id == client.id => app,
            _ => return Err(ConsentError::NotFound),
        };
        // The consent, the app's sessions of the user and the record: together or not at all.
        let committed = self
            .ports
            .uow
            .commit(vec![
                Write::ForgetConsent {
                    client: client.id,
                    user,
                    app: app.id,
                },
                Write::EndAppSessions {
                    client: client.id,
                    user,
                    app: app.id,
                    at: now,
                    reason: "consent_revoked",
                },
                Write::Audit(event),
            ])
            .await?;
        let Committed::All(written) = committed else {
            return Err(ConsentError::NotFound);
        };
        if written
            .iter()
            .any(|w| matches!(w, Written::EndedSessions(f) if !f.is_empty()))
        {
            crate::tokens::note_session_end(&self.ports, self.access_ttl, client.id, user).await?;
        }
        Ok(())
    }
}
