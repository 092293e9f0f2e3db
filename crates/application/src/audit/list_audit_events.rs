//! Browse audit events, newest first, with filters and keyset pagination.

use authservice_domain::EventType;
use authservice_domain::{ActorType, AuditEvent, ClientId, Permission, ValidationError};
use chrono::{DateTime, Utc};

use crate::audit::record_quietly;
use crate::context::{Forbidden, RequestCtx};
use crate::error::{ErrorKind, UseCaseError};
use crate::pagination::{Page, PageError, PageRequest};
use crate::ports::{AuditFilter, Ports};

#[derive(Debug, Clone, Default)]
pub struct ListAuditEventsInput {
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub event_type: Option<String>,
    pub actor_type: Option<String>,
    pub actor_id: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub request_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ListAuditEventsError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Page(#[from] PageError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for ListAuditEventsError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::Invalid(_) | Self::Page(PageError::BadLimit) => ErrorKind::InvalidRequest,
            Self::Page(PageError::BadCursor) => ErrorKind::InvalidCursor,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}

pub struct ListAuditEvents {
    ports: Ports,
}

fn parse_time(
    field: &'static str,
    raw: Option<&str>,
) -> Result<Option<DateTime<Utc>>, ValidationError> {
    raw.map(|r| {
        DateTime::parse_from_rfc3339(r)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| ValidationError::new(field, "must be an RFC 3339 timestamp"))
    })
    .transpose()
}

fn non_empty(raw: Option<String>) -> Option<String> {
    raw.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl ListAuditEvents {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    #[tracing::instrument(name = "list_audit_events", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        input: ListAuditEventsInput,
    ) -> Result<Page<AuditEvent>, ListAuditEventsError> {
        let admin = ctx.require(Permission::AuditRead)?;
        let page = PageRequest::parse(input.limit, input.cursor.as_deref())?;
        let mut client_id = non_empty(input.client_id)
            .map(|c| ClientId::parse(&c))
            .transpose()?;
        // A client-scoped admin reads its client's trail without naming it.
        if client_id.is_none()
            && let authservice_domain::AdminScope::Clients(ids) = &admin.scope
            && let [only] = ids.as_slice()
        {
            client_id = Some(*only);
        }
        if let Some(id) = client_id {
            ctx.require_for_client(Permission::AuditRead, id)?;
        } else if !matches!(admin.scope, authservice_domain::AdminScope::All) {
            return Err(Forbidden("audit:read for all clients").into());
        }
        let actor_type = non_empty(input.actor_type)
            .map(|a| {
                ActorType::parse(&a).ok_or_else(|| {
                    ValidationError::new(
                        "actor_type",
                        "must be admin, client, user, system or anonymous",
                    )
                })
            })
            .transpose()?;
        let user_id = non_empty(input.user_id)
            .map(|u| {
                uuid::Uuid::parse_str(&u)
                    .map_err(|_| ValidationError::new("user_id", "must be a UUID"))
            })
            .transpose()?;
        let filter = AuditFilter {
            client_id,
            user_id,
            event_type: non_empty(input.event_type),
            actor_type,
            actor_id: non_empty(input.actor_id),
            target_type: non_empty(input.target_type),
            target_id: non_empty(input.target_id),
            request_id: non_empty(input.request_id),
            from: parse_time("from", input.from.as_deref())?,
            to: parse_time("to", input.to.as_deref())?,
        };
        let rows = self
            .ports
            .audit
            .list(&filter, page.after, page.limit + 1)
            .await?;
        let result = Page::from_overfetch(rows, page.limit, |e| e.id);
        let event = ctx
            .audit(EventType::AuditRead)
            .metadata(serde_json::json!({ "count": result.items.len() }))
            .at(self.ports.clock.now());
        record_quietly(&self.ports, &event).await;
        Ok(result)
    }
}
