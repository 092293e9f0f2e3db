//! `auth.v1.AuthService`: the account flows for app backends, through the same use cases as
//! REST. Every call resolves its client from `api_key`; GetUser, UpdateUser and ChangePassword
//! also verify `access_token` and require it to belong to `user_id` (the Go service checks
//! neither).

use std::net::IpAddr;
use std::sync::Arc;

use authservice_application::auth::{
    AuthenticatedUser, ChangePasswordInput, IssuedTokens, LoginInput, LoginOutcome,
    RefreshSessionInput, SignupInput, SignupOutcome, UpdateProfileInput,
};
use authservice_application::clients::AuthenticateClientInput;
use authservice_application::email::{MagicLinkAnswer, MagicLinkMode, ResetPasswordInput};
use authservice_application::mfa::CodeFactor;
use authservice_application::{ErrorKind, RequestCtx, Services};
use authservice_domain::{Principal, User};
use chrono::SecondsFormat;
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use tonic::{Request, Response, Status};

use super::proto::auth_service_server::AuthService;
use super::proto::{
    AuthResponse, ChangePasswordRequest, Empty, ForgotPasswordRequest, GetUserRequest,
    LoginRequest, LogoutRequest, RefreshTokenRequest, ResendVerificationRequest,
    ResetPasswordRequest, SendMagicLinkRequest, SignupRequest, UpdateUserRequest, UserResponse,
    VerifyEmailRequest, VerifyMagicLinkRequest, VerifySecondFactorRequest,
};
use super::{base_ctx, to_status};
use crate::error::ApiError;

mod support;

use support::*;

pub struct AuthGrpc {
    services: Arc<Services>,
    trusted_proxies: Vec<IpNet>,
}

#[tonic::async_trait]
impl AuthService for AuthGrpc {
    async fn signup(
        &self,
        request: Request<SignupRequest>,
    ) -> Result<Response<AuthResponse>, Status> {
        let r = request.get_ref();
        let ctx = self
            .client_ctx(&request, &r.api_key, &r.ip, &r.user_agent)
            .await?;
        let r = request.into_inner();
        let outcome = self
            .services
            .signup
            .execute(
                &ctx,
                SignupInput {
                    email: r.email,
                    password: SecretString::from(r.password),
                    display_name: non_empty(r.display_name),
                },
            )
            .await
            .map_err(|e| to_status(&ctx, e))?;
        Ok(Response::new(match outcome {
            SignupOutcome::Tokens(tokens) => auth_response(&tokens),
            SignupOutcome::VerificationRequired { .. } => AuthResponse {
                verification_required: true,
                ..AuthResponse::default()
            },
        }))
    }

    async fn login(
        &self,
        request: Request<LoginRequest>,
    ) -> Result<Response<AuthResponse>, Status> {
        let r = request.get_ref();
        let ctx = self
            .client_ctx(&request, &r.api_key, &r.ip, &r.user_agent)
            .await?;
        let r = request.into_inner();
        let tokens = self
            .services
            .login
            .execute(
                &ctx,
                LoginInput {
                    email: r.email,
                    password: SecretString::from(r.password),
                },
            )
            .await
            .map_err(|e| to_status(&ctx, e))?;
        Ok(Response::new(match tokens {
            LoginOutcome::Tokens(tokens) => auth_response(&tokens),
            LoginOutcome::SecondFactor(challenge) => challenge_response(&challenge),
        }))
    }

    async fn refresh_token(
        &self,
        request: Request<RefreshTokenRequest>,
    ) -> Result<Response<AuthResponse>, Status> {
        let r = request.get_ref();
        let ctx = self
            .client_ctx(&request, &r.api_key, &r.ip, &r.user_agent)
            .await?;
        let r = request.into_inner();
        let tokens = self
            .services
            .refresh_session
            .execute(
                &ctx,
                RefreshSessionInput {
                    refresh_token: non_empty(r.refresh_token).map(SecretString::from),
                },
            )
            .await
            .map_err(|e| to_status(&ctx, e))?;
        Ok(Response::new(auth_response(&tokens)))
    }

    async fn logout(&self, request: Request<LogoutRequest>) -> Result<Response<Empty>, Status> {
        let r = request.get_ref();
        let ctx = self.client_ctx(&request, &r.api_key, "", "").await?;
        let token = non_empty(request.into_inner().refresh_token).map(SecretString::from);
        self.services
            .logout
            .execute(&ctx, token)
            .await
            .map_err(|e| to_status(&ctx, e))?;
        Ok(Response::new(Empty {}))
    }

    async fn get_user(
        &self,
        request: Request<GetUserRequest>,
    ) -> Result<Response<UserResponse>, Status> {
        let r = request.get_ref();
        let ctx = self.client_ctx(&request, &r.api_key, "", "").await?;
        let caller = self.caller(&ctx, &r.access_token, &r.user_id).await?;
        Ok(Response::new(user_proto(&caller.user)))
    }

    async fn update_user(
        &self,
        request: Request<UpdateUserRequest>,
    ) -> Result<Response<UserResponse>, Status> {
        let r = request.get_ref();
        let ctx = self.client_ctx(&request, &r.api_key, "", "").await?;
        let caller = self.caller(&ctx, &r.access_token, &r.user_id).await?;
        let r = request.into_inner();
        let user = self
            .services
            .update_profile
            .execute(
                &ctx,
                caller,
                UpdateProfileInput {
                    display_name: non_empty(r.display_name),
                    timezone: non_empty(r.timezone),
                    locale: non_empty(r.locale),
                },
            )
            .await
            .map_err(|e| to_status(&ctx, e))?;
        Ok(Response::new(user_proto(&user)))
    }

