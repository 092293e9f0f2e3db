//! The public signing keys of active clients (`/.well-known/jwks.json`), optionally narrowed
//! to one client.

use authservice_domain::ClientId;
use serde_json::Value;

use crate::error::{ErrorKind, UseCaseError};
use crate::ports::Ports;

#[derive(Debug, thiserror::Error)]
pub enum PublishJwksError {
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for PublishJwksError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Internal
    }
}

pub struct PublishJwks {
    ports: Ports,
}

impl PublishJwks {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    pub async fn execute(&self, client: Option<ClientId>) -> Result<Vec<Value>, PublishJwksError> {
        Ok(self.ports.tokens.published_keys(client).await?)
    }
}
