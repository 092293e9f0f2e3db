//! The OAuth 2.0 endpoints: `POST /oauth/token` and `/api/oauth/token` (client_credentials),
//! `/oauth/introspect` (RFC 7662), `/oauth/revoke` (RFC 7009), and the same below each tenant's
//! issuer `/t/{slug}` with its metadata (RFC 8414, at `/t/{slug}/.well-known/…` and at the
//! path-inserted `/.well-known/oauth-authorization-server/t/{slug}`) and its own JWKS.
//!
//! Parameters come form-encoded (RFC 6749) or as a JSON object; each at most once. Callers
//! authenticate with HTTP Basic or `client_id` + `client_secret` in the body, never both.
//! Failures are RFC 6749 bodies (`error`, `error_description`), 401s carry `WWW-Authenticate`,
//! and every answer is `Cache-Control: no-store`.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use authservice_application::oauth::{Introspection, OAuthCaller, OAuthError};
use authservice_domain::Client;
use serde_json::{Value, json};

use super::HttpState;
use super::extractors::base_ctx;

mod credentials;
use credentials::{params, presented};

/// Routes at the root (`/oauth/*`, `/t/{slug}/*`, the path-inserted metadata).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/oauth/token").post(token))
        .service(web::resource("/oauth/introspect").post(introspect))
        .service(web::resource("/oauth/revoke").post(revoke))
        .service(web::resource("/t/{slug}/token").post(tenant_token))
        .service(web::resource("/t/{slug}/introspect").post(tenant_introspect))
        .service(web::resource("/t/{slug}/revoke").post(tenant_revoke))
        .service(web::resource("/t/{slug}/jwks").get(tenant_jwks))
        .service(
            web::resource("/t/{slug}/.well-known/oauth-authorization-server").get(tenant_metadata),
        )
        .service(
            web::resource("/.well-known/oauth-authorization-server/t/{slug}").get(tenant_metadata),
        );
}

/// Routes inside `/api` (`/api/oauth/*`).
pub fn api_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/oauth/token").post(token))
        .service(web::resource("/oauth/introspect").post(introspect))
        .service(web::resource("/oauth/revoke").post(revoke));
}

/// The answer to a failure, in RFC 6749 form.
fn failure(err: &OAuthError) -> HttpResponse {
    if let OAuthError::Unexpected(e) = err {
        tracing::error!(error = format!("{e:#}"), "OAuth endpoint failed");
    }
    let status = actix_web::http::StatusCode::from_u16(err.status())
        .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    let mut res = HttpResponse::build(status);
    res.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    if status == actix_web::http::StatusCode::UNAUTHORIZED {
        res.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"authservice\""));
    }
    if let OAuthError::RateLimited { retry_after } = err {
        res.insert_header((
            header::RETRY_AFTER,
            retry_after.as_secs().max(1).to_string(),
        ));
    }
    res.json(json!({ "error": err.code(), "error_description": err.description() }))
}

fn no_store(value: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(value)
}

/// Answers for the tenant behind `/t/{slug}` with `f`: 404 (RFC 6749 form) when there is
/// none, failures in RFC 6749 form.
async fn at_tenant(
    state: &HttpState,
    slug: &str,
    f: impl AsyncFnOnce(Client) -> Result<HttpResponse, OAuthError>,
) -> HttpResponse {
    match state.services.tenant_issuer.find(slug).await {
        Ok(Some(client)) => f(client).await.unwrap_or_else(|e| failure(&e)),
        Ok(None) => unknown_issuer(),
        Err(e) => failure(&e.into()),
    }
}

fn unknown_issuer() -> HttpResponse {
    HttpResponse::NotFound()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "error": "invalid_request", "error_description": "no such issuer" }))
}

/// Parses the request and authenticates its caller.
async fn authenticated(
    req: &HttpRequest,
    state: &HttpState,
    tenant: Option<&Client>,
    body: &[u8],
    allow_public: bool,
) -> Result<(HashMap<String, String>, Client, OAuthCaller), OAuthError> {
    let params = params(req, body)?;
    let presented = presented(req, &params)?;
    let ctx = base_ctx(req);
    let (client, caller) = state
        .services
        .oauth_caller
        .execute(&ctx, tenant, &presented, allow_public)
        .await?;
    Ok((params, client, caller))
}

