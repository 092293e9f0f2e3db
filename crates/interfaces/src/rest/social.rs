//! Social sign-in. Operators configure a client's providers under
//! `/api/admin/clients/{id}/social-providers[/{provider}]`; a browser signs in with
//! `GET /api/auth/oauth/{provider}?api_key=&redirect_uri=&state=` → the provider →
//! `GET /api/auth/oauth/{provider}/callback` → the app (or `/login.html`) with an `auth_code`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::HttpState;
use super::extractors::AdminCtx;
use super::sso::browser::{CallbackQuery, StartQuery, Target, begin, finish};
use crate::error::ApiError;

/// Routes inside `/api` (the browser's way).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/oauth/{provider}").get(start))
        .service(web::resource("/auth/oauth/{provider}/callback").get(callback));
}

/// Routes inside `/api/admin`.
pub fn admin_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/clients/{id}/social-providers").get(list))
        .service(
            web::resource("/clients/{id}/social-providers/{provider}")
                .put(put)
                .delete(delete),
        );
}

async fn list(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    client: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let providers = state.services.social_providers.list(&ctx, &client).await?;
    Ok(HttpResponse::Ok().json(json!({ "providers": providers })))
}

async fn put(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let (client, provider) = path.into_inner();
    let answer = state
        .services
        .social_providers
        .put(&ctx, &client, &provider, &body)
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

async fn delete(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, provider) = path.into_inner();
    state
        .services
        .social_providers
        .delete(&ctx, &client, &provider)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn start(
    req: HttpRequest,
    state: web::Data<HttpState>,
    provider: web::Path<String>,
    query: web::Query<StartQuery>,
) -> HttpResponse {
    begin(&req, &state, query.into_inner(), Target::Social(&provider)).await
}

async fn callback(
    req: HttpRequest,
    state: web::Data<HttpState>,
    provider: web::Path<String>,
    query: web::Query<CallbackQuery>,
) -> HttpResponse {
    finish(
        &req,
        &state,
        Target::Social(&provider),
        query.into_inner(),
        None,
    )
    .await
}
