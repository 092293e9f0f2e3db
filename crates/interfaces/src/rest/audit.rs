//! `GET /api/admin/audit-events`: newest first, filtered, paginated; `…/export` streams every
//! matching event as CSV or JSON lines (a page at a time: constant memory whatever the size);
//! `GET /api/admin/event-types` lists the names.

use actix_web::{HttpResponse, web};
use authservice_application::audit::ListAuditEventsInput;
use futures_util::StreamExt as _;
use serde::Deserialize;
use serde_json::json;

use super::HttpState;
use super::dto::AuditEventDto;
use super::extractors::AdminCtx;
use crate::error::ApiError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/audit-events").get(list_audit_events))
        .service(web::resource("/audit-events/export").get(export_audit_events))
        .service(web::resource("/event-types").get(event_types))
        .service(web::resource("/audit-events/legal-hold").post(place_hold))
        .service(web::resource("/audit-events/legal-holds").get(list_holds))
        .service(web::resource("/audit-events/legal-holds/{hold}").delete(release_hold))
        .service(web::resource("/audit-events/retention/purge").post(purge))
        .service(web::resource("/audit-events/chain/verify").get(verify_chain));
}

#[derive(Debug, Deserialize)]
struct ChainQuery {
    client_id: Option<String>,
}

/// `GET /api/admin/audit-events/chain/verify`: the scope's hash chain, walked.
async fn verify_chain(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    query: web::Query<ChainQuery>,
) -> Result<HttpResponse, ApiError> {
    use authservice_domain::audit_chain::hex;
    let verdict = state
        .services
        .verify_audit_chain
        .execute(&ctx, query.client_id.as_deref())
        .await?;
    let report = &verdict.report;
    Ok(HttpResponse::Ok().json(json!({
        "scope": if verdict.client_id.is_some() { "client" } else { "global" },
        "client_id": verdict.client_id.map(|c| c.to_string()),
        "valid": report.valid(),
        "links_verified": report.links_verified,
        "erased_events": report.erased_events,
        "purged_runs": report.purged_runs,
        "unsealed_events": verdict.unsealed_events,
        "head": report.head.map(|(seq, hash)| json!({ "seq": seq, "hash": hex(&hash) })),
        "first_broken": report.first_broken.as_ref().map(|b| json!({
            "seq": b.seq,
            "event_id": b.event_id,
            "reason": b.reason.as_str(),
        })),
    })))
}

fn hold_json(h: &authservice_application::ports::LegalHold) -> serde_json::Value {
    json!({
        "id": h.id,
        "client_id": h.client_id.map(|c| c.to_string()),
        "user_id": h.user_id,
        "from": h.from,
        "to": h.to,
        "reason": h.reason,
        "created_by": h.created_by,
        "created_at": h.created_at,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldBody {
    client_id: Option<String>,
    user_id: Option<String>,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
    reason: String,
}

async fn place_hold(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    body: web::Json<HoldBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let hold = state
        .services
        .audit_retention
        .hold(
            &ctx,
            authservice_application::audit::HoldInput {
                client_id: b.client_id,
                user_id: b.user_id,
                from: b.from,
                to: b.to,
                reason: b.reason,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(hold_json(&hold)))
}

async fn list_holds(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let holds = state.services.audit_retention.holds(&ctx).await?;
    Ok(HttpResponse::Ok().json(json!({ "data": holds.iter().map(hold_json).collect::<Vec<_>>() })))
}

async fn release_hold(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.services.audit_retention.release(&ctx, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PurgeBody {
    before: Option<chrono::DateTime<chrono::Utc>>,
    dry_run: Option<bool>,
}

/// A dry run unless `dry_run: false` is sent.
async fn purge(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    body: Option<web::Json<PurgeBody>>,
) -> Result<HttpResponse, ApiError> {
    let b = body.map(web::Json::into_inner).unwrap_or_default();
    let report = state
        .services
        .audit_retention
        .purge(&ctx, b.before, b.dry_run.unwrap_or(true))
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "dry_run": report.dry_run,
        "cutoff": report.cutoff,
        "older": report.count.older,
        "held": report.count.held,
        "deleted": report.count.deleted,
    })))
}

/// Every audit event type the service writes (what filters and webhooks name).
async fn event_types(_admin: AdminCtx) -> HttpResponse {
    let names: Vec<&str> = authservice_domain::EventType::ALL
        .iter()
        .map(|e| e.as_str())
        .collect();
    HttpResponse::Ok().json(json!({ "data": names }))
}

#[derive(Debug, Deserialize)]
struct ExportQuery {
    format: Option<String>,
    #[serde(flatten)]
    filter: AuditQuery,
}

const CSV_COLUMNS: [&str; 15] = [
    "id",
    "occurred_at",
    "client_id",
    "user_id",
    "event_type",
    "actor_type",
    "actor_id",
    "target_type",
    "target_id",
    "request_id",
    "ip",
    "user_agent",
    "metadata",
    "before",
    "after",
];

/// One CSV field: always quoted; a value a spreadsheet would run as a formula is defused.
fn csv_field(out: &mut String, value: &str) {
    out.push('"');
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        out.push('\'');
    }
    out.push_str(&value.replace('"', "\"\""));
    out.push('"');
}

fn csv_row(e: &AuditEventDto) -> String {
    let json =
        |v: &Option<serde_json::Value>| v.as_ref().map(ToString::to_string).unwrap_or_default();
    let fields = [
        e.id.clone(),
        e.occurred_at.clone(),
        e.client_id.clone().unwrap_or_default(),
        e.user_id.clone().unwrap_or_default(),
        e.event_type.clone(),
        e.actor_type.to_owned(),
        e.actor_id.clone().unwrap_or_default(),
        e.target_type.clone().unwrap_or_default(),
        e.target_id.clone().unwrap_or_default(),
        e.request_id.clone().unwrap_or_default(),
        e.ip.clone().unwrap_or_default(),
        e.user_agent.clone().unwrap_or_default(),
        e.metadata.to_string(),
        json(&e.before),
        json(&e.after),
    ];
    let mut out = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(&mut out, f);
    }
    out.push_str("\r\n");
    out
}

