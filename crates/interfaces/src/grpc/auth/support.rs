//! How `AuthService` calls are answered: the caller's context (client, forwarded IP, signed-in
//! user) and the responses built from use-case results.

#![allow(clippy::wildcard_imports)]

use super::*;

pub(super) fn user_proto(user: &User) -> UserResponse {
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

pub(super) fn auth_response(tokens: &IssuedTokens) -> AuthResponse {
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
pub(super) fn challenge_response(
    challenge: &authservice_application::mfa::TwoFactorChallenge,
) -> AuthResponse {
    AuthResponse {
        requires_2fa: true,
        two_factor_token: challenge.token.expose_secret().to_owned(),
        two_factor_methods: challenge.methods.iter().map(|m| (*m).to_owned()).collect(),
        ..AuthResponse::default()
    }
}

pub(super) fn non_empty(s: String) -> Option<String> {
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
    pub(super) fn forwarded_ctx<T>(
        &self,
        request: &Request<T>,
        ip: &str,
        user_agent: &str,
    ) -> RequestCtx {
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
    pub(super) async fn client_ctx<T>(
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
        tracing::Span::current().record("client_id", tracing::field::display(client.id));
        ctx.principal = Principal::Client(client.id);
        ctx.client = Some(client);
        Ok(ctx)
    }

    /// A public call's context; an `api_key`, when given, must be valid and binds the call to
    /// its client.
    pub(super) async fn public_ctx<T>(
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
    pub(super) async fn complete_challenge(
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
    pub(super) async fn caller(
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
