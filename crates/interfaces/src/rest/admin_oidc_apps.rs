//! `/api/admin/clients/{id}/oidc-apps/*` (`X-Admin-Key`): a client's OIDC applications. The
//! answer carries `client_id` (what relying parties send) and, when one was just made, the
//! `client_secret` — shown once (`Cache-Control: no-store`).

use actix_web::{HttpResponse, web};
use authservice_application::oidc::{OidcAppError, OidcAppInput, SavedOidcApp, snapshot};
use authservice_application::pagination::PageRequest;
use authservice_domain::oidc_app::OidcApp;
use chrono::SecondsFormat;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};

use super::dto::double_option;
use super::organizations::PageQuery;
use super::{AdminCtx, HttpState};
use crate::error::ApiError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/clients/{id}/oidc-apps")
            .get(list)
            .post(create),
    )
    .service(
        web::resource("/clients/{id}/oidc-apps/{app}")
            .get(get)
            .patch(update)
            .delete(delete),
    )
    .service(web::resource("/clients/{id}/oidc-apps/{app}/rotate-secret").post(rotate_secret));
}

fn app_json(app: &OidcApp) -> Value {
    let mut value = snapshot(app);
    value["created_at"] = json!(app.created_at.to_rfc3339_opts(SecondsFormat::Millis, true));
    value["updated_at"] = json!(app.updated_at.to_rfc3339_opts(SecondsFormat::Millis, true));
    value
}

fn saved(status: actix_web::http::StatusCode, saved: &SavedOidcApp) -> HttpResponse {
    let mut body = app_json(&saved.app);
    if let Some(secret) = &saved.client_secret {
        body["client_secret"] = json!(secret.expose_secret());
    }
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppBody {
    name: Option<String>,
    #[serde(rename = "type")]
    app_type: Option<String>,
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    scopes: Option<Vec<String>>,
    grant_types: Option<Vec<String>>,
    token_endpoint_auth_method: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    jwks: Option<Option<Value>>,
    first_party: Option<bool>,
}

impl From<AppBody> for OidcAppInput {
    fn from(b: AppBody) -> Self {
        Self {
            name: b.name,
            app_type: b.app_type,
            redirect_uris: b.redirect_uris,
            post_logout_redirect_uris: b.post_logout_redirect_uris,
            scopes: b.scopes,
            grant_types: b.grant_types,
            token_endpoint_auth_method: b.token_endpoint_auth_method,
            jwks: b.jwks,
            first_party: b.first_party,
        }
    }
}

async fn create(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    client: web::Path<String>,
    body: web::Json<AppBody>,
) -> Result<HttpResponse, ApiError> {
    let app = state
        .services
        .oidc_apps
        .create(&ctx, &client, body.into_inner().into())
        .await?;
    Ok(saved(actix_web::http::StatusCode::CREATED, &app))
}

async fn list(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    client: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page =
        PageRequest::parse(query.limit, query.cursor.as_deref()).map_err(OidcAppError::from)?;
    let page = state.services.oidc_apps.list(&ctx, &client, page).await?;
    let apps: Vec<Value> = page.items.iter().map(app_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "oidc_apps": apps, "next_cursor": page.next_cursor })))
}

async fn get(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, app) = path.into_inner();
    let app = state.services.oidc_apps.get(&ctx, &client, &app).await?;
    Ok(HttpResponse::Ok().json(app_json(&app)))
}

async fn update(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
    body: web::Json<AppBody>,
) -> Result<HttpResponse, ApiError> {
    let (client, app) = path.into_inner();
    let app = state
        .services
        .oidc_apps
        .update(&ctx, &client, &app, body.into_inner().into())
        .await?;
    Ok(saved(actix_web::http::StatusCode::OK, &app))
}

async fn rotate_secret(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, app) = path.into_inner();
    let app = state
        .services
        .oidc_apps
        .rotate_secret(&ctx, &client, &app)
        .await?;
    Ok(saved(actix_web::http::StatusCode::OK, &app))
}

async fn delete(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, app) = path.into_inner();
    state.services.oidc_apps.delete(&ctx, &client, &app).await?;
    Ok(HttpResponse::NoContent().finish())
}
