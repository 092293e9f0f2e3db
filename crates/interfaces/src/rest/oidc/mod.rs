//! The browser side of a tenant's OpenID Connect provider: `/t/{slug}/authorize` (and
//! `/authorize/continue` after the hosted login page), `/userinfo`, `/logout`, the discovery
//! document at `/t/{slug}/.well-known/openid-configuration`; and for the hosted pages
//! `/api/auth/oauth-requests/{handle}` (what is asked, the consent decision) and
//! `/api/auth/consents` (the account page's connected apps).
//!
//! Failures the spec forbids redirecting (an unknown client or redirect URI) are shown as a
//! small page of this server; the session is the hosted pages' `auth_refresh` cookie.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use authservice_application::oauth::{
    AuthorizeOutcome, REQUEST_TTL, UserInfoError, binding_cookie,
};
use authservice_domain::Client;
use serde::Deserialize;
use serde_json::json;

use super::HttpState;
use super::email::escape;
use super::extractors::{base_ctx, bearer};
use super::transport::REFRESH_COOKIE;

mod hosted;
mod logout;
use hosted::{consent, list_consents, request_info, revoke_consent};
use logout::{logout_get, logout_post};

/// Routes at the root (below each tenant's issuer).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/t/{slug}/authorize")
            .get(authorize_get)
            .post(authorize_post),
    )
    .service(web::resource("/t/{slug}/authorize/continue").get(authorize_continue))
    .service(
        web::resource("/t/{slug}/userinfo")
            .get(userinfo)
            .post(userinfo),
    )
    .service(
        web::resource("/t/{slug}/logout")
            .get(logout_get)
            .post(logout_post),
    )
    .service(web::resource("/t/{slug}/.well-known/openid-configuration").get(discovery));
}

/// Routes inside `/api`.
pub fn api_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/oauth-requests/{handle}").get(request_info))
        .service(web::resource("/auth/oauth-requests/{handle}/consent").post(consent))
        .service(web::resource("/auth/consents").get(list_consents))
        .service(web::resource("/auth/consents/{app}").delete(revoke_consent));
}

/// A small page of this server (no script; the hosted pages' stylesheet).
fn page(status: actix_web::http::StatusCode, title: &str, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title}</title><link rel=\"stylesheet\" href=\"/auth-ui.css\"></head>\
             <body><main class=\"as-card\"><h1>{title}</h1>{body}</main></body></html>",
            title = escape(title),
        ))
}

fn refused(error: &str, description: &str) -> HttpResponse {
    page(
        actix_web::http::StatusCode::BAD_REQUEST,
        "This sign-in request cannot be completed",
        &format!(
            "<p class=\"as-alert as-error\" role=\"alert\" id=\"oauth-error\" data-error=\"{}\">{}</p>",
            escape(error),
            escape(description)
        ),
    )
}

fn no_issuer() -> HttpResponse {
    page(
        actix_web::http::StatusCode::NOT_FOUND,
        "Unknown issuer",
        "<p class=\"as-alert as-error\" role=\"alert\">There is no such issuer here.</p>",
    )
}

fn server_error(e: &anyhow::Error) -> HttpResponse {
    tracing::error!(error = format!("{e:#}"), "OIDC endpoint failed");
    page(
        actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "<p class=\"as-alert as-error\" role=\"alert\">The server could not complete the request. Try again.</p>",
    )
}

fn answer(state: &HttpState, outcome: AuthorizeOutcome) -> HttpResponse {
    match outcome {
        AuthorizeOutcome::Redirect(to) => HttpResponse::Found()
            .insert_header((header::LOCATION, to))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        AuthorizeOutcome::Park {
            to,
            cookie_name,
            binding,
        } => {
            let mut res = HttpResponse::Found();
            res.insert_header((header::LOCATION, to))
                .insert_header((header::CACHE_CONTROL, "no-store"));
            if let Some(binding) = binding {
                let ttl = i64::try_from(REQUEST_TTL.as_secs()).unwrap_or(1800);
                res.cookie(binding_cookie_of(state, cookie_name, binding, ttl));
            }
            res.finish()
        }
        AuthorizeOutcome::Refuse { error, description } => refused(error, &description),
        AuthorizeOutcome::RateLimited { retry_after } => {
            let mut res = page(
                actix_web::http::StatusCode::TOO_MANY_REQUESTS,
                "Too many sign-in requests",
                "<p class=\"as-alert as-error\" role=\"alert\" id=\"oauth-error\" data-error=\"temporarily_unavailable\">Too many sign-in requests from this address. Wait a moment, then try again from the application.</p>",
            );
            if let Ok(value) =
                header::HeaderValue::from_str(&retry_after.as_secs().max(1).to_string())
            {
                res.headers_mut().insert(header::RETRY_AFTER, value);
            }
            res
        }
    }
}

fn cookie(req: &HttpRequest) -> Option<String> {
    req.cookie(REFRESH_COOKIE).map(|c| c.value().to_owned())
}

/// The tenant behind `/t/{slug}`, or the page for an unknown one.
async fn tenant(state: &HttpState, slug: &str) -> Result<Client, Box<HttpResponse>> {
    match state.services.tenant_issuer.find(slug).await {
        Ok(Some(client)) => Ok(client),
        Ok(None) => Err(Box::new(no_issuer())),
        Err(e) => Err(Box::new(server_error(&e))),
    }
}

/// Query or form parameters; a repeated one is refused (shown: nothing is verified yet).
fn single_params(raw: &[u8]) -> Result<HashMap<String, String>, Box<HttpResponse>> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw) {
        if out.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(Box::new(refused(
                "invalid_request",
                &format!(
                    "the parameter '{}' is repeated",
                    k.chars().take(40).collect::<String>()
                ),
            )));
        }
    }
    Ok(out)
}

