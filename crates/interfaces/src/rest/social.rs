//! Social sign-in. Operators configure a client's providers under
//! `/api/admin/clients/{id}/social-providers[/{provider}]`; a browser signs in with
//! `GET /api/auth/oauth/{provider}?api_key=&redirect_uri=&state=` → the provider →
//! `GET /api/auth/oauth/{provider}/callback` → the app (or `/login.html`) with an `auth_code`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::HttpState;
use super::extractors::{AdminCtx, CurrentUser};
use super::sso::browser::{CallbackQuery, StartQuery, Target, begin, binding_cookie, finish};
use crate::error::ApiError;

/// Routes inside `/api` (the browser's way).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/oauth/link/complete").post(complete_link))
        .service(web::resource("/auth/oauth/{provider}").get(start))
        .service(
            web::resource("/auth/oauth/{provider}/callback")
                .get(callback)
                .post(callback_post),
        )
        .service(web::resource("/auth/oauth/{provider}/link").post(link))
        .service(web::resource("/auth/me/identities").get(identities))
        .service(web::resource("/auth/me/identities/{provider}").delete(disconnect))
        .service(web::resource("/auth/me/identities/{provider}/tokens").get(tokens));
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

/// A provider answering with `response_mode=form_post` (Apple).
async fn callback_post(
    req: HttpRequest,
    state: web::Data<HttpState>,
    provider: web::Path<String>,
    form: web::Form<CallbackQuery>,
) -> HttpResponse {
    finish(
        &req,
        &state,
        Target::Social(&provider),
        form.into_inner(),
        None,
    )
    .await
}

/// The provider's tokens kept with the caller's identity (`store_tokens`).
async fn tokens(
    CurrentUser { caller, .. }: CurrentUser,
    state: web::Data<HttpState>,
    provider: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tokens = state
        .services
        .connected_accounts
        .tokens(&caller, &provider)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(tokens))
}

#[derive(serde::Deserialize)]
struct CompleteLink {
    link_token: String,
}

/// Completes the link a social sign-in parked for this (just signed-in) account, in the
/// browser that holds the link's cookie.
async fn complete_link(
    req: HttpRequest,
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    body: web::Json<CompleteLink>,
) -> Result<HttpResponse, ApiError> {
    use authservice_application::sso::LINK_COOKIE;
    let binding = req.cookie(LINK_COOKIE).map(|c| c.value().to_owned());
    let kind = state
        .services
        .connected_accounts
        .complete_link(&ctx, &caller, &body.link_token, binding.as_deref())
        .await?;
    let mut gone = actix_web::cookie::Cookie::build(LINK_COOKIE, "")
        .path("/api/auth/oauth/link")
        .http_only(true)
        .secure(state.config.cookies.secure)
        .same_site(actix_web::cookie::SameSite::Lax)
        .finish();
    gone.make_removal();
    Ok(HttpResponse::Ok()
        .cookie(gone)
        .json(json!({ "provider": kind.as_str() })))
}

/// The caller's connected providers.
async fn identities(
    CurrentUser { caller, .. }: CurrentUser,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let identities = state.services.connected_accounts.list(&caller).await?;
    Ok(HttpResponse::Ok().json(json!({ "identities": identities })))
}

/// Begins connecting a provider to the caller's account: `{url}` to open in this browser (the
/// answer sets the cookie binding the attempt to it); the provider comes back to the callback,
/// which returns to `/account.html?connected={provider}`.
async fn link(
    CurrentUser { caller, .. }: CurrentUser,
    state: web::Data<HttpState>,
    provider: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let started = state
        .services
        .connected_accounts
        .begin(&caller, &provider)
        .await?;
    Ok(HttpResponse::Ok()
        .cookie(binding_cookie(&state, &started, "/api/auth/oauth"))
        .json(json!({ "url": started.location })))
}

async fn disconnect(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    provider: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .services
        .connected_accounts
        .disconnect(&ctx, &caller, &provider)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
