//! `GET /api/auth/ui/config` (API key): what the hosted pages need to render for a client.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::extractors::ClientCtx;
use crate::error::ApiError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/ui/config").get(ui_config));
}

async fn ui_config(
    ClientCtx(ctx): ClientCtx,
    state: web::Data<super::HttpState>,
) -> Result<HttpResponse, ApiError> {
    let Some(client) = ctx.client else {
        return Err(ApiError::new(
            authservice_application::ErrorKind::Internal,
            "client missing from context",
        ));
    };
    let ui = &client.policy().auth_ui;
    // Enterprise SSO is offered when the client has an active connection.
    let internal = |e: anyhow::Error| {
        ApiError::new(authservice_application::ErrorKind::Internal, e.to_string())
    };
    let sso = state
        .services
        .sso_sign_in
        .offered(client.id)
        .await
        .map_err(internal)?;
    // The social providers it offers (enabled), for "Connected accounts".
    let social = state
        .services
        .social_sign_in
        .offered(client.id)
        .await
        .map_err(internal)?;
    // Branding as used for email too: a hex colour, an http(s) logo, a bounded name.
    let brand = authservice_domain::Branding::of(&client);
    Ok(HttpResponse::Ok().json(json!({
        "client_id": client.id.to_string(),
        "name": client.name.as_str(),
        "slug": client.slug.as_str(),
        "brand_name": brand.name,
        "logo_url": brand.logo_url.filter(|u| u.starts_with("https://")),
        "primary_color": brand.primary_color,
        "locale": brand.locale.as_deref().unwrap_or("en"),
        "methods": {
            "password": true,
            "magic_link": ui.magic_link,
            "passkey": ui.passkey,
            "totp": true,
            "recovery_code": true,
            "sso": sso,
            "social": social,
        },
        "allowed_redirect_origins": client.allowed_origins.iter().map(|o| o.as_str()).collect::<Vec<_>>(),
        // Exact return addresses; when any is registered only these receive a code.
        "redirect_uris": client.redirect_uris.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "pages": {
            "login": "/login.html",
            "signup": "/signup.html",
            "account": "/account.html",
            "forgot_password": "/forgot-password.html",
            "reset_password": "/reset-password.html",
            "verify_email": "/verify-email.html",
            "accept_invitation": "/accept-invitation.html",
            "consent": "/consent.html",
        },
    })))
}
