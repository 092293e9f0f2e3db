//! `/api/admin/clients/{id}/organizations/*` (`X-Admin-Key`): operators read a client's
//! organizations and members, and set a member's groups.

use actix_web::{HttpResponse, web};
use authservice_application::organizations::OrgError;
use authservice_application::pagination::PageRequest;
use authservice_domain::organization::Organization;
use chrono::SecondsFormat;
use serde_json::{Value, json};

use super::organizations::{PageQuery, member_json};
use super::{AdminCtx, HttpState};
use crate::error::ApiError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/clients/{id}/organizations").get(list))
        .service(web::resource("/clients/{id}/organizations/{org}/members").get(members))
        .service(
            web::resource("/clients/{id}/organizations/{org}/members/{user_id}/groups")
                .put(set_groups),
        );
}

fn org_json(org: &Organization) -> Value {
    json!({
        "id": org.id.to_string(),
        "name": org.name.as_str(),
        "slug": org.slug.as_str(),
        "metadata": org.metadata,
        "logo_url": org.logo_url.as_ref().map(|l| l.as_str()),
        "security_policy": org.security.to_value(),
        "policy_version": org.policy.version,
        "created_at": org.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "updated_at": org.updated_at.to_rfc3339_opts(SecondsFormat::Millis, true),
    })
}

fn page(query: &PageQuery) -> Result<PageRequest, OrgError> {
    Ok(PageRequest::parse(query.limit, query.cursor.as_deref())?)
}

async fn list(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    client: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .services
        .operate_organizations
        .list(&ctx, &client, page(&query)?)
        .await?;
    let orgs: Vec<Value> = page.items.iter().map(org_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "organizations": orgs, "next_cursor": page.next_cursor })))
}

async fn members(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let (client, org) = path.into_inner();
    let page = state
        .services
        .operate_organizations
        .members(&ctx, &client, &org, page(&query)?)
        .await?;
    let members: Vec<Value> = page.items.iter().map(member_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "members": members, "next_cursor": page.next_cursor })))
}

/// `{sso: [..], scim: [..]}`: the member's groups (what SSO and SCIM will feed).
async fn set_groups(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String, String)>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let (client, org, user) = path.into_inner();
    let member = state
        .services
        .operate_organizations
        .set_member_groups(&ctx, &client, &org, &user, &body)
        .await?;
    Ok(HttpResponse::Ok().json(member_json(&member)))
}
