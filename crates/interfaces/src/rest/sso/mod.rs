//! Enterprise SSO. Connections: `/api/auth/enterprise-onboarding/sso-connections` (members
//! with `enterprise:write`; `enterprise:read` to read) and `/api/admin/clients/{id}/
//! sso-connections` (operators). The browser's way: `GET /api/auth/sso?domain=|email=` or
//! `GET /api/auth/sso/{connection}` (with `api_key`, `redirect_uri`, `state`, `code_challenge`)
//! → the IdP → `GET /api/auth/sso/callback/{connection}` → `302` to the app's redirect URI (or
//! `/login.html`) with a one-time `auth_code`, or with `error=<code>` only.

use actix_web::{HttpResponse, web};
use authservice_application::organizations::{ConnectionInput, DomainActor, OrgError};
use authservice_application::pagination::{Page, PageRequest};
use authservice_domain::sso::SsoConnection;
use chrono::SecondsFormat;
use serde::Deserialize;
use serde_json::{Value, json};

use super::HttpState;

pub(super) mod browser;
use super::extractors::{AdminCtx, CurrentUser};
use crate::error::ApiError;

/// Routes inside `/api`: members' management and the browser's way.
pub fn member_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/auth/enterprise-onboarding/sso-connections")
            .get(member_list)
            .post(member_create),
    )
    .service(
        web::resource("/auth/enterprise-onboarding/sso-connections/{id}")
            .get(member_get)
            .patch(member_update)
            .delete(member_delete),
    )
    .service(
        web::resource("/auth/enterprise-onboarding/sso-connections/{id}/test-sign-in")
            .post(member_test),
    )
    .service(
        web::resource("/auth/enterprise-onboarding/sso-connections/{id}/test-sign-in/{test}")
            .get(member_test_result),
    )
    .service(web::resource("/auth/sso").get(browser::start))
    .service(
        web::resource("/auth/sso/callback/{connection}")
            // A SAML Response (with its certificates) is larger than the default form limit.
            .app_data(web::FormConfig::default().limit(1024 * 1024))
            .get(browser::callback)
            .post(browser::callback_post),
    )
    .service(web::resource("/auth/sso/metadata/{connection}").get(browser::sp_metadata))
    .service(web::resource("/auth/sso/{connection}").get(browser::start_connection));
}

/// Routes inside `/api/admin` for operators.
pub fn admin_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/clients/{id}/sso-connections")
            .get(admin_list)
            .post(admin_create),
    )
    .service(
        web::resource("/clients/{id}/sso-connections/{connection}")
            .get(admin_get)
            .patch(admin_update)
            .delete(admin_delete),
    )
    .service(
        web::resource("/clients/{id}/sso-connections/{connection}/test-sign-in").post(admin_test),
    )
    .service(
        web::resource("/clients/{id}/sso-connections/{connection}/test-sign-in/{test}")
            .get(admin_test_result),
    );
}

fn connection_json(state: &HttpState, c: &SsoConnection) -> Value {
    let settings = state.services.sso_connections.settings();
    let mut v = authservice_application::organizations::connection_snapshot(c);
    let time = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    v["callback_url"] = json!(settings.callback_url(c.id));
    if c.protocol == authservice_domain::sso::SsoProtocol::Saml {
        // What the IdP is configured with: our entityID (= metadata URL) and ACS.
        v["sp_entity_id"] = json!(settings.metadata_url(c.id));
        v["metadata_url"] = json!(settings.metadata_url(c.id));
        v["acs_url"] = json!(settings.callback_url(c.id));
    }
    v["start_url"] = json!(settings.start_url(c.id));
    v["created_at"] = json!(time(c.created_at));
    v["updated_at"] = json!(time(c.updated_at));
    v["last_login_at"] = json!(c.last_login_at.map(time));
    v
}

fn listed(state: &HttpState, page: &Page<SsoConnection>) -> HttpResponse {
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|c| connection_json(state, c))
        .collect();
    HttpResponse::Ok().json(json!({ "sso_connections": items, "next_cursor": page.next_cursor }))
}

#[derive(Deserialize)]
struct ListQuery {
    organization_id: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Deserialize)]
struct Body {
    organization_id: Option<String>,
    name: Option<String>,
    protocol: Option<String>,
    status: Option<String>,
    domains: Option<Value>,
    enforce_for_domains: Option<bool>,
    jit: Option<bool>,
    attribute_mapping: Option<Value>,
    oidc: Option<Value>,
    saml: Option<Value>,
}

