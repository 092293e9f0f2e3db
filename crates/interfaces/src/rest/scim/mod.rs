//! SCIM 2.0. Directories: `/api/auth/enterprise-onboarding/scim-directories` (members with
//! `enterprise:write`) and `/api/admin/clients/{id}/scim-directories` (operators), one set of
//! handlers for both. The protocol itself: `/scim/v2/{directory}/…` ([`server`]).

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use authservice_application::auth::AuthenticatedUser;
use authservice_application::context::RequestCtx;
use authservice_application::organizations::{DirectoryInput, DomainActor, OrgError};
use authservice_application::pagination::PageRequest;
use authservice_domain::scim::ScimDirectory;
use chrono::SecondsFormat;
use futures_util::future::LocalBoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::HttpState;
use super::extractors::{AdminCtx, CurrentUser};
use crate::error::ApiError;

pub(crate) mod server;

/// Routes inside `/api` for members.
pub fn member_routes(cfg: &mut web::ServiceConfig) {
    directory_routes(cfg, "/auth/enterprise-onboarding/scim-directories");
}

/// Routes inside `/api/admin` for operators.
pub fn admin_routes(cfg: &mut web::ServiceConfig) {
    directory_routes(cfg, "/clients/{id}/scim-directories");
}

fn directory_routes(cfg: &mut web::ServiceConfig, base: &str) {
    cfg.service(web::resource(base).get(list).post(create))
        .service(
            web::resource(format!("{base}/{{directory}}"))
                .get(get)
                .patch(update),
        )
        .service(web::resource(format!("{base}/{{directory}}/rotate-token")).post(rotate));
}

/// A member (bearer + API key) or an operator (admin credentials; the client from the path).
enum Caller {
    Member(RequestCtx, Box<AuthenticatedUser>),
    Operator(RequestCtx, String),
}

impl Caller {
    fn ctx(&self) -> &RequestCtx {
        match self {
            Self::Member(ctx, _) | Self::Operator(ctx, _) => ctx,
        }
    }

    fn actor(&self) -> DomainActor<'_> {
        match self {
            Self::Member(_, caller) => DomainActor::Member(caller),
            Self::Operator(_, client) => DomainActor::Operator { client },
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if req.path().starts_with("/api/admin/") {
            let client = req.match_info().get("id").unwrap_or_default().to_owned();
            let admin = AdminCtx::from_request(req, payload);
            Box::pin(async move { Ok(Self::Operator(admin.await?.0, client)) })
        } else {
            let member = CurrentUser::from_request(req, payload);
            Box::pin(async move {
                let CurrentUser { ctx, caller } = member.await?;
                Ok(Self::Member(ctx, Box::new(caller)))
            })
        }
    }
}

fn directory_json(state: &HttpState, d: &ScimDirectory, token: Option<&SecretString>) -> Value {
    let mut v = authservice_application::organizations::directory_snapshot(d);
    let time = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    v["base_url"] = json!(format!(
        "{}/scim/v2/{}",
        state.services.sso_connections.settings().base_url,
        d.id
    ));
    v["created_at"] = json!(time(d.created_at));
    v["updated_at"] = json!(time(d.updated_at));
    v["last_sync_at"] = json!(d.last_sync_at.map(time));
    if let Some(token) = token {
        v["token"] = json!(token.expose_secret());
    }
    v
}

#[derive(Deserialize)]
struct ListQuery {
    organization_id: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    organization_id: Option<String>,
    name: Option<String>,
    status: Option<String>,
}

impl From<Body> for DirectoryInput {
    fn from(b: Body) -> Self {
        Self {
            organization_id: b.organization_id,
            name: b.name,
            status: b.status,
        }
    }
}

async fn list(
    caller: Caller,
    state: web::Data<HttpState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref()).map_err(OrgError::from)?;
    let page = state
        .services
        .scim_directories
        .list(
            caller.ctx(),
            caller.actor(),
            query.organization_id.as_deref(),
            page,
        )
        .await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|d| directory_json(&state, d, None))
        .collect();
    Ok(HttpResponse::Ok()
        .json(json!({ "scim_directories": items, "next_cursor": page.next_cursor })))
}

async fn create(
    caller: Caller,
    state: web::Data<HttpState>,
    body: web::Json<Body>,
) -> Result<HttpResponse, ApiError> {
    let (d, token) = state
        .services
        .scim_directories
        .create(caller.ctx(), caller.actor(), &body.into_inner().into())
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(directory_json(&state, &d, Some(&token))))
}

async fn get(
    caller: Caller,
    state: web::Data<HttpState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = req.match_info().get("directory").unwrap_or_default();
    let d = state
        .services
        .scim_directories
        .get(caller.ctx(), caller.actor(), id)
        .await?;
    Ok(HttpResponse::Ok().json(directory_json(&state, &d, None)))
}

async fn update(
    caller: Caller,
    state: web::Data<HttpState>,
    req: HttpRequest,
    body: web::Json<Body>,
) -> Result<HttpResponse, ApiError> {
    let id = req.match_info().get("directory").unwrap_or_default();
    let d = state
        .services
        .scim_directories
        .update(caller.ctx(), caller.actor(), id, &body.into_inner().into())
        .await?;
    Ok(HttpResponse::Ok().json(directory_json(&state, &d, None)))
}

async fn rotate(
    caller: Caller,
    state: web::Data<HttpState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = req.match_info().get("directory").unwrap_or_default();
    let (d, token) = state
        .services
        .scim_directories
        .rotate_token(caller.ctx(), caller.actor(), id)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(directory_json(&state, &d, Some(&token))))
}
