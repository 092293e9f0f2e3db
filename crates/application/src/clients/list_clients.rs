//! List clients, oldest first, with keyset pagination.

use authservice_domain::EventType;
use authservice_domain::{AdminScope, Client, Permission};

use crate::audit::record_quietly;
use crate::context::{Forbidden, RequestCtx};
use crate::error::{ErrorKind, UseCaseError};
use crate::pagination::{Page, PageError, PageRequest};
use crate::ports::Ports;

#[derive(Debug, Clone, Default)]
pub struct ListClientsInput {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ListClientsError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error(transparent)]
    Page(#[from] PageError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for ListClientsError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::Page(PageError::BadCursor) => ErrorKind::InvalidCursor,
            Self::Page(PageError::BadLimit) => ErrorKind::InvalidRequest,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}

pub struct ListClients {
    ports: Ports,
}

impl ListClients {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    #[tracing::instrument(name = "list_clients", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        input: ListClientsInput,
    ) -> Result<Page<Client>, ListClientsError> {
        let admin = ctx.require(Permission::ClientsRead)?;
        let request = PageRequest::parse(input.limit, input.cursor.as_deref())?;
        // A scoped admin's clients are read by id: nothing outside the scope is ever loaded.
        let rows = match &admin.scope {
            AdminScope::All => {
                self.ports
                    .clients
                    .list(request.after, request.limit + 1)
                    .await?
            }
            AdminScope::Clients(ids) => {
                let mut ids: Vec<_> = ids
                    .iter()
                    .filter(|id| request.after.is_none_or(|after| id.as_uuid() > after))
                    .copied()
                    .collect();
                ids.sort_by_key(|id| id.as_uuid());
                let mut rows = Vec::new();
                for id in ids.into_iter().take(request.limit + 1) {
                    if let Some(client) = self.ports.clients.get(id).await? {
                        rows.push(client);
                    }
                }
                rows
            }
            AdminScope::Organization { .. } => Vec::new(),
        };
        let page = Page::from_overfetch(rows, request.limit, |c| c.id.as_uuid());
        let event = ctx
            .audit(EventType::ClientsListed)
            .metadata(serde_json::json!({ "count": page.items.len(), "cursor": input.cursor }))
            .at(self.ports.clock.now());
        record_quietly(&self.ports, &event).await;
        Ok(page)
    }
}
