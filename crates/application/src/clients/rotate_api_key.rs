//! Replace a client's API key. The old key stops working at once; the new one is shown once.

use authservice_domain::EventType;
use authservice_domain::{ApiKey, Client, ClientId, Permission, ValidationError};

use super::{new_api_key, snapshot};
use crate::context::{Forbidden, RequestCtx};
use crate::error::{ErrorKind, UseCaseError};
use crate::ports::{ClientWriteError, Ports};

#[derive(Debug)]
pub struct RotatedApiKey {
    pub client: Client,
    pub api_key: ApiKey,
}

#[derive(Debug, thiserror::Error)]
pub enum RotateApiKeyError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("client not found")]
    NotFound,
    #[error("client was modified concurrently; retry")]
    Conflict,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for RotateApiKeyError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::Invalid(_) => ErrorKind::InvalidRequest,
            Self::NotFound => ErrorKind::ClientNotFound,
            Self::Conflict => ErrorKind::Conflict,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}

impl From<ClientWriteError> for RotateApiKeyError {
    fn from(err: ClientWriteError) -> Self {
        match err {
            ClientWriteError::NotFound => Self::NotFound,
            ClientWriteError::Conflict => Self::Conflict,
            ClientWriteError::SlugTaken => {
                Self::Unexpected(anyhow::anyhow!("slug conflict on key rotation"))
            }
            ClientWriteError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

pub struct RotateApiKey {
    ports: Ports,
}

impl RotateApiKey {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    #[tracing::instrument(name = "rotate_api_key", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        id: &str,
    ) -> Result<RotatedApiKey, RotateApiKeyError> {
        ctx.require(Permission::ClientsRotateKeys)?;
        let id = ClientId::parse(id)?;
        ctx.require_for_client(Permission::ClientsRotateKeys, id)?;
        let mut client = self
            .ports
            .clients
            .get(id)
            .await?
            .ok_or(RotateApiKeyError::NotFound)?;
        let before = snapshot(&client);
        let api_key = new_api_key(self.ports.random.as_ref());
        let now = self.ports.clock.now();
        client.api_key_hash = api_key.hash();
        client.api_key_prefix = api_key.display_prefix();
        client.updated_at = now;
        client.version += 1;
        let audit = ctx
            .audit(EventType::ClientApiKeyRotated)
            .client(id)
            .target("client", id)
            .before(before)
            .after(snapshot(&client))
            .at(now);
        self.ports.clients.update(&client, None, &audit).await?;
        Ok(RotatedApiKey { client, api_key })
    }
}
