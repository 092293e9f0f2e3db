//! The public signing keys of active clients (`/.well-known/jwks.json`), optionally narrowed
//! to one client.

use authservice_domain::ClientId;
use serde_json::Value;

use crate::ports::Ports;

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

    pub async fn execute(&self, client: Option<ClientId>) -> anyhow::Result<Vec<Value>> {
        self.ports.tokens.published_keys(client).await
    }
}
