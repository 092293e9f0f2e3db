//! The public signing keys of one client (`/.well-known/jwks.json?client_id=` or with its API
//! key). Every active client's keys at once only with `JWKS_PUBLISH_ALL`: by default a caller
//! must name its client, so a validator pointed at the bare URL cannot end up trusting every
//! tenant's keys.

use authservice_domain::ClientId;
use serde_json::Value;

use crate::error::{ErrorKind, UseCaseError};
use crate::ports::Ports;

#[derive(Debug, thiserror::Error)]
pub enum PublishJwksError {
    #[error("name the client: ?client_id=<client id> or the X-API-Key header")]
    ClientRequired,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for PublishJwksError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::ClientRequired => ErrorKind::ClientRequired,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}

pub struct PublishJwks {
    ports: Ports,
    publish_all: bool,
}

impl PublishJwks {
    #[must_use]
    pub fn new(ports: &Ports, config: &super::AuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            publish_all: config.jwks_publish_all,
        }
    }

    #[tracing::instrument(name = "publish_jwks", level = "debug", skip_all)]
    pub async fn execute(&self, client: Option<ClientId>) -> Result<Vec<Value>, PublishJwksError> {
        if client.is_none() && !self.publish_all {
            return Err(PublishJwksError::ClientRequired);
        }
        Ok(self.ports.tokens.published_keys(client).await?)
    }
}
