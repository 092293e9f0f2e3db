//! Organizations' domains: `/api/auth/enterprise-onboarding/domains` (members with
//! `enterprise:write`; `enterprise:read` to list) and `/api/admin/clients/{id}/domains`
//! (operators). A claim is proven by publishing its TXT record, then `…/verify`.

use actix_web::{HttpResponse, web};
use authservice_application::organizations::{DomainActor, OrgError};
use authservice_application::pagination::{Page, PageRequest};
use authservice_domain::organization::OrgDomain;
use chrono::SecondsFormat;
use serde::Deserialize;
use serde_json::{Value, json};

use super::extractors::CurrentUser;
use super::{AdminCtx, HttpState};
use crate::error::ApiError;

/// Routes inside `/api` for members.
pub fn member_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/auth/enterprise-onboarding/domains")
            .get(member_list)
            .post(member_add),
    )
    .service(web::resource("/auth/enterprise-onboarding/domains/{id}").delete(member_delete))
    .service(web::resource("/auth/enterprise-onboarding/domains/{id}/verify").post(member_verify));
}

/// Routes inside `/api/admin` for operators.
pub fn admin_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/clients/{id}/domains")
            .get(admin_list)
            .post(admin_add),
    )
    .service(web::resource("/clients/{id}/domains/{domain}").delete(admin_delete))
    .service(web::resource("/clients/{id}/domains/{domain}/verify").post(admin_verify));
}

fn domain_json(d: &OrgDomain) -> Value {
    json!({
        "id": d.id.to_string(),
        "organization_id": d.organization_id.as_uuid().to_string(),
        "domain": d.domain,
        "status": d.status.as_str(),
        "txt_name": d.txt_name,
        "txt_value": d.txt_value,
        "created_at": d.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "verified_at": d.verified_at.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
    })
}

fn listed(page: &Page<OrgDomain>) -> HttpResponse {
    let items: Vec<Value> = page.items.iter().map(domain_json).collect();
    HttpResponse::Ok().json(json!({ "domains": items, "next_cursor": page.next_cursor }))
}

#[derive(Deserialize)]
struct ListQuery {
    organization_id: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

impl ListQuery {
    fn page(&self) -> Result<PageRequest, OrgError> {
        Ok(PageRequest::parse(self.limit, self.cursor.as_deref())?)
    }
}

#[derive(Deserialize)]
struct AddBody {
    organization_id: String,
    domain: String,
}

async fn member_list(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let domains = state
        .services
        .domains
        .list(
            &ctx,
            DomainActor::Member(&caller),
            query.organization_id.as_deref(),
            query.page()?,
        )
        .await?;
    Ok(listed(&domains))
}

async fn member_add(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    body: web::Json<AddBody>,
) -> Result<HttpResponse, ApiError> {
    let claim = state
        .services
        .domains
        .add(
            &ctx,
            DomainActor::Member(&caller),
            &body.organization_id,
            &body.domain,
        )
        .await?;
    Ok(HttpResponse::Created().json(domain_json(&claim)))
}

async fn member_verify(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let claim = state
        .services
        .domains
        .verify(&ctx, DomainActor::Member(&caller), &id)
        .await?;
    Ok(HttpResponse::Ok().json(domain_json(&claim)))
}

async fn member_delete(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .services
        .domains
        .delete(&ctx, DomainActor::Member(&caller), &id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn admin_list(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    client: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let domains = state
        .services
        .domains
        .list(
            &ctx,
            DomainActor::Operator { client: &client },
            query.organization_id.as_deref(),
            query.page()?,
        )
        .await?;
    Ok(listed(&domains))
}

async fn admin_add(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    client: web::Path<String>,
    body: web::Json<AddBody>,
) -> Result<HttpResponse, ApiError> {
    let claim = state
        .services
        .domains
        .add(
            &ctx,
            DomainActor::Operator { client: &client },
            &body.organization_id,
            &body.domain,
        )
        .await?;
    Ok(HttpResponse::Created().json(domain_json(&claim)))
}

async fn admin_verify(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, id) = path.into_inner();
    let claim = state
        .services
        .domains
        .verify(&ctx, DomainActor::Operator { client: &client }, &id)
        .await?;
    Ok(HttpResponse::Ok().json(domain_json(&claim)))
}

async fn admin_delete(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, id) = path.into_inner();
    state
        .services
        .domains
        .delete(&ctx, DomainActor::Operator { client: &client }, &id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