async fn authorize(state: &HttpState, req: &HttpRequest, slug: &str, raw: &[u8]) -> HttpResponse {
    let client = match tenant(state, slug).await {
        Ok(c) => c,
        Err(page) => return *page,
    };
    let params = match single_params(raw) {
        Ok(p) => p,
        Err(page) => return *page,
    };
    match state
        .services
        .authorize
        .begin(&base_ctx(req), &client, &params, cookie(req).as_deref())
        .await
    {
        Ok(outcome) => answer(state, outcome),
        Err(e) => server_error(&e),
    }
}

/// The cookie binding a waiting request to this browser (`max_age` 0 deletes it). Lax: the way
/// back to `/authorize/continue` is a top-level navigation.
pub(super) fn binding_cookie_of(
    state: &HttpState,
    name: String,
    value: String,
    max_age: i64,
) -> actix_web::cookie::Cookie<'static> {
    actix_web::cookie::Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .secure(state.config.cookies.secure)
        .same_site(actix_web::cookie::SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(max_age))
        .finish()
}

/// The value of the cookie binding the request under `handle` to this browser.
fn binding(req: &HttpRequest, handle: &str) -> Option<String> {
    req.cookie(&binding_cookie(handle))
        .map(|c| c.value().to_owned())
}

async fn authorize_get(
    req: HttpRequest,
    state: web::Data<HttpState>,
    slug: web::Path<String>,
) -> HttpResponse {
    authorize(&state, &req, &slug, req.query_string().as_bytes()).await
}

async fn authorize_post(
    req: HttpRequest,
    state: web::Data<HttpState>,
    slug: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    authorize(&state, &req, &slug, &body).await
}

#[derive(Deserialize)]
struct ContinueQuery {
    request: String,
}

async fn authorize_continue(
    req: HttpRequest,
    state: web::Data<HttpState>,
    slug: web::Path<String>,
    query: web::Query<ContinueQuery>,
) -> HttpResponse {
    let client = match tenant(&state, &slug).await {
        Ok(c) => c,
        Err(page) => return *page,
    };
    match state
        .services
        .authorize
        .resume(
            &client,
            &query.request,
            cookie(&req).as_deref(),
            binding(&req, &query.request).as_deref(),
        )
        .await
    {
        Ok(outcome @ AuthorizeOutcome::Redirect(_)) => {
            // Answered: the binding has done its work.
            let mut res = answer(&state, outcome);
            let spent = binding_cookie_of(&state, binding_cookie(&query.request), String::new(), 0);
            let _ = res.add_cookie(&spent);
            res
        }
        Ok(outcome) => answer(&state, outcome),
        Err(e) => server_error(&e),
    }
}

async fn discovery(state: web::Data<HttpState>, slug: web::Path<String>) -> HttpResponse {
    let client = match state.services.tenant_issuer.find(&slug).await {
        Ok(Some(client)) => client,
        Ok(None) => {
            return HttpResponse::NotFound().json(
                json!({ "error": "invalid_request", "error_description": "no such issuer" }),
            );
        }
        Err(e) => return server_error(&e),
    };
    match id_token_algs(&state, &client).await {
        Ok(algs) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, super::oauth::PUBLIC_CACHE))
            .json(state.services.tenant_issuer.metadata(&client, &algs)),
        Err(e) => server_error(&e),
    }
}

/// The algorithms of the tenant's published keys (what its ID tokens may be signed with).
pub(super) async fn id_token_algs(
    state: &HttpState,
    client: &Client,
) -> anyhow::Result<Vec<String>> {
    if client.token_mode != authservice_domain::TokenMode::V2Jwks {
        return Ok(Vec::new());
    }
    let keys = state.services.publish_jwks.execute(Some(client.id)).await?;
    let mut algs: Vec<String> = Vec::new();
    for key in keys {
        if let Some(alg) = key.get("alg").and_then(|a| a.as_str())
            && !algs.iter().any(|a| a == alg)
        {
            algs.push(alg.to_owned());
        }
    }
    Ok(algs)
}

async fn userinfo(
    req: HttpRequest,
    state: web::Data<HttpState>,
    slug: web::Path<String>,
) -> HttpResponse {
    let client = match state.services.tenant_issuer.find(&slug).await {
        Ok(Some(client)) => client,
        Ok(None) => {
            return HttpResponse::NotFound().json(
                json!({ "error": "invalid_request", "error_description": "no such issuer" }),
            );
        }
        Err(e) => return server_error(&e),
    };
    match state
        .services
        .userinfo
        .execute(&client, bearer(&req).as_deref())
        .await
    {
        Ok(claims) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(claims),
        Err(UserInfoError::Unexpected(e)) => server_error(&e),
        Err(UserInfoError::InsufficientScope) => HttpResponse::Forbidden()
            .insert_header((
                header::WWW_AUTHENTICATE,
                "Bearer error=\"insufficient_scope\", scope=\"openid\"",
            ))
            .json(json!({ "error": "insufficient_scope", "error_description": UserInfoError::InsufficientScope.to_string() })),
        Err(UserInfoError::InvalidToken(why)) => HttpResponse::Unauthorized()
            .insert_header((
                header::WWW_AUTHENTICATE,
                format!("Bearer error=\"invalid_token\", error_description=\"{why}\""),
            ))
            .json(json!({ "error": "invalid_token", "error_description": why })),
    }
}

/// Whether the request's `Origin` (when sent) is this server's own.
pub(super) fn same_origin(req: &HttpRequest) -> bool {
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
    else {
        return true;
    };
    let info = req.connection_info();
    origin == format!("{}://{}", info.scheme(), info.host())
}