async fn issue(
    req: &HttpRequest,
    state: &HttpState,
    tenant: Option<&Client>,
    body: &[u8],
) -> Result<HttpResponse, OAuthError> {
    let params = params(req, body)?;
    match params.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        Some(grant @ ("authorization_code" | "refresh_token")) => {
            return user_grant(req, state, tenant, body, grant == "authorization_code").await;
        }
        Some("") | None => {
            return Err(OAuthError::InvalidRequest("grant_type is required".into()));
        }
        Some(other) => {
            return Err(OAuthError::UnsupportedGrantType(format!(
                "grant_type '{}' is not supported here",
                other.chars().take(40).collect::<String>()
            )));
        }
    }
    let (params, client, caller) = authenticated(req, state, tenant, body, false).await?;
    let grant = state
        .services
        .client_credentials
        .execute(&client, &caller, params.get("scope").map(String::as_str))
        .await?;
    Ok(no_store(&json!({
        "access_token": grant.access_token,
        "token_type": "Bearer",
        "expires_in": grant.expires_in,
        "scope": grant.scopes.join(" "),
    })))
}

/// `authorization_code` or `refresh_token` for an OIDC app (a public app by its `client_id`).
async fn user_grant(
    req: &HttpRequest,
    state: &HttpState,
    tenant: Option<&Client>,
    body: &[u8],
    code: bool,
) -> Result<HttpResponse, OAuthError> {
    let (params, client, caller) = authenticated(req, state, tenant, body, true).await?;
    let OAuthCaller::App(app) = caller else {
        return Err(OAuthError::UnauthorizedClient(
            "service accounts use the client_credentials grant".into(),
        ));
    };
    let get = |k: &str| params.get(k).map(String::as_str);
    let ctx = base_ctx(req);
    let exchange = &state.services.code_exchange;
    let grant = if code {
        exchange
            .exchange(
                &ctx,
                &client,
                &app,
                get("code"),
                get("redirect_uri"),
                get("code_verifier"),
            )
            .await?
    } else {
        exchange
            .refresh(&ctx, &client, &app, get("refresh_token"), get("scope"))
            .await?
    };
    let mut out = json!({
        "access_token": grant.access_token,
        "token_type": "Bearer",
        "expires_in": grant.expires_in,
        "scope": grant.scopes.join(" "),
    });
    if let Some(id_token) = &grant.id_token {
        out["id_token"] = json!(id_token);
    }
    if let Some(refresh) = &grant.refresh_token {
        out["refresh_token"] = json!(secrecy::ExposeSecret::expose_secret(refresh));
    }
    Ok(no_store(&out))
}

async fn token(req: HttpRequest, state: web::Data<HttpState>, body: web::Bytes) -> HttpResponse {
    issue(&req, &state, None, &body)
        .await
        .unwrap_or_else(|e| failure(&e))
}

async fn tenant_token(
    req: HttpRequest,
    state: web::Data<HttpState>,
    slug: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    at_tenant(&state, &slug, async |client| {
        issue(&req, &state, Some(&client), &body).await
    })
    .await
}

