//! `auth.v1.AdminService`: metadata `x-admin-api-key` (break-glass) or `authorization: Bearer
//! adm_at_…` (an admin user) authenticates every call, through the
//! same use case (constant-time compare, per-IP failure limit, audit) as REST.

use std::sync::Arc;

use authservice_application::admin::AdminCredentialsPresented;
use authservice_application::clients::{CreateClientInput, ListClientsInput};
use authservice_application::{RequestCtx, Services};
use authservice_domain::{Client, Principal};
use tonic::{Request, Response, Status};

use super::proto::admin_service_server::AdminService;
use super::proto::{
    ClientResponse, CreateClientRequest, CreateClientResponse, GetClientRequest,
    ListClientsRequest, ListClientsResponse, RotateApiKeyRequest, RotateApiKeyResponse,
    RotateJwtSecretRequest, RotateJwtSecretResponse,
};
use super::to_status;
use crate::error::ApiError;
use ipnet::IpNet;
use secrecy::ExposeSecret;
use serde_json::json;

pub struct AdminGrpc {
    services: Arc<Services>,
    trusted_proxies: Vec<IpNet>,
}

impl AdminGrpc {
    #[must_use]
    pub fn new(services: Arc<Services>, trusted_proxies: Vec<IpNet>) -> Self {
        Self {
            services,
            trusted_proxies,
        }
    }

    /// Authenticates the call and returns its context.
    async fn authenticate<T>(&self, request: &Request<T>) -> Result<RequestCtx, Status> {
        let ctx = super::base_ctx(request, &self.trusted_proxies);
        let meta = request.metadata();
        let key = meta.get("x-admin-api-key").and_then(|v| v.to_str().ok());
        let bearer = meta
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            });
        let presented = AdminCredentialsPresented { key, bearer };
        match self
            .services
            .authenticate_admin
            .execute(&ctx, presented)
            .await
        {
            Ok(principal) => Ok(ctx.with_principal(Principal::Admin(principal))),
            Err(err) => Err(to_status(&ctx, err)),
        }
    }

    /// A failure after authentication: audited like REST's `admin.request_failed`.
    async fn fail(&self, ctx: &RequestCtx, method: &str, err: impl Into<ApiError>) -> Status {
        let status = to_status(ctx, err);
        let code = status
            .metadata()
            .get("x-error-code")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("unknown")
            .to_owned();
        let call = json!({ "rpc": method, "grpc_code": format!("{:?}", status.code()) });
        self.services
            .record_audit
            .admin_request_failed(ctx, &code, call)
            .await;
        status
    }
}

/// The REST shape of a client, as its gRPC message (one mapping from the domain).
fn to_proto(c: &Client) -> ClientResponse {
    let dto = crate::rest::dto::ClientDto::from(c);
    ClientResponse {
        id: dto.id,
        name: dto.name,
        slug: dto.slug,
        allowed_origins: dto.allowed_origins,
        webhook_url: dto.webhook_url.unwrap_or_default(),
        status: dto.status.to_owned(),
        created_at: dto.created_at,
        updated_at: dto.updated_at,
        token_mode: dto.token_mode.to_owned(),
        api_key_prefix: dto.api_key_prefix,
        redirect_uris: dto.redirect_uris,
    }
}

fn non_empty(s: String) -> Option<String> {
    (!s.trim().is_empty()).then_some(s)
}

#[tonic::async_trait]
impl AdminService for AdminGrpc {
    async fn create_client(
        &self,
        request: Request<CreateClientRequest>,
    ) -> Result<Response<CreateClientResponse>, Status> {
        let ctx = self.authenticate(&request).await?;
        let req = request.into_inner();
        let created = match self
            .services
            .create_client
            .execute(
                &ctx,
                CreateClientInput {
                    name: req.name,
                    slug: non_empty(req.slug),
                    allowed_origins: req.allowed_origins,
                    redirect_uris: req.redirect_uris,
                    webhook_url: non_empty(req.webhook_url),
                    settings: None,
                    token_mode: non_empty(req.token_mode),
                    signing_algorithm: None,
                },
            )
            .await
        {
            Ok(value) => value,
            Err(err) => return Err(self.fail(&ctx, "CreateClient", err).await),
        };
        Ok(Response::new(CreateClientResponse {
            client: Some(to_proto(&created.client)),
            api_key: created.api_key.expose().to_owned(),
            jwt_secret: created.jwt_secret.expose_secret().to_owned(),
        }))
    }

    async fn get_client(
        &self,
        request: Request<GetClientRequest>,
    ) -> Result<Response<ClientResponse>, Status> {
        let ctx = self.authenticate(&request).await?;
        let client = match self
            .services
            .get_client
            .execute(&ctx, &request.get_ref().client_id)
            .await
        {
            Ok(value) => value,
            Err(err) => return Err(self.fail(&ctx, "GetClient", err).await),
        };
        Ok(Response::new(to_proto(&client)))
    }

    async fn list_clients(
        &self,
        request: Request<ListClientsRequest>,
    ) -> Result<Response<ListClientsResponse>, Status> {
        let ctx = self.authenticate(&request).await?;
        let req = request.into_inner();
        let page = match self
            .services
            .list_clients
            .execute(
                &ctx,
                ListClientsInput {
                    limit: (req.limit != 0).then_some(i64::from(req.limit)),
                    cursor: non_empty(req.cursor),
                },
            )
            .await
        {
            Ok(value) => value,
            Err(err) => return Err(self.fail(&ctx, "ListClients", err).await),
        };
        Ok(Response::new(ListClientsResponse {
            clients: page.items.iter().map(to_proto).collect(),
            next_cursor: page.next_cursor.unwrap_or_default(),
        }))
    }

    async fn rotate_jwt_secret(
        &self,
        request: Request<RotateJwtSecretRequest>,
    ) -> Result<Response<RotateJwtSecretResponse>, Status> {
        let ctx = self.authenticate(&request).await?;
        let rotated = match self
            .services
            .rotate_jwt_secret
            .execute(&ctx, &request.get_ref().client_id)
            .await
        {
            Ok(value) => value,
            Err(err) => return Err(self.fail(&ctx, "RotateJWTSecret", err).await),
        };
        Ok(Response::new(RotateJwtSecretResponse {
            client: Some(to_proto(&rotated.client)),
            jwt_secret: rotated.jwt_secret.expose_secret().to_owned(),
        }))
    }

    async fn rotate_api_key(
        &self,
        request: Request<RotateApiKeyRequest>,
    ) -> Result<Response<RotateApiKeyResponse>, Status> {
        let ctx = self.authenticate(&request).await?;
        let rotated = match self
            .services
            .rotate_api_key
            .execute(&ctx, &request.get_ref().client_id)
            .await
        {
            Ok(value) => value,
            Err(err) => return Err(self.fail(&ctx, "RotateAPIKey", err).await),
        };
        Ok(Response::new(RotateApiKeyResponse {
            client: Some(to_proto(&rotated.client)),
            api_key: rotated.api_key.expose().to_owned(),
        }))
    }
}
