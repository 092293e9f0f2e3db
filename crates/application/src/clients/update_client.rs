//! Patch a client: name, slug, allowed origins, webhook URL, settings (merge patch), status,
//! token mode. Suspending a client makes every `X-API-Key` route answer `client_suspended`.

use authservice_domain::EventType;
use authservice_domain::{
    AllowedOrigin, Client, ClientId, ClientName, ClientPatch, ClientStatus, Permission, Slug,
    TokenMode, ValidationError, WebhookUrl,
};
use serde_json::Value;

use super::snapshot;
use crate::audit::record_quietly;
use crate::context::{Forbidden, RequestCtx};
use crate::error::{ErrorKind, UseCaseError};
use crate::ports::{ClientWriteError, Ports};

/// Raw patch fields; `webhook_url: Some(None)` clears the webhook.
#[derive(Debug, Clone, Default)]
pub struct UpdateClientInput {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub allowed_origins: Option<Vec<String>>,
    pub redirect_uris: Option<Vec<String>>,
    pub webhook_url: Option<Option<String>>,
    pub settings: Option<Value>,
    pub status: Option<String>,
    pub token_mode: Option<String>,
}

impl UpdateClientInput {
    fn parse(self) -> Result<ClientPatch, ValidationError> {
        Ok(ClientPatch {
            name: self.name.as_deref().map(ClientName::parse).transpose()?,
            slug: self.slug.as_deref().map(Slug::parse).transpose()?,
            allowed_origins: self
                .allowed_origins
                .as_deref()
                .map(AllowedOrigin::parse_list)
                .transpose()?,
            redirect_uris: self
                .redirect_uris
                .as_deref()
                .map(authservice_domain::RedirectUri::parse_list)
                .transpose()?,
            webhook_url: self
                .webhook_url
                .map(|w| {
                    w.as_deref()
                        .filter(|w| !w.trim().is_empty())
                        .map(WebhookUrl::parse)
                        .transpose()
                })
                .transpose()?,
            settings: self.settings,
            status: self
                .status
                .as_deref()
                .map(ClientStatus::parse)
                .transpose()?,
            token_mode: self
                .token_mode
                .as_deref()
                .map(TokenMode::parse)
                .transpose()?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateClientError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("client not found")]
    NotFound,
    #[error("slug already taken")]
    SlugTaken,
    #[error("client was modified concurrently; retry")]
    Conflict,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for UpdateClientError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::Invalid(e) => super::invalid_kind(e),
            Self::NotFound => ErrorKind::ClientNotFound,
            Self::SlugTaken => ErrorKind::SlugTaken,
            Self::Conflict => ErrorKind::Conflict,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            Self::Invalid(e) => super::invalid_details(e),
            _ => None,
        }
    }
}

impl From<ClientWriteError> for UpdateClientError {
    fn from(err: ClientWriteError) -> Self {
        match err {
            ClientWriteError::SlugTaken => Self::SlugTaken,
            ClientWriteError::NotFound => Self::NotFound,
            ClientWriteError::Conflict => Self::Conflict,
            ClientWriteError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

pub struct UpdateClient {
    ports: Ports,
}

impl UpdateClient {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    #[tracing::instrument(name = "update_client", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        id: &str,
        input: UpdateClientInput,
    ) -> Result<Client, UpdateClientError> {
        ctx.require(Permission::ClientsUpdate)?;
        let id = ClientId::parse(id)?;
        ctx.require_for_client(Permission::ClientsUpdate, id)?;
        let patch = input.parse()?;
        let mut client = self
            .ports
            .clients
            .get(id)
            .await?
            .ok_or(UpdateClientError::NotFound)?;
        let before = snapshot(&client);
        let now = self.ports.clock.now();
        let status_before = client.status;
        let retention_before = client.policy().audit_retention_days;
        let changed = !patch.is_empty() && client.apply(patch, now)?;
        // How long the client's audit trail is kept decides what a purge deletes: not for
        // whoever may edit the client (its own admins), only for those who may purge.
        if client.policy().audit_retention_days != retention_before {
            let admin = ctx.require(Permission::AuditPurge)?;
            if admin.scope != authservice_domain::AdminScope::All {
                return Err(Forbidden("audit:purge with scope all").into());
            }
        }
        if !changed {
            let event = ctx
                .audit(EventType::ClientUpdateUnchanged)
                .client(id)
                .target("client", id)
                .at(now);
            record_quietly(&self.ports, &event).await;
            return Ok(client);
        }
        client.version += 1;
        let event_type = match (status_before, client.status) {
            (ClientStatus::Active, ClientStatus::Suspended) => EventType::ClientSuspended,
            (ClientStatus::Suspended, ClientStatus::Active) => EventType::ClientReactivated,
            _ => EventType::ClientUpdated,
        };
        let audit = ctx
            .audit(event_type)
            .client(id)
            .target("client", id)
            .before(before)
            .after(snapshot(&client))
            .at(now);
        self.ports.clients.update(&client, None, &audit).await?;
        Ok(client)
    }
}
