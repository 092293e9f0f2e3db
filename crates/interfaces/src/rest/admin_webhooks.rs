//! `/api/admin/clients/{id}/webhooks/*`: a client's webhook endpoints, their delivery log and
//! replays. An endpoint's `secret` (`whsec_…`) is in the answers that make it only (create,
//! rotate; `Cache-Control: no-store`).

use actix_web::{HttpResponse, web};
use authservice_application::pagination::PageRequest;
use authservice_application::ports::Delivery;
use authservice_application::webhooks::{
    CreatedEndpoint, EndpointInput, WebhookError, endpoint_snapshot,
};
use authservice_domain::webhook::WebhookEndpoint;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AdminCtx, HttpState};
use crate::error::ApiError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/clients/{id}/webhooks")
            .get(list)
            .post(create),
    )
    .service(
        web::resource("/clients/{id}/webhooks/{hook}")
            .get(get)
            .patch(update)
            .delete(delete),
    )
    .service(web::resource("/clients/{id}/webhooks/{hook}/rotate-secret").post(rotate))
    .service(web::resource("/clients/{id}/webhooks/{hook}/deliveries").get(deliveries))
    .service(
        web::resource("/clients/{id}/webhooks/{hook}/deliveries/{delivery}/replay").post(replay),
    )
    .service(web::resource("/clients/{id}/webhooks/{hook}/replay").post(replay_range));
}

fn endpoint_json(e: &WebhookEndpoint) -> Value {
    let mut value = endpoint_snapshot(e);
    value["created_at"] = json!(e.created_at);
    value["updated_at"] = json!(e.updated_at);
    value
}

fn delivery_json(d: &Delivery) -> Value {
    json!({
        "id": d.id,
        "endpoint_id": d.endpoint_id,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "status": d.status.as_str(),
        "attempts": d.attempts,
        "response_status": d.response_status,
        "latency_ms": d.latency_ms,
        "last_error": d.last_error,
        "next_attempt_at": d.next_attempt_at,
        "replay_of": d.replay_of,
        "created_at": d.created_at,
        "finished_at": d.finished_at,
    })
}

fn with_secret(status: actix_web::http::StatusCode, created: &CreatedEndpoint) -> HttpResponse {
    let mut body = endpoint_json(&created.endpoint);
    body["secret"] = json!(created.secret.expose_secret());
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointBody {
    url: Option<String>,
    event_types: Option<Vec<String>>,
    enabled: Option<bool>,
}

impl From<EndpointBody> for EndpointInput {
    fn from(b: EndpointBody) -> Self {
        Self {
            url: b.url,
            event_types: b.event_types,
            enabled: b.enabled,
        }
    }
}

async fn list(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    client: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let all = state.services.webhooks.list(&ctx, &client).await?;
    let data: Vec<Value> = all.iter().map(endpoint_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "data": data })))
}

async fn create(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    client: web::Path<String>,
    body: web::Json<EndpointBody>,
) -> Result<HttpResponse, ApiError> {
    let created = state
        .services
        .webhooks
        .create(&ctx, &client, body.into_inner().into())
        .await?;
    Ok(with_secret(actix_web::http::StatusCode::CREATED, &created))
}

async fn get(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, hook) = path.into_inner();
    let endpoint = state.services.webhooks.get(&ctx, &client, &hook).await?;
    Ok(HttpResponse::Ok().json(endpoint_json(&endpoint)))
}

async fn update(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
    body: web::Json<EndpointBody>,
) -> Result<HttpResponse, ApiError> {
    let (client, hook) = path.into_inner();
    let endpoint = state
        .services
        .webhooks
        .update(&ctx, &client, &hook, body.into_inner().into())
        .await?;
    Ok(HttpResponse::Ok().json(endpoint_json(&endpoint)))
}

async fn delete(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, hook) = path.into_inner();
    state.services.webhooks.delete(&ctx, &client, &hook).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    overlap_hours: Option<u32>,
}

async fn rotate(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
    body: Option<web::Json<RotateBody>>,
) -> Result<HttpResponse, ApiError> {
    let (client, hook) = path.into_inner();
    let overlap = body
        .map(|b| b.into_inner())
        .unwrap_or_default()
        .overlap_hours;
    let created = state
        .services
        .webhooks
        .rotate_secret(&ctx, &client, &hook, overlap)
        .await?;
    Ok(with_secret(actix_web::http::StatusCode::OK, &created))
}

#[derive(Deserialize)]
struct DeliveryQuery {
    status: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

async fn deliveries(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
    query: web::Query<DeliveryQuery>,
) -> Result<HttpResponse, ApiError> {
    let (client, hook) = path.into_inner();
    let page =
        PageRequest::parse(query.limit, query.cursor.as_deref()).map_err(WebhookError::from)?;
    let page = state
        .services
        .webhooks
        .deliveries(&ctx, &client, &hook, query.status.as_deref(), page)
        .await?;
    let data: Vec<Value> = page.items.iter().map(delivery_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "data": data, "next_cursor": page.next_cursor })))
}

async fn replay(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, hook, delivery) = path.into_inner();
    let queued = state
        .services
        .webhooks
        .replay(&ctx, &client, &hook, &delivery)
        .await?;
    Ok(HttpResponse::Accepted().json(delivery_json(&queued)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeBody {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

async fn replay_range(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
    body: web::Json<RangeBody>,
) -> Result<HttpResponse, ApiError> {
    let (client, hook) = path.into_inner();
    let queued = state
        .services
        .webhooks
        .replay_range(&ctx, &client, &hook, body.from, body.to)
        .await?;
    Ok(HttpResponse::Accepted().json(json!({ "queued": queued })))
}