/// `?format=csv|jsonl` (default `jsonl`) and the filters of the list.
async fn export_audit_events(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let csv = match q.format.as_deref().unwrap_or("jsonl") {
        "csv" => true,
        "jsonl" => false,
        _ => {
            return Err(ApiError::new(
                authservice_application::ErrorKind::InvalidRequest,
                "format must be csv or jsonl",
            ));
        }
    };
    let pages = state
        .services
        .list_audit_events
        .export(
            &ctx,
            q.filter.into_input(),
            if csv { "csv" } else { "jsonl" },
        )
        .await?;
    let header = csv.then(|| {
        let mut line = CSV_COLUMNS.join(",");
        line.push_str("\r\n");
        Ok::<_, actix_web::Error>(web::Bytes::from(line))
    });
    let body = pages.map(move |page| {
        let page = page.map_err(|err| {
            tracing::error!(error = %err, "audit export stopped");
            actix_web::error::ErrorInternalServerError("export failed")
        })?;
        let mut chunk = String::with_capacity(page.len() * 400);
        for event in page {
            let dto = AuditEventDto::from(event);
            if csv {
                chunk.push_str(&csv_row(&dto));
            } else {
                chunk.push_str(&serde_json::to_string(&dto).unwrap_or_default());
                chunk.push('\n');
            }
        }
        Ok(web::Bytes::from(chunk))
    });
    let body = futures_util::stream::iter(header).chain(body);
    Ok(HttpResponse::Ok()
        .content_type(if csv {
            "text/csv; charset=utf-8"
        } else {
            "application/x-ndjson"
        })
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"audit-events.{}\"",
                if csv { "csv" } else { "jsonl" }
            ),
        ))
        .streaming(body))
}

#[derive(Debug, Deserialize)]
pub(super) struct AuditQuery {
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
    legal_hold: Option<String>,
    organization_id: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

impl AuditQuery {
    fn into_input(self) -> ListAuditEventsInput {
        ListAuditEventsInput {
            client_id: self.client_id,
            user_id: self.user_id,
            event_type: self.event_type,
            actor_type: self.actor_type,
            actor_id: self.actor_id,
            target_type: self.target_type,
            target_id: self.target_id,
            request_id: self.request_id,
            from: self.from,
            to: self.to,
            legal_hold: self.legal_hold,
            organization_id: self.organization_id,
            limit: self.limit,
            cursor: self.cursor,
        }
    }
}

async fn list_audit_events(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .services
        .list_audit_events
        .execute(&ctx, query.into_inner().into_input())
        .await?;
    let events: Vec<AuditEventDto> = page.items.into_iter().map(AuditEventDto::from).collect();
    Ok(HttpResponse::Ok().json(json!({ "events": events, "next_cursor": page.next_cursor })))
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        let field = |v: &str| {
            let mut out = String::new();
            csv_field(&mut out, v);
            out
        };
        assert_eq!(field("plain"), "\"plain\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("+1"), "\"'+1\"");
        assert_eq!(field("@sum"), "\"'@sum\"");
        assert_eq!(field("-2"), "\"'-2\"");
    }
}
