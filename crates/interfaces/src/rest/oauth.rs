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
use authservice_application::oauth::{
    Introspection, OAuthCaller, OAuthError, PresentedClient, PresentedMethod,
};
use authservice_domain::Client;
use base64::Engine;
use secrecy::SecretString;
use serde_json::{Value, json};

use super::HttpState;
use super::extractors::base_ctx;

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

/// The request's parameters: form-encoded or a JSON object of strings; a repeated or
/// non-string parameter is `invalid_request`.
fn params(req: &HttpRequest, body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut out = HashMap::new();
    if content_type.starts_with("application/json") {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| OAuthError::InvalidRequest(format!("malformed JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(OAuthError::InvalidRequest(
                "the body must be a JSON object".into(),
            ));
        };
        for (key, value) in map {
            let Value::String(value) = value else {
                return Err(OAuthError::InvalidRequest(format!(
                    "'{key}' must be a string"
                )));
            };
            out.insert(key, value);
        }
        return Ok(out);
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(OAuthError::InvalidRequest(
            "send the parameters as application/x-www-form-urlencoded (or JSON)".into(),
        ));
    }
    for (key, value) in url::form_urlencoded::parse(body) {
        if out.insert(key.to_string(), value.into_owned()).is_some() {
            return Err(OAuthError::InvalidRequest(format!("'{key}' is repeated")));
        }
    }
    Ok(out)
}

/// The caller's credentials: HTTP Basic (each half form-decoded, RFC 6749 §2.3.1) or
/// `client_id` (+ `client_secret`) in the body.
fn presented(
    req: &HttpRequest,
    params: &HashMap<String, String>,
) -> Result<PresentedClient, OAuthError> {
    if let Some(assertion) = assertion(req, params)? {
        return Ok(assertion);
    }
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        });
    if let Some(encoded) = basic {
        if params.contains_key("client_secret") {
            return Err(OAuthError::InvalidRequest(
                "use one client authentication method: Basic or client_secret, not both".into(),
            ));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials", true))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials", true))?;
        let decode = |s: &str| -> String {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let id = decode(id);
        if params
            .get("client_id")
            .is_some_and(|body_id| *body_id != id)
        {
            return Err(OAuthError::InvalidRequest(
                "client_id differs from the Basic credentials".into(),
            ));
        }
        return Ok(PresentedClient {
            client_id: id,
            secret: Some(SecretString::from(decode(secret))),
            method: PresentedMethod::Basic,
            assertion: None,
        });
    }
    let Some(id) = params.get("client_id").filter(|id| !id.is_empty()) else {
        return Err(OAuthError::InvalidClient {
            description: "authenticate the client: HTTP Basic or client_id and client_secret"
                .into(),
            basic: false,
        });
    };
    let secret = params.get("client_secret").filter(|s| !s.is_empty());
    Ok(PresentedClient {
        client_id: id.clone(),
        secret: secret.map(|s| SecretString::from(s.clone())),
        method: if secret.is_some() {
            PresentedMethod::Body
        } else {
            PresentedMethod::None
        },
        assertion: None,
    })
}

/// The RFC 7523 client assertion type.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A `private_key_jwt` caller: `client_assertion_type` + `client_assertion`, identified by
/// `client_id` or the assertion's `sub`; alone (no Basic, no secret).
fn assertion(
    req: &HttpRequest,
    params: &HashMap<String, String>,
) -> Result<Option<PresentedClient>, OAuthError> {
    let (kind, assertion) = (
        params.get("client_assertion_type"),
        params.get("client_assertion"),
    );
    if kind.is_none() && assertion.is_none() {
        return Ok(None);
    }
    if kind.map(String::as_str) != Some(JWT_BEARER) {
        return Err(OAuthError::InvalidRequest(format!(
            "client_assertion_type must be {JWT_BEARER}"
        )));
    }
    let Some(assertion) = assertion.filter(|a| !a.is_empty()) else {
        return Err(OAuthError::InvalidRequest(
            "client_assertion is required".into(),
        ));
    };
    if req.headers().contains_key(header::AUTHORIZATION) || params.contains_key("client_secret") {
        return Err(OAuthError::InvalidRequest(
            "use one client authentication method".into(),
        ));
    }
    let subject = assertion
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v.get("sub").and_then(Value::as_str).map(str::to_owned));
    let client_id = match (params.get("client_id"), subject) {
        (Some(id), Some(sub)) if *id != sub => {
            return Err(OAuthError::InvalidRequest(
                "client_id differs from the assertion's subject".into(),
            ));
        }
        (Some(id), _) => id.clone(),
        (None, Some(sub)) => sub,
        (None, None) => {
            return Err(OAuthError::invalid_client(
                "the client assertion names no client",
                false,
            ));
        }
    };
    Ok(Some(PresentedClient {
        client_id,
        secret: None,
        method: PresentedMethod::PrivateKeyJwt,
        assertion: Some(SecretString::from(assertion.clone())),
    }))
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
