//! `auth.v1.TokenService.ValidateToken`: a verdict for sibling services, never an RPC error
//! for a bad token (only for a failing dependency).

use std::sync::Arc;

use authservice_application::Services;
use tonic::{Request, Response, Status};

use super::proto::token_service_server::TokenService;
use super::proto::{ValidateTokenRequest, ValidateTokenResponse};
use crate::error::ApiError;

pub struct TokenGrpc {
    services: Arc<Services>,
}

impl TokenGrpc {
    #[must_use]
    pub fn new(services: Arc<Services>) -> Self {
        Self { services }
    }
}

#[tonic::async_trait]
impl TokenService for TokenGrpc {
    async fn validate_token(
        &self,
        request: Request<ValidateTokenRequest>,
    ) -> Result<Response<ValidateTokenResponse>, Status> {
        let r = request.into_inner();
        let api_key = (!r.api_key.trim().is_empty()).then_some(r.api_key.as_str());
        let verdict = self
            .services
            .validate_token
            .execute(&r.access_token, api_key)
            .await
            .map_err(|err| {
                let request_id = uuid::Uuid::new_v4().simple().to_string();
                tracing::error!(
                    request_id,
                    error = format!("{err:#}"),
                    "token validation failed"
                );
                ApiError::new(
                    authservice_application::ErrorKind::ServiceUnavailable,
                    "validation unavailable",
                )
                .to_status(&request_id)
            })?;
        let mut response = ValidateTokenResponse {
            valid: verdict.valid(),
            error: verdict
                .error
                .map(|kind| crate::error::spec(kind).code.to_owned())
                .unwrap_or_default(),
            ..Default::default()
        };
        if let Some(claims) = verdict.claims {
            response.user_id = claims.sub;
            response.email = claims.email;
            response.role = claims.role;
            response.email_verified = claims.email_verified;
            response.client_id = claims.client_id;
            response.amr = claims.amr;
            match claims.grant {
                Some(grant) => {
                    response.token_use = grant.token_use;
                    response.azp = grant.azp;
                    response.scope = grant.scopes.join(" ");
                    response.scopes = grant.scopes;
                    if let Some(name) = grant.service_account_name {
                        response.service_account_id.clone_from(&response.user_id);
                        response.service_account_name = name;
                    }
                }
                None => response.token_use = "access".to_owned(),
            }
            if let Some(org) = claims.org {
                response.org_id = org.id;
                response.org_slug = org.slug;
                response.org_role = org.role;
                response.org_permissions = org.permissions;
            }
        }
        Ok(Response::new(response))
    }
}
