//! Request pipeline: request id, client IP, security headers, metrics, the error envelope for
//! responses produced outside our handlers (404/405/413 from the router or extractors), CORS,
//! and auditing of admin requests that fail after authentication.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse, ResponseError, web};
use authservice_application::ErrorKind;
use authservice_application::clients::OriginScope;
use authservice_domain::{AdminPrincipal, Principal};
use serde_json::json;
use tracing::Instrument;

use super::HttpState;
use super::extractors::{CorsApproved, RequestMeta, ctx_from_meta};
use crate::client_ip::resolve_client_ip;
use crate::error::{ApiError, REQUEST_ID, spec};
use crate::request_id;
use crate::rest::scim::server::{SCIM_JSON, ScimApiError};

/// `Content-Security-Policy` of every response.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn header_str<'a>(req: &'a ServiceRequest, name: &HeaderName) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn kind_for_status(status: StatusCode) -> ErrorKind {
    match status.as_u16() {
        400 => ErrorKind::InvalidRequest,
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Forbidden,
        404 => ErrorKind::RouteNotFound,
        405 => ErrorKind::MethodNotAllowed,
        413 => ErrorKind::PayloadTooLarge,
        415 => ErrorKind::UnsupportedMediaType,
        429 => ErrorKind::RateLimited,
        503 => ErrorKind::ServiceUnavailable,
        s if s < 500 => ErrorKind::InvalidRequest,
        _ => ErrorKind::Internal,
    }
}

/// Outermost middleware.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<HttpState>>().cloned();
    let request_id = request_id::accept_or_generate(header_str(&req, &X_REQUEST_ID));
    let forwarded_for = req
        .headers()
        .get_all(HeaderName::from_static("x-forwarded-for"))
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let trusted = state
        .as_ref()
        .map(|s| s.config.trusted_proxies.as_slice())
        .unwrap_or(&[]);
    let ip = resolve_client_ip(
        req.peer_addr().map(|a| a.ip()),
        (!forwarded_for.is_empty()).then_some(forwarded_for.as_str()),
        trusted,
    );
    let user_agent = header_str(&req, &header::USER_AGENT).map(|ua| ua.chars().take(512).collect());
    req.extensions_mut().insert(RequestMeta {
        request_id: request_id.clone(),
        ip,
        user_agent,
    });
    let method = req.method().clone();
    let is_api = req.path().starts_with("/api/");
    let is_scim = req.path().starts_with("/scim/");
    // Every log line of the request carries its id (and, once known, its client, route and
    // status): the JSON logs include the current span's fields.
    let span = tracing::info_span!(
        "http.request",
        request_id = %request_id,
        method = %method,
        route = tracing::field::Empty,
        client_id = tracing::field::Empty,
        status = tracing::field::Empty,
    );

    let mut res = REQUEST_ID
        .scope(request_id.clone(), next.call(req).instrument(span.clone()))
        .await?
        .map_into_boxed_body();

    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.starts_with(SCIM_JSON));
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    if status.as_u16() >= 400 && !is_json && !is_html && is_scim {
        // The SCIM protocol answers in its own error schema (a body too large, above all).
        let detail = match status.as_u16() {
            413 => format!("the body is larger than {} bytes", crate::rest::BODY_LIMIT),
            _ => status
                .canonical_reason()
                .unwrap_or("request refused")
                .to_owned(),
        };
        let body = ScimApiError::plain(status, detail).body().to_string();
        res = res.map_body(|_, _| BoxBody::new(body));
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        res.headers_mut().remove(header::CONTENT_LENGTH);
    } else if status.as_u16() >= 400 && !is_json && !is_html {
        // A response built outside our handlers: give it the envelope (the OIDC endpoints'
        // error pages are HTML on purpose).
        let kind = kind_for_status(status);
        let body = ApiError::new(kind, spec(kind).title).body(Some(&request_id));
        res = res.map_body(|_, _| BoxBody::new(body));
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        res.headers_mut().remove(header::CONTENT_LENGTH);
    }

    let hsts = state.as_ref().is_some_and(|s| s.config.hsts);
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert(X_REQUEST_ID, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    // A strict policy for everything (the hosted pages run no inline script or style); the
    // QR code of a TOTP setup is a data: image, tenant logos are https images.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    if is_api && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }

    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    span.record("route", route.as_str());
    span.record("status", res.status().as_u16());
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| tracing::info!(latency_ms, "request finished"));
    if let Some(state) = state {
        state.metrics.observe_http(
            method.as_str(),
            &route,
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(res)
}

const ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
const ALLOW_HEADERS: &str = "Authorization, Content-Type, X-API-Key, X-Request-Id";
const ALLOW_HEADERS_ADMIN: &str = "Authorization, Content-Type, X-Admin-Key, X-Request-Id";
const EXPOSE_HEADERS: &str = "X-Request-Id, Retry-After";

/// CORS. Preflights carry no API key, so they are allowed for an origin listed by any active
/// client (or `ALLOW_ORIGIN`); the real request is then checked against the one client its
/// API key resolves to. The admin API allows only `ALLOW_ORIGIN`. `*` is never combined with
/// credentials.
pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(origin) = header_str(&req, &header::ORIGIN).map(str::to_owned) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let Some(state) = req.app_data::<web::Data<HttpState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let is_admin = req.path().starts_with("/api/admin");
    let check = &state.services.check_origin;

    if req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        let scope = if is_admin {
            OriginScope::Admin
        } else {
            OriginScope::App
        };
        let allowed = check.preflight_allowed(&origin, scope).await;
        let response = if allowed {
            HttpResponse::NoContent()
                .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.as_str()))
                .insert_header((header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true"))
                .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS))
                .insert_header((
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    if is_admin {
                        ALLOW_HEADERS_ADMIN
                    } else {
                        ALLOW_HEADERS
                    },
                ))
                .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
                .insert_header((header::VARY, "Origin"))
                .finish()
        } else {
            ApiError::new(
                ErrorKind::OriginNotAllowed,
                format!("origin {origin} is not allowed"),
            )
            .error_response()
        };
        return Ok(req.into_response(response));
    }

    let mut res = next.call(req).await?.map_into_boxed_body();
    let approved =
        check.is_global(&origin) || res.request().extensions().get::<CorsApproved>().is_some();
    let headers = res.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    if approved && let Ok(value) = HeaderValue::from_str(&origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }
    Ok(res)
}

/// Audits admin requests that failed after the caller authenticated (authentication failures
/// are audited by the authenticator itself; successes by the use cases).
pub async fn audit_admin_failures(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    if res.status().as_u16() < 400 {
        return Ok(res);
    }
    let request = res.request();
    let principal = request.extensions().get::<AdminPrincipal>().cloned();
    let meta = request.extensions().get::<RequestMeta>().cloned();
    let state = request.app_data::<web::Data<HttpState>>().cloned();
    if let (Some(principal), Some(meta), Some(state)) = (principal, meta, state) {
        let code = res
            .response()
            .error()
            .and_then(|e| e.as_error::<ApiError>())
            .map_or("unknown", |e| spec(e.kind).code);
        let ctx = ctx_from_meta(&meta).with_principal(Principal::Admin(principal));
        let call = json!({
            "method": request.method().as_str(),
            "path": request.path(),
            "status": res.status().as_u16(),
        });
        state
            .services
            .record_audit
            .admin_request_failed(&ctx, code, call)
            .await;
    }
    Ok(res)
}
