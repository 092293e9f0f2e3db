//! `/healthz` (liveness), `/readyz` (PostgreSQL and Redis answer), `/metrics` (Prometheus).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use authservice_application::ErrorKind;
use authservice_domain::secret::secrets_equal;
use secrecy::ExposeSecret;
use serde_json::{Map, json};

use super::HttpState;
use crate::error::{ApiError, current_request_id, spec};

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub async fn readyz(state: web::Data<HttpState>) -> HttpResponse {
    let readiness = state.services.check_readiness.execute().await;
    let mut checks = Map::new();
    let mut down = Vec::new();
    for dep in &readiness.dependencies {
        if let Some(err) = &dep.error {
            tracing::warn!(dependency = dep.name, error = %err, "dependency not ready");
            down.push(dep.name);
        }
        checks.insert(
            dep.name.to_owned(),
            json!({ "status": if dep.ok { "ok" } else { "unavailable" } }),
        );
    }
    if readiness.ready {
        return HttpResponse::Ok().json(json!({ "status": "ready", "checks": checks }));
    }
    let unavailable = spec(ErrorKind::ServiceUnavailable);
    HttpResponse::ServiceUnavailable()
        .insert_header((header::RETRY_AFTER, "5"))
        .json(json!({
            "status": "unavailable",
            "unavailable": down,
            "checks": checks,
            "error": unavailable.title,
            "code": unavailable.code,
            "message": format!("not ready: {} unavailable", down.join(", ")),
            "auth_code": unavailable.auth_code,
            "user_message": unavailable.user_message,
            "retryable": unavailable.retryable,
            "request_id": current_request_id(),
        }))
}

pub async fn metrics(
    req: HttpRequest,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    if let Some(token) = &state.config.metrics_token {
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !secrets_equal(presented.as_bytes(), token.expose_secret().as_bytes()) {
            return Err(ApiError::new(
                ErrorKind::Unauthorized,
                "metrics require Authorization: Bearer <METRICS_TOKEN>",
            ));
        }
    }
    let body = state
        .metrics
        .render(&state.services.check_readiness.pool_stats());
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body))
}
