//! gRPC over tonic: `auth.v1.AdminService`, `grpc.health.v1.Health`, and reflection when
//! enabled.

mod admin;

use std::future::Future;
use std::sync::Arc;

use authservice_application::Services;
use tokio::net::TcpListener;

pub use admin::AdminGrpc;

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
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<proto::admin_service_server::AdminServiceServer<AdminGrpc>>()
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
        .add_service(health_service)
        .add_optional_service(reflection_service)
        .add_service(proto::admin_service_server::AdminServiceServer::new(
            AdminGrpc::new(services, trusted_proxies),
        ))
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            shutdown,
        )
        .await?;
    Ok(())
}
