//! Read one client.

use authservice_domain::EventType;
use authservice_domain::{Client, Permission};

use super::{GetClientError, existing_client};
use crate::audit::record_quietly;
use crate::context::RequestCtx;
use crate::ports::Ports;

pub struct GetClient {
    ports: Ports,
}

impl GetClient {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    /// `id` is the raw path or gRPC value.
    #[tracing::instrument(name = "get_client", level = "debug", skip_all)]
    pub async fn execute(&self, ctx: &RequestCtx, id: &str) -> Result<Client, GetClientError> {
        let client = existing_client(&self.ports, ctx, id, Permission::ClientsRead).await?;
        let id = client.id;
        let event = ctx
            .audit(EventType::ClientRead)
            .client(id)
            .target("client", id)
            .at(self.ports.clock.now());
        record_quietly(&self.ports, &event).await;
        Ok(client)
    }
}
