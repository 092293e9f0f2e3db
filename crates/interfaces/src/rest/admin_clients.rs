//! `/api/admin/clients`: create, list, get, patch, rotate keys (a client's users: admin_end_users).

use actix_web::{HttpResponse, web};
use authservice_application::clients::{
    CreateClientInput, ListClientsInput, RotateSigningKeyInput, UpdateClientInput,
};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};

use super::HttpState;
use super::dto::{ClientDto, ClientList, double_option};
use super::extractors::AdminCtx;
use crate::error::ApiError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/clients")
            .post(create_client)
            .get(list_clients),
    )
    .service(
        web::resource("/clients/{id}")
            .get(get_client)
            .patch(update_client),
    )
    .service(web::resource("/client-settings").get(client_settings))
    .service(web::resource("/clients/{id}/rotate-api-key").post(rotate_api_key))
    .service(web::resource("/clients/{id}/rotate-key").post(rotate_api_key))
    .service(web::resource("/clients/{id}/rotate-secret").post(rotate_jwt_secret))
    .service(web::resource("/clients/{id}/rotate-jwt").post(rotate_jwt_secret))
    .service(web::resource("/clients/{id}/signing-keys").get(list_signing_keys))
    .service(web::resource("/clients/{id}/signing-keys/rotate").post(rotate_signing_key));
}

#[derive(Debug, Deserialize)]
struct CreateClientBody {
    name: String,
    slug: Option<String>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    webhook_url: Option<String>,
    settings: Option<Value>,
    token_mode: Option<String>,
    signing_algorithm: Option<String>,
}

async fn create_client(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    body: web::Json<CreateClientBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let created = state
        .services
        .create_client
        .execute(
            &ctx,
            CreateClientInput {
                name: body.name,
                slug: body.slug,
                allowed_origins: body.allowed_origins,
                redirect_uris: body.redirect_uris,
                webhook_url: body.webhook_url,
                settings: body.settings,
                token_mode: body.token_mode,
                signing_algorithm: body.signing_algorithm,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(json!({
        "client": ClientDto::from(&created.client),
        "api_key": created.api_key.expose(),
        "jwt_secret": created.jwt_secret.expose_secret(),
    })))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

async fn list_clients(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = state
        .services
        .list_clients
        .execute(
            &ctx,
            ListClientsInput {
                limit: query.limit,
                cursor: query.cursor,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(ClientList::from(page)))
}

async fn get_client(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let client = state.services.get_client.execute(&ctx, &id).await?;
    Ok(HttpResponse::Ok().json(ClientDto::from(&client)))
}

#[derive(Debug, Deserialize)]
struct PatchClientBody {
    name: Option<String>,
    slug: Option<String>,
    allowed_origins: Option<Vec<String>>,
    redirect_uris: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    webhook_url: Option<Option<String>>,
    settings: Option<Value>,
    status: Option<String>,
    token_mode: Option<String>,
}

async fn update_client(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    id: web::Path<String>,
    body: web::Json<PatchClientBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let client = state
        .services
        .update_client
        .execute(
            &ctx,
            &id,
            UpdateClientInput {
                name: body.name,
                slug: body.slug,
                allowed_origins: body.allowed_origins,
                redirect_uris: body.redirect_uris,
                webhook_url: body.webhook_url,
                settings: body.settings,
                status: body.status,
                token_mode: body.token_mode,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(ClientDto::from(&client)))
}

async fn rotate_api_key(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rotated = state.services.rotate_api_key.execute(&ctx, &id).await?;
    Ok(HttpResponse::Ok().json(json!({
        "client": ClientDto::from(&rotated.client),
        "api_key": rotated.api_key.expose(),
    })))
}

async fn rotate_jwt_secret(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rotated = state.services.rotate_jwt_secret.execute(&ctx, &id).await?;
    Ok(HttpResponse::Ok().json(json!({
        "client": ClientDto::from(&rotated.client),
        "jwt_secret": rotated.jwt_secret.expose_secret(),
    })))
}

fn keys_json(keys: &[authservice_application::ports::SigningKeyInfo]) -> Value {
    let rfc =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    json!({
        "keys": keys
            .iter()
            .map(|k| json!({
                "kid": k.kid,
                "alg": k.alg,
                "status": k.status,
                "created_at": rfc(k.created_at),
                "retires_at": k.retires_at.map(rfc),
            }))
            .collect::<Vec<_>>(),
    })
}

async fn list_signing_keys(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let keys = state.services.signing_keys.list(&ctx, &id).await?;
    Ok(HttpResponse::Ok().json(keys_json(&keys)))
}

#[derive(Debug, Deserialize, Default)]
struct RotateSigningKeyBody {
    algorithm: Option<String>,
    overlap_hours: Option<i64>,
}

async fn rotate_signing_key(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    id: web::Path<String>,
    body: Option<web::Json<RotateSigningKeyBody>>,
) -> Result<HttpResponse, ApiError> {
    let body = body.map(web::Json::into_inner).unwrap_or_default();
    let keys = state
        .services
        .signing_keys
        .rotate(
            &ctx,
            &id,
            RotateSigningKeyInput {
                algorithm: body.algorithm,
                overlap_hours: body.overlap_hours,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(keys_json(&keys)))
}

/// `GET /api/admin/client-settings`: every setting a client may have, typed (what the portal's
/// settings form is generated from).
async fn client_settings(AdminCtx(ctx): AdminCtx) -> Result<HttpResponse, ApiError> {
    ctx.require(authservice_domain::Permission::ClientsRead)
        .map_err(authservice_application::clients::ClientActionError::from)?;
    let data: Vec<serde_json::Value> = authservice_domain::client::SETTING_KEYS
        .iter()
        .map(|(key, kind)| {
            let mut v = kind.describe();
            v["key"] = serde_json::json!(key);
            v
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "data": data })))
}
