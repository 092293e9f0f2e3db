//! REST over actix-web.

mod admin_accounts;
mod admin_clients;
mod admin_email;
mod admin_end_users;
mod admin_oidc_apps;
mod admin_organizations;
pub mod admin_routes;
mod admin_service_accounts;
mod admin_tokens;
mod admin_webhooks;
mod audit;
mod auth;
mod domains;
pub(crate) mod dto;
mod email;
mod extractors;
mod health;
mod mfa;
mod middleware;
mod oauth;
mod oidc;
mod org_authorization;
mod organizations;
pub(crate) mod scim;
mod social;
mod sso;
pub mod transport;
mod ui_config;

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use authservice_application::{ErrorKind, Services};
use ipnet::IpNet;
use secrecy::SecretString;

pub use extractors::{AdminCtx, ClientCtx, PublicCtx, RequestMeta};

use crate::error::ApiError;
use crate::metrics::Metrics;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Settings the HTTP layer needs.
#[derive(Clone)]
pub struct HttpConfig {
    pub trusted_proxies: Vec<IpNet>,
    pub metrics_token: Option<SecretString>,
    /// Send HSTS (BASE_URL is https).
    pub hsts: bool,
    /// Serve `public/` at `/` when set.
    pub public_dir: Option<PathBuf>,
    pub cookies: transport::CookieConfig,
}

/// Shared by every worker.
pub struct HttpState {
    pub services: Arc<Services>,
    pub config: HttpConfig,
    pub metrics: Arc<Metrics>,
}

/// Builds and binds the HTTP server (not yet running).
pub fn build_server(
    state: web::Data<HttpState>,
    listener: TcpListener,
    workers: usize,
    shutdown_timeout_secs: u64,
) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        let public_dir = state.config.public_dir.clone();
        let mut app = App::new()
            .app_data(state.clone())
            .app_data(json_config())
            .app_data(web::PayloadConfig::new(BODY_LIMIT))
            .app_data(query_config())
            .app_data(path_config())
            .wrap(from_fn(middleware::cors))
            .wrap(from_fn(middleware::request_context))
            .configure(routes);
        if let Some(dir) = public_dir {
            app = app.service(actix_files::Files::new("/", dir).index_file("index.html"));
        }
        app.default_service(web::to(route_not_found))
    })
    .disable_signals()
    .shutdown_timeout(shutdown_timeout_secs)
    .listen(listener)?;
    let server = if workers > 0 {
        server.workers(workers)
    } else {
        server
    };
    Ok(server.run())
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").get(health::healthz))
        .service(web::resource("/readyz").get(health::readyz))
        .service(web::resource("/metrics").get(health::metrics))
        .configure(auth::well_known)
        .configure(oauth::routes)
        .configure(oidc::routes)
        .configure(scim::server::routes)
        .service(
            web::scope("/api/admin")
                .wrap(from_fn(admin_routes::authorize_admin))
                .wrap(from_fn(middleware::audit_admin_failures))
                .configure(admin_accounts::routes)
                .configure(admin_clients::routes)
                .configure(admin_end_users::routes)
                .configure(admin_email::routes)
                .configure(admin_organizations::routes)
                .configure(domains::admin_routes)
                .configure(sso::admin_routes)
                .configure(scim::admin_routes)
                .configure(social::admin_routes)
                .configure(admin_oidc_apps::routes)
                .configure(admin_service_accounts::routes)
                .configure(admin_webhooks::routes)
                .configure(audit::routes)
                .configure(admin_tokens::routes)
                .default_service(web::to(admin_route_not_found)),
        )
        .service(
            web::scope("/api")
                .configure(ui_config::routes)
                .configure(auth::routes)
                .configure(email::routes)
                .configure(mfa::routes)
                .configure(organizations::routes)
                .configure(domains::member_routes)
                .configure(sso::member_routes)
                .configure(scim::member_routes)
                .configure(social::routes)
                .configure(oauth::api_routes)
                .configure(oidc::api_routes)
                .default_service(web::to(route_not_found)),
        );
}

async fn route_not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        ErrorKind::RouteNotFound,
        format!("no route for {} {}", req.method(), req.path()),
    ))
}

/// Unknown admin paths still require admin credentials, so probing them is audited and
/// rate limited like any other admin attempt.
async fn admin_route_not_found(
    _admin: AdminCtx,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    route_not_found(req).await
}

fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(BODY_LIMIT)
        .error_handler(|err, _req| {
            let api = match &err {
                JsonPayloadError::OverflowKnownLength { .. }
                | JsonPayloadError::Overflow { .. } => {
                    ApiError::new(ErrorKind::PayloadTooLarge, "request body exceeds 1 MiB")
                }
                JsonPayloadError::ContentType => ApiError::new(
                    ErrorKind::UnsupportedMediaType,
                    "Content-Type must be application/json",
                ),
                JsonPayloadError::Deserialize(e) if e.is_data() => {
                    ApiError::new(ErrorKind::InvalidRequest, e.to_string())
                }
                JsonPayloadError::Deserialize(e) => {
                    ApiError::new(ErrorKind::InvalidJson, format!("malformed JSON: {e}"))
                }
                other => ApiError::new(ErrorKind::InvalidJson, other.to_string()),
            };
            api.into()
        })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _req| {
        ApiError::new(
            ErrorKind::InvalidRequest,
            format!("invalid query string: {err}"),
        )
        .into()
    })
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err: PathError, _req| {
        ApiError::new(ErrorKind::InvalidRequest, format!("invalid path: {err}")).into()
    })
}
