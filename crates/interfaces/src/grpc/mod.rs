//! gRPC over tonic: `auth.v1.AdminService`, `grpc.health.v1.Health`, and reflection when
//! enabled.

mod admin;
mod auth;
mod observe;
mod token;

use std::future::Future;
use std::sync::Arc;

use authservice_application::Services;
use tokio::net::TcpListener;

pub use admin::AdminGrpc;
pub use auth::AuthGrpc;
pub use observe::ObserveLayer;
pub use token::TokenGrpc;

/// Generated protobuf types and service stubs of package `auth.v1`.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod proto {
    tonic::include_proto!("auth.v1");

    /// Encoded descriptors, served by reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("auth_descriptor");
}

/// Serves gRPC on `listener` until `shutdown` resolves, then drains in-flight calls.
pub async fn serve(
    listener: TcpListener,
    services: Arc<Services>,
    trusted_proxies: Vec<ipnet::IpNet>,
    reflection: bool,
    metrics: Arc<crate::metrics::Metrics>,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<proto::admin_service_server::AdminServiceServer<AdminGrpc>>()
        .await;
    health_reporter
        .set_serving::<proto::auth_service_server::AuthServiceServer<AuthGrpc>>()
        .await;
    health_reporter
        .set_serving::<proto::token_service_server::TokenServiceServer<TokenGrpc>>()
        .await;
    let reflection_service = if reflection {
        Some(
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .build_v1()?,
        )
    } else {
        None
    };
    tonic::transport::Server::builder()
        .layer(ObserveLayer::new(metrics))
        .add_service(health_service)
        .add_optional_service(reflection_service)
        .add_service(proto::admin_service_server::AdminServiceServer::new(
            AdminGrpc::new(services.clone(), trusted_proxies.clone()),
        ))
        .add_service(proto::auth_service_server::AuthServiceServer::new(
            AuthGrpc::new(services.clone(), trusted_proxies),
        ))
        .add_service(proto::token_service_server::TokenServiceServer::new(
            TokenGrpc::new(services),
        ))
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            shutdown,
        )
        .await?;
    Ok(())
}

/// An anonymous context for a gRPC call: request id (`x-request-id` metadata or new), client IP
/// (peer, or `x-forwarded-for` from a trusted proxy) and user agent.
pub(crate) fn base_ctx<T>(
    request: &tonic::Request<T>,
    trusted_proxies: &[ipnet::IpNet],
) -> authservice_application::RequestCtx {
    let meta = request.metadata();
    let request_id = crate::request_id::accept_or_generate(
        meta.get("x-request-id").and_then(|v| v.to_str().ok()),
    );
    let mut ctx = authservice_application::RequestCtx::anonymous(request_id);
    ctx.ip = crate::client_ip::resolve_client_ip(
        request.remote_addr().map(|a| a.ip()),
        meta.get("x-forwarded-for").and_then(|v| v.to_str().ok()),
        trusted_proxies,
    );
    ctx.user_agent = meta
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(512).collect());
    ctx
}

/// Converts with the request id in scope, so a logged 5xx names it.
pub(crate) fn to_status(
    ctx: &authservice_application::RequestCtx,
    err: impl Into<crate::error::ApiError>,
) -> tonic::Status {
    crate::error::REQUEST_ID
        .sync_scope(ctx.request_id.clone(), || err.into())
        .to_status(&ctx.request_id)
}