    async fn change_password(
        &self,
        request: Request<ChangePasswordRequest>,
    ) -> Result<Response<Empty>, Status> {
        let r = request.get_ref();
        let ctx = self
            .client_ctx(&request, &r.api_key, &r.ip, &r.user_agent)
            .await?;
        let caller = self.caller(&ctx, &r.access_token, &r.user_id).await?;
        let r = request.into_inner();
        self.services
            .change_password
            .execute(
                &ctx,
                caller,
                ChangePasswordInput {
                    current_password: SecretString::from(r.old_password),
                    new_password: SecretString::from(r.new_password),
                },
            )
            .await
            .map_err(|e| to_status(&ctx, e))?;
        Ok(Response::new(Empty {}))
    }

    async fn verify_email(
        &self,
        request: Request<VerifyEmailRequest>,
    ) -> Result<Response<Empty>, Status> {
        let r = request.get_ref();
        let (ctx, client) = self.public_ctx(&request, &r.api_key, "", "").await?;
        self.services
            .verify_email
            .execute(&ctx, &r.token, client)
            .await
            .map_err(|e| to_status(&ctx, e))?;
        Ok(Response::new(Empty {}))
    }

    async fn resend_verification(
        &self,
        request: Request<ResendVerificationRequest>,
    ) -> Result<Response<Empty>, Status> {
        let r = request.get_ref();
        let ctx = self.client_ctx(&request, &r.api_key, "", "").await?;
        let caller = self.caller(&ctx, &r.access_token, &r.user_id).await?;
        let base_url = non_empty(r.base_url.clone());
        self.services
            .resend_verification
            .execute(&ctx, caller, base_url.as_deref())
            .await
            .map_err(|e| to_status(&ctx, e))?;
        Ok(Response::new(Empty {}))
    }

    async fn forgot_password(
        &self,
        request: Request<ForgotPasswordRequest>,
    ) -> Result<Response<Empty>, Status> {
        let r = request.get_ref();
        let ctx = self
            .client_ctx(&request, &r.api_key, &r.ip, &r.user_agent)
            .await?;
        let key_client = ctx.client.as_ref().map(|c| c.id.to_string());
        if !r.client_id.trim().is_empty() && key_client.as_deref() != Some(r.client_id.trim()) {
            return Err(to_status(
                &ctx,
                ApiError::new(
                    ErrorKind::InvalidRequest,
                    "client_id is not the api_key's client",
                ),
            ));
        }
        let base_url = non_empty(r.base_url.clone());
        self.services
            .forgot_password
            .execute(&ctx, &r.email, base_url.as_deref())
            .await
            .map_err(|e| to_status(&ctx, e))?;
        Ok(Response::new(Empty {}))
    }

    async fn reset_password(
        &self,
        request: Request<ResetPasswordRequest>,
    ) -> Result<Response<Empty>, Status> {
        let r = request.get_ref();
        let (ctx, client) = self.public_ctx(&request, &r.api_key, "", "").await?;
        let r = request.into_inner();
        self.services
            .reset_password
            .execute(
                &ctx,
                ResetPasswordInput {
                    token: r.token,
                    new_password: SecretString::from(r.new_password),
                },
                client,
            )
            .await
            .map_err(|e| to_status(&ctx, e))?;
        Ok(Response::new(Empty {}))
    }

    async fn send_magic_link(
        &self,
        request: Request<SendMagicLinkRequest>,
    ) -> Result<Response<Empty>, Status> {
        let r = request.get_ref();
        let ctx = self
            .client_ctx(&request, &r.api_key, &r.ip, &r.user_agent)
            .await?;
        let base_url = non_empty(r.base_url.clone());
        self.services
            .send_magic_link
            .execute(&ctx, &r.email, base_url.as_deref())
            .await
            .map_err(|e| to_status(&ctx, e))?;
        Ok(Response::new(Empty {}))
    }

    async fn verify_magic_link(
        &self,
        request: Request<VerifyMagicLinkRequest>,
    ) -> Result<Response<AuthResponse>, Status> {
        let r = request.get_ref();
        let (ctx, client) = self
            .public_ctx(&request, &r.api_key, &r.ip, &r.user_agent)
            .await?;
        let answer = self
            .services
            .verify_magic_link
            .execute(&ctx, &r.token, client, MagicLinkMode::Tokens)
            .await
            .map_err(|e| to_status(&ctx, e))?;
        match answer {
            MagicLinkAnswer::Tokens(tokens) => Ok(Response::new(auth_response(&tokens))),
            MagicLinkAnswer::SecondFactor(challenge) => {
                Ok(Response::new(challenge_response(&challenge)))
            }
            MagicLinkAnswer::RedirectCode(_) => Err(to_status(
                &ctx,
                ApiError::new(ErrorKind::Internal, "unexpected redirect answer"),
            )),
        }
    }

    async fn verify_totp(
        &self,
        request: Request<VerifySecondFactorRequest>,
    ) -> Result<Response<AuthResponse>, Status> {
        self.complete_challenge(request, CodeFactor::Totp).await
    }

    async fn verify_recovery_code(
        &self,
        request: Request<VerifySecondFactorRequest>,
    ) -> Result<Response<AuthResponse>, Status> {
        self.complete_challenge(request, CodeFactor::RecoveryCode)
            .await
    }
}
