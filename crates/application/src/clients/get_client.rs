//! Read one client.

use authservice_domain::EventType;
use authservice_domain::{Client, ClientId, Permission, ValidationError};

use crate::audit::record_quietly;
use crate::context::{Forbidden, RequestCtx};
use crate::error::{ErrorKind, UseCaseError};
use crate::ports::Ports;

#[derive(Debug, thiserror::Error)]
pub enum GetClientError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("client not found")]
    NotFound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for GetClientError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::Invalid(_) => ErrorKind::InvalidRequest,
            Self::NotFound => ErrorKind::ClientNotFound,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}

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
        ctx.require(Permission::ClientsRead)?;
        let id = ClientId::parse(id)?;
        ctx.require_for_client(Permission::ClientsRead, id)?;
        let client = self
            .ports
            .clients
            .get(id)
            .await?
            .ok_or(GetClientError::NotFound)?;
        let event = ctx
            .audit(EventType::ClientRead)
            .client(id)
            .target("client", id)
            .at(self.ports.clock.now());
        record_quietly(&self.ports, &event).await;
        Ok(client)
    }
}
