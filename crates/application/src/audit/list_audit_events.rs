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
    /// `true`: only events a standing legal hold covers; `false`: only those none covers.
    pub legal_hold: Option<String>,
    /// Events about this organization (its target, or named in its metadata).
    pub organization_id: Option<String>,
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

/// `event_type`: one name or several, comma-separated (at most 50, each a known shape).
fn event_types(raw: Option<&str>) -> Result<Vec<String>, ValidationError> {
    let names: Vec<String> = raw
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    if names.len() > 50 || names.iter().any(|n| n.len() > 100) {
        return Err(ValidationError::new(
            "event_type",
            "at most 50 names of at most 100 characters",
        ));
    }
    // A legacy name and the name it became match the same events.
    let mut all: Vec<String> = Vec::new();
    for name in &names {
        for n in authservice_domain::audit::names_matching(name) {
            if !all.contains(&n) {
                all.push(n);
            }
        }
    }
    Ok(all)
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

    /// The caller's filter: `audit:read`, and a client inside the caller's scope (a
    /// client-scoped admin's own client when none is named).
    fn filter(
        ctx: &RequestCtx,
        input: ListAuditEventsInput,
    ) -> Result<AuditFilter, ListAuditEventsError> {
        let admin = ctx.require(Permission::AuditRead)?;
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
            event_types: event_types(input.event_type.as_deref())?,
            actor_type,
            actor_id: non_empty(input.actor_id),
            target_type: non_empty(input.target_type),
            target_id: non_empty(input.target_id),
            request_id: non_empty(input.request_id),
            from: parse_time("from", input.from.as_deref())?,
            to: parse_time("to", input.to.as_deref())?,
            organization_id: non_empty(input.organization_id)
                .map(|o| {
                    uuid::Uuid::parse_str(&o)
                        .map_err(|_| ValidationError::new("organization_id", "must be a UUID"))
                })
                .transpose()?,
            legal_hold: non_empty(input.legal_hold)
                .map(|v| match v.as_str() {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    _ => Err(ValidationError::new("legal_hold", "must be true or false")),
                })
                .transpose()?,
        };
        // Which events are held is the business of those who hold them.
        if filter.legal_hold.is_some() {
            ctx.require(Permission::AuditHold)?;
        }
        Ok(filter)
    }

    #[tracing::instrument(name = "list_audit_events", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        input: ListAuditEventsInput,
    ) -> Result<Page<AuditEvent>, ListAuditEventsError> {
        let page = PageRequest::parse(input.limit, input.cursor.as_deref())?;
        let filter = Self::filter(ctx, input)?;
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

/// How many events an export reads at a time (its memory stays that of one page).
const EXPORT_PAGE: usize = 1000;

impl ListAuditEvents {
    /// Every event matching `input`, newest first, a page at a time: the caller streams them
    /// out, so an export of any size holds one page in memory. Audited `audit.exported` once.
    ///
    /// # Errors
    /// `Forbidden` or an invalid filter (before anything is read).
    pub async fn export(
        &self,
        ctx: &RequestCtx,
        input: ListAuditEventsInput,
        format: &str,
    ) -> Result<
        futures_util::stream::BoxStream<'static, anyhow::Result<Vec<AuditEvent>>>,
        ListAuditEventsError,
    > {
        let filter = Self::filter(ctx, input)?;
        let event = ctx
            .audit(EventType::AuditExported)
            .metadata(serde_json::json!({
                "format": format,
                "client_id": filter.client_id.map(|c| c.to_string()),
                "event_types": filter.event_types,
            }))
            .at(self.ports.clock.now());
        record_quietly(&self.ports, &event).await;
        let audit = self.ports.audit.clone();
        let pages = futures_util::stream::try_unfold(
            (audit, filter, None::<uuid::Uuid>, false),
            |(audit, filter, before, done)| async move {
                if done {
                    return Ok(None);
                }
                let rows = audit.list(&filter, before, EXPORT_PAGE).await?;
                let last = rows.last().map(|e| e.id);
                let done = rows.len() < EXPORT_PAGE;
                if rows.is_empty() {
                    return Ok(None);
                }
                Ok(Some((rows, (audit, filter, last, done))))
            },
        );
        Ok(Box::pin(pages))
    }
}
