//! The hosted pages' API: what an authorization request asks
//! (`/api/auth/oauth-requests/{handle}`), the consent decision, and the account page's connected
//! apps (`/api/auth/consents`).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use authservice_application::ErrorKind;
use serde::Deserialize;
use serde_json::json;

use super::super::HttpState;
use super::super::extractors::{CurrentUser, base_ctx};
use super::{binding, binding_cookie_of, cookie, same_origin};
use crate::error::ApiError;
use authservice_application::oauth::binding_cookie;

pub(super) async fn request_info(
    req: HttpRequest,
    state: web::Data<HttpState>,
    handle: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let info = state
        .services
        .authorize
        .info(&handle, cookie(&req).as_deref())
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "app": {
                "client_id": info.app.public_id,
                "name": info.app.name.as_str(),
                "first_party": info.app.first_party,
            },
            "tenant": { "name": info.client.name.as_str() },
            "scopes": info.scopes,
            "login_hint": info.login_hint,
            "prompt": info.prompt,
            "continue_url": info.continue_url,
            "user": info.user.map(|u| json!({ "email": u.email.as_str() })),
        })))
}

#[derive(Deserialize)]
pub(super) struct ConsentBody {
    approve: bool,
}

pub(super) async fn consent(
    req: HttpRequest,
    state: web::Data<HttpState>,
    handle: web::Path<String>,
    body: web::Json<ConsentBody>,
) -> Result<HttpResponse, ApiError> {
    if !same_origin(&req) {
        return Err(ApiError::new(
            ErrorKind::OriginNotAllowed,
            "consent is given on this server's own page",
        ));
    }
    let to = state
        .services
        .authorize
        .consent(
            &base_ctx(&req),
            &handle,
            cookie(&req).as_deref(),
            binding(&req, &handle).as_deref(),
            body.approve,
        )
        .await?;
    // Answered: the binding has done its work.
    let spent = binding_cookie_of(&state, binding_cookie(&handle), String::new(), 0);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(spent)
        .json(json!({ "redirect_to": to })))
}

pub(super) async fn list_consents(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let client = ctx
        .client
        .as_ref()
        .ok_or_else(|| ApiError::new(ErrorKind::Internal, "no client"))?;
    let consents = state.services.consents.list(client, caller.user.id).await?;
    Ok(HttpResponse::Ok().json(json!({
        "data": consents.iter().map(|c| json!({
            "app_id": c.app_public_id,
            "name": c.app_name,
            "scopes": c.scopes,
            "granted_at": c.granted_at,
        })).collect::<Vec<_>>(),
    })))
}

pub(super) async fn revoke_consent(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    app: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let client = ctx
        .client
        .clone()
        .ok_or_else(|| ApiError::new(ErrorKind::Internal, "no client"))?;
    state
        .services
        .consents
        .revoke(&ctx, &client, caller.user.id, &app)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
