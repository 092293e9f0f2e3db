//! `/api/admin/clients/{id}/service-accounts/*` (`X-Admin-Key`): a client's service accounts
//! and their keys. A key's `secret` (`m2m_…`) is in the creating answer only
//! (`Cache-Control: no-store`).

use actix_web::{HttpResponse, web};
use authservice_application::oauth::{
    CreatedKey, KeyInput, ServiceAccountError, ServiceAccountInput, account_snapshot, key_snapshot,
};
use authservice_application::pagination::PageRequest;
use authservice_domain::service_account::ServiceAccount;
use chrono::{DateTime, SecondsFormat, Utc};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};

use super::dto::optional_json;
use super::organizations::PageQuery;
use super::{AdminCtx, HttpState};
use crate::error::ApiError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/clients/{id}/service-accounts")
            .get(list)
            .post(create),
    )
    .service(
        web::resource("/clients/{id}/service-accounts/{sa}")
            .get(get)
            .patch(update)
            .delete(disable),
    )
    .service(
        web::resource("/clients/{id}/service-accounts/{sa}/keys")
            .get(keys)
            .post(create_key),
    )
    .service(web::resource("/clients/{id}/service-accounts/{sa}/keys/{key}").delete(revoke_key))
    .service(
        web::resource("/clients/{id}/service-accounts/{sa}/keys/{key}/rotate").post(rotate_key),
    );
}

fn account_json(account: &ServiceAccount) -> Value {
    let mut value = account_snapshot(account);
    let time = |t: DateTime<Utc>| json!(t.to_rfc3339_opts(SecondsFormat::Millis, true));
    value["client_id"] = json!(account.client_id.to_string());
    value["created_at"] = time(account.created_at);
    value["updated_at"] = time(account.updated_at);
    value
}

fn created_key(created: &CreatedKey) -> HttpResponse {
    let mut body = key_snapshot(&created.key, created.key.created_at);
    body["secret"] = json!(created.secret.expose_secret());
    HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountBody {
    name: Option<String>,
    scopes: Option<Vec<String>>,
    status: Option<String>,
}

impl From<AccountBody> for ServiceAccountInput {
    fn from(b: AccountBody) -> Self {
        Self {
            name: b.name,
            scopes: b.scopes,
            status: b.status,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct KeyBody {
    scopes: Option<Vec<String>>,
    expires_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    overlap_hours: Option<u32>,
    expires_at: Option<DateTime<Utc>>,
}

/// Rotation keeps the old key working this long unless told otherwise.
const DEFAULT_OVERLAP_HOURS: u32 = 24;

async fn create(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    client: web::Path<String>,
    body: web::Json<AccountBody>,
) -> Result<HttpResponse, ApiError> {
    let account = state
        .services
        .service_accounts
        .create(&ctx, &client, body.into_inner().into())
        .await?;
    Ok(HttpResponse::Created().json(account_json(&account)))
}

async fn list(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    client: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())
        .map_err(ServiceAccountError::from)?;
    let page = state
        .services
        .service_accounts
        .list(&ctx, &client, page)
        .await?;
    let accounts: Vec<Value> = page.items.iter().map(account_json).collect();
    Ok(HttpResponse::Ok()
        .json(json!({ "service_accounts": accounts, "next_cursor": page.next_cursor })))
}

async fn get(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, sa) = path.into_inner();
    let account = state
        .services
        .service_accounts
        .get(&ctx, &client, &sa)
        .await?;
    Ok(HttpResponse::Ok().json(account_json(&account)))
}

async fn update(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
    body: web::Json<AccountBody>,
) -> Result<HttpResponse, ApiError> {
    let (client, sa) = path.into_inner();
    let account = state
        .services
        .service_accounts
        .update(&ctx, &client, &sa, body.into_inner().into())
        .await?;
    Ok(HttpResponse::Ok().json(account_json(&account)))
}

async fn disable(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, sa) = path.into_inner();
    let account = state
        .services
        .service_accounts
        .disable(&ctx, &client, &sa)
        .await?;
    Ok(HttpResponse::Ok().json(account_json(&account)))
}

async fn keys(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, sa) = path.into_inner();
    let (_, keys) = state
        .services
        .service_accounts
        .keys(&ctx, &client, &sa)
        .await?;
    let now = Utc::now();
    let keys: Vec<Value> = keys.iter().map(|k| key_snapshot(k, now)).collect();
    Ok(HttpResponse::Ok().json(json!({ "keys": keys })))
}

async fn create_key(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (client, sa) = path.into_inner();
    let body: KeyBody = optional_json(&body)?;
    let created = state
        .services
        .service_accounts
        .create_key(
            &ctx,
            &client,
            &sa,
            KeyInput {
                scopes: body.scopes,
                expires_at: body.expires_at,
            },
        )
        .await?;
    Ok(created_key(&created))
}

async fn revoke_key(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, sa, key) = path.into_inner();
    state
        .services
        .service_accounts
        .revoke_key(&ctx, &client, &sa, &key)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn rotate_key(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (client, sa, key) = path.into_inner();
    let body: RotateBody = optional_json(&body)?;
    let created = state
        .services
        .service_accounts
        .rotate_key(
            &ctx,
            &client,
            &sa,
            &key,
            body.overlap_hours.unwrap_or(DEFAULT_OVERLAP_HOURS),
            body.expires_at,
        )
        .await?;
    Ok(created_key(&created))
}