impl From<Body> for ConnectionInput {
    fn from(b: Body) -> Self {
        Self {
            organization_id: b.organization_id,
            name: b.name,
            protocol: b.protocol,
            status: b.status,
            domains: b.domains,
            enforce_for_domains: b.enforce_for_domains,
            jit: b.jit,
            attribute_mapping: b.attribute_mapping,
            oidc: b.oidc,
            saml: b.saml,
        }
    }
}

// ------------------------------------------------------------------ management

async fn list(
    state: &HttpState,
    ctx: &authservice_application::context::RequestCtx,
    actor: DomainActor<'_>,
    query: &ListQuery,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref()).map_err(OrgError::from)?;
    let connections = state
        .services
        .sso_connections
        .list(ctx, actor, query.organization_id.as_deref(), page)
        .await?;
    Ok(listed(state, &connections))
}

async fn member_list(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    list(&state, &ctx, DomainActor::Member(&caller), &query).await
}

async fn admin_list(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    client: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    list(
        &state,
        &ctx,
        DomainActor::Operator { client: &client },
        &query,
    )
    .await
}

async fn member_create(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    body: web::Json<Body>,
) -> Result<HttpResponse, ApiError> {
    let c = state
        .services
        .sso_connections
        .create(
            &ctx,
            DomainActor::Member(&caller),
            &body.into_inner().into(),
        )
        .await?;
    Ok(HttpResponse::Created().json(connection_json(&state, &c)))
}

async fn admin_create(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    client: web::Path<String>,
    body: web::Json<Body>,
) -> Result<HttpResponse, ApiError> {
    let actor = DomainActor::Operator { client: &client };
    let c = state
        .services
        .sso_connections
        .create(&ctx, actor, &body.into_inner().into())
        .await?;
    Ok(HttpResponse::Created().json(connection_json(&state, &c)))
}

async fn member_get(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let actor = DomainActor::Member(&caller);
    let c = state.services.sso_connections.get(&ctx, actor, &id).await?;
    Ok(HttpResponse::Ok().json(connection_json(&state, &c)))
}

async fn admin_get(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, id) = path.into_inner();
    let actor = DomainActor::Operator { client: &client };
    let c = state.services.sso_connections.get(&ctx, actor, &id).await?;
    Ok(HttpResponse::Ok().json(connection_json(&state, &c)))
}

async fn member_update(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    id: web::Path<String>,
    body: web::Json<Body>,
) -> Result<HttpResponse, ApiError> {
    let actor = DomainActor::Member(&caller);
    let input = body.into_inner().into();
    let c = state
        .services
        .sso_connections
        .update(&ctx, actor, &id, &input)
        .await?;
    Ok(HttpResponse::Ok().json(connection_json(&state, &c)))
}

async fn admin_update(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
    body: web::Json<Body>,
) -> Result<HttpResponse, ApiError> {
    let (client, id) = path.into_inner();
    let actor = DomainActor::Operator { client: &client };
    let input = body.into_inner().into();
    let c = state
        .services
        .sso_connections
        .update(&ctx, actor, &id, &input)
        .await?;
    Ok(HttpResponse::Ok().json(connection_json(&state, &c)))
}

async fn member_delete(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let actor = DomainActor::Member(&caller);
    state
        .services
        .sso_connections
        .delete(&ctx, actor, &id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn admin_delete(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, id) = path.into_inner();
    let actor = DomainActor::Operator { client: &client };
    state
        .services
        .sso_connections
        .delete(&ctx, actor, &id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn test(
    state: &HttpState,
    ctx: &authservice_application::context::RequestCtx,
    actor: DomainActor<'_>,
    id: &str,
) -> Result<HttpResponse, ApiError> {
    let (test, url) = state
        .services
        .sso_connections
        .test_sign_in(ctx, actor, id)
        .await?;
    Ok(HttpResponse::Created().json(json!({ "test_id": test.to_string(), "url": url })))
}

async fn member_test(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    test(&state, &ctx, DomainActor::Member(&caller), &id).await
}

async fn admin_test(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, id) = path.into_inner();
    test(&state, &ctx, DomainActor::Operator { client: &client }, &id).await
}

async fn member_test_result(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, test) = path.into_inner();
    let actor = DomainActor::Member(&caller);
    let result = state
        .services
        .sso_connections
        .test_result(&ctx, actor, &id, &test)
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

async fn admin_test_result(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, id, test) = path.into_inner();
    let actor = DomainActor::Operator { client: &client };
    let result = state
        .services
        .sso_connections
        .test_result(&ctx, actor, &id, &test)
        .await?;
    Ok(HttpResponse::Ok().json(result))
}
