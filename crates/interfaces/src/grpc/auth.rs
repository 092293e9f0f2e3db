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

pub struct AuthGrpc {
    services: Arc<Services>,
    trusted_proxies: Vec<IpNet>,
}

fn user_proto(user: &User) -> UserResponse {
    let rfc = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    UserResponse {
        id: user.id.to_string(),
        client_id: user.client_id.to_string(),
        email: user.email.as_str().to_owned(),
        email_verified: user.email_verified,
        display_name: user.display_name.clone().unwrap_or_default(),
        avatar_url: String::new(),
        timezone: user.timezone.clone().unwrap_or_default(),
        locale: user.locale.clone().unwrap_or_default(),
        role: user.role.clone(),
        status: user.status.as_str().to_owned(),
        totp_enabled: user.totp_enabled,
        last_login_at: user.last_login_at.map(rfc).unwrap_or_default(),
        created_at: rfc(user.created_at),
        updated_at: rfc(user.updated_at),
    }
}

fn auth_response(tokens: &IssuedTokens) -> AuthResponse {
    AuthResponse {
        access_token: tokens.access_token.clone(),
        refresh_token: tokens.refresh_token.expose_secret().to_owned(),
        token_type: "Bearer".to_owned(),
        expires_in: i64::try_from(tokens.expires_in).unwrap_or(i64::MAX),
        user: Some(user_proto(&tokens.user)),
        requires_2fa: false,
        two_factor_token: String::new(),
        two_factor_methods: Vec::new(),
        verification_required: false,
    }
}

/// The answer of a first factor when a second one is needed: no tokens, a challenge.
fn challenge_response(
    challenge: &authservice_application::mfa::TwoFactorChallenge,
) -> AuthResponse {
    AuthResponse {
        requires_2fa: true,
        two_factor_token: challenge.token.expose_secret().to_owned(),
        two_factor_methods: challenge.methods.iter().map(|m| (*m).to_owned()).collect(),
        ..AuthResponse::default()
    }
}

fn non_empty(s: String) -> Option<String> {
    (!s.trim().is_empty()).then_some(s)
}

impl AuthGrpc {
    #[must_use]
    pub fn new(services: Arc<Services>, trusted_proxies: Vec<IpNet>) -> Self {
        Self {
            services,
            trusted_proxies,
        }
    }

    /// The call's context with the end user's forwarded address (believed only from a trusted
    /// proxy) and user agent.
    fn forwarded_ctx<T>(&self, request: &Request<T>, ip: &str, user_agent: &str) -> RequestCtx {
        let mut ctx = base_ctx(request, &self.trusted_proxies);
        let peer_trusted = request
            .remote_addr()
            .map(|a| a.ip().to_canonical())
            .is_some_and(|peer| self.trusted_proxies.iter().any(|net| net.contains(&peer)));
        if peer_trusted && let Ok(forwarded) = ip.trim().parse::<IpAddr>() {
            ctx.ip = Some(forwarded.to_canonical());
        }
        if !user_agent.trim().is_empty() {
            ctx.user_agent = Some(user_agent.chars().take(512).collect());
        }
        ctx
    }

    /// The call's context with its client resolved from `api_key`. The end user's `ip`
    /// forwarded by the backend is believed only from a peer in `TRUSTED_PROXY_CIDRS` (API keys
    /// are not secret enough to let anyone pick the address that rate limits count); the user
    /// agent is taken as given.
    async fn client_ctx<T>(
        &self,
        request: &Request<T>,
        api_key: &str,
        ip: &str,
        user_agent: &str,
    ) -> Result<RequestCtx, Status> {
        let mut ctx = self.forwarded_ctx(request, ip, user_agent);
        let client = self
            .services
            .authenticate_client
            .execute(AuthenticateClientInput {
                api_key: Some(api_key),
                origin: None,
            })
            .await
            .map_err(|e| to_status(&ctx, e))?;
        tracing::Span::current().record("client_id", client.id.to_string());
        ctx.principal = Principal::Client(client.id);
        ctx.client = Some(client);
        Ok(ctx)
    }

    /// A public call's context; an `api_key`, when given, must be valid and binds the call to
    /// its client.
    async fn public_ctx<T>(
        &self,
        request: &Request<T>,
        api_key: &str,
        ip: &str,
        user_agent: &str,
    ) -> Result<(RequestCtx, Option<authservice_domain::ClientId>), Status> {
        if api_key.trim().is_empty() {
            return Ok((self.forwarded_ctx(request, ip, user_agent), None));
        }
        let mut ctx = self.client_ctx(request, api_key, ip, user_agent).await?;
        let client = ctx.client.take().map(|c| c.id);
        ctx.principal = Principal::Anonymous;
        Ok((ctx, client))
    }

    /// Completes a login challenge with a code of `factor`.
    async fn complete_challenge(
        &self,
        request: Request<VerifySecondFactorRequest>,
        factor: CodeFactor,
    ) -> Result<Response<AuthResponse>, Status> {
        let r = request.get_ref();
        let ctx = self
            .client_ctx(&request, &r.api_key, &r.ip, &r.user_agent)
            .await?;
        let tokens = self
            .services
            .complete_challenge
            .with_code(&ctx, factor, &r.two_factor_token, &r.code)
            .await
            .map_err(|e| to_status(&ctx, e))?;
        Ok(Response::new(auth_response(&tokens)))
    }

    /// Verifies `access_token` and that it is `user_id`'s own.
    async fn caller(
        &self,
        ctx: &RequestCtx,
        access_token: &str,
        user_id: &str,
    ) -> Result<AuthenticatedUser, Status> {
        let caller = self
            .services
            .authenticate_user
            .execute(ctx, Some(access_token))
            .await
            .map_err(|e| to_status(ctx, e))?;
        if caller.user.id.to_string() != user_id.trim() {
            return Err(to_status(
                ctx,
                ApiError::new(
                    ErrorKind::Forbidden,
                    "access_token does not belong to user_id",
                ),
            ));
        }
        Ok(caller)
    }
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
