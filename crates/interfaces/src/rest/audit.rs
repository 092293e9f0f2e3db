//! `GET /api/admin/audit-events`: newest first, filtered, paginated.

use actix_web::{HttpResponse, web};
use authservice_application::audit::ListAuditEventsInput;
use serde::Deserialize;
use serde_json::json;

use super::HttpState;
use super::dto::AuditEventDto;
use super::extractors::AdminCtx;
use crate::error::ApiError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/audit-events").get(list_audit_events));
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    client_id: Option<String>,
    user_id: Option<String>,
    event_type: Option<String>,
    actor_type: Option<String>,
    actor_id: Option<String>,
    target_type: Option<String>,
    target_id: Option<String>,
    request_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

async fn list_audit_events(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = state
        .services
        .list_audit_events
        .execute(
            &ctx,
            ListAuditEventsInput {
                client_id: q.client_id,
                user_id: q.user_id,
                event_type: q.event_type,
                actor_type: q.actor_type,
                actor_id: q.actor_id,
                target_type: q.target_type,
                target_id: q.target_id,
                request_id: q.request_id,
                from: q.from,
                to: q.to,
                limit: q.limit,
                cursor: q.cursor,
            },
        )
        .await?;
    let events: Vec<AuditEventDto> = page.items.into_iter().map(AuditEventDto::from).collect();
    Ok(HttpResponse::Ok().json(json!({ "events": events, "next_cursor": page.next_cursor })))
}