/// The RFC 7662 answer for an active token: the standard members and this service's claims.
fn introspection_json(answer: &Introspection) -> Value {
    let Some(c) = &answer.claims else {
        return json!({ "active": false });
    };
    let mut out = json!({
        "active": true,
        "token_type": "Bearer",
        "sub": c.sub,
        "iss": c.iss,
        "aud": c.aud,
        "exp": c.exp,
        "iat": c.iat,
        "jti": c.jti,
        "role": c.role,
    });
    match &c.grant {
        Some(grant) => {
            out["client_id"] = json!(grant.azp);
            out["scope"] = json!(grant.scopes.join(" "));
            out["scopes"] = json!(grant.scopes);
            out["token_use"] = json!(grant.token_use);
            if let Some(name) = &grant.service_account_name {
                out["service_account_id"] = json!(c.sub);
                out["service_account_name"] = json!(name);
            }
        }
        None => {
            out["client_id"] = json!(c.client_id);
            out["token_use"] = json!("access");
        }
    }
    if !c.email.is_empty() {
        out["username"] = json!(c.email);
        out["email"] = json!(c.email);
        out["email_verified"] = json!(c.email_verified);
    }
    if !c.sid.is_empty() {
        out["sid"] = json!(c.sid);
    }
    if !c.amr.is_empty() {
        out["amr"] = json!(c.amr);
    }
    if let Some(org) = &c.org {
        out["org_id"] = json!(org.id);
        out["org_slug"] = json!(org.slug);
        out["org_role"] = json!(org.role);
        out["org_permissions"] = json!(org.permissions);
    }
    out
}

async fn introspect_for(
    req: &HttpRequest,
    state: &HttpState,
    tenant: Option<&Client>,
    body: &[u8],
) -> Result<HttpResponse, OAuthError> {
    let (params, client, _caller) = authenticated(req, state, tenant, body, false).await?;
    let Some(token) = params.get("token").filter(|t| !t.is_empty()) else {
        return Err(OAuthError::InvalidRequest("token is required".into()));
    };
    let answer = state.services.introspect.execute(&client, token).await?;
    Ok(no_store(&introspection_json(&answer)))
}

async fn introspect(
    req: HttpRequest,
    state: web::Data<HttpState>,
    body: web::Bytes,
) -> HttpResponse {
    introspect_for(&req, &state, None, &body)
        .await
        .unwrap_or_else(|e| failure(&e))
}

async fn tenant_introspect(
    req: HttpRequest,
    state: web::Data<HttpState>,
    slug: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    at_tenant(&state, &slug, async |client| {
        introspect_for(&req, &state, Some(&client), &body).await
    })
    .await
}

async fn revoke_for(
    req: &HttpRequest,
    state: &HttpState,
    tenant: Option<&Client>,
    body: &[u8],
) -> Result<HttpResponse, OAuthError> {
    let (params, client, caller) = authenticated(req, state, tenant, body, true).await?;
    let Some(token) = params.get("token").filter(|t| !t.is_empty()) else {
        return Err(OAuthError::InvalidRequest("token is required".into()));
    };
    state
        .services
        .revoke_token
        .execute(
            &base_ctx(req),
            &client,
            &caller,
            token,
            params.get("token_type_hint").map(String::as_str),
        )
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

async fn revoke(req: HttpRequest, state: web::Data<HttpState>, body: web::Bytes) -> HttpResponse {
    revoke_for(&req, &state, None, &body)
        .await
        .unwrap_or_else(|e| failure(&e))
}

async fn tenant_revoke(
    req: HttpRequest,
    state: web::Data<HttpState>,
    slug: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    at_tenant(&state, &slug, async |client| {
        revoke_for(&req, &state, Some(&client), &body).await
    })
    .await
}

/// Metadata and keys are public and cacheable for a while.
pub(super) const PUBLIC_CACHE: &str = "public, max-age=300, stale-while-revalidate=60";

async fn tenant_metadata(state: web::Data<HttpState>, slug: web::Path<String>) -> HttpResponse {
    at_tenant(&state, &slug, async |client| {
        Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, PUBLIC_CACHE))
            .json(
                state
                    .services
                    .tenant_issuer
                    .metadata(&client, &super::oidc::id_token_algs(&state, &client).await?),
            ))
    })
    .await
}

async fn tenant_jwks(state: web::Data<HttpState>, slug: web::Path<String>) -> HttpResponse {
    at_tenant(&state, &slug, async |client| {
        let keys = state
            .services
            .publish_jwks
            .execute(Some(client.id))
            .await
            .map_err(|e| OAuthError::Unexpected(e.into()))?;
        Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, PUBLIC_CACHE))
            .json(json!({ "keys": keys })))
    })
    .await
}
