//! Extractors that authenticate the caller and build the `RequestCtx`.
//!
//! `AdminCtx`: `X-Admin-Key` (break-glass) or an admin user's bearer token, authorized against
//! the route's entry in [`super::admin_routes::ADMIN_ROUTES`]. `ClientCtx`: `X-API-Key`, plus the `Origin` check.
//! `CurrentUser`: `ClientCtx` plus the bearer access token of a signed-in user.
//! Put them first in a handler's arguments so authentication runs before the body is read.

use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use authservice_application::ErrorKind;
use authservice_application::RequestCtx;
use authservice_application::auth::AuthenticatedUser;
use authservice_application::clients::AuthenticateClientInput;
use authservice_domain::Principal;
use futures_util::future::LocalBoxFuture;

use super::HttpState;
use crate::error::ApiError;

/// Facts about the request, set by the request-context middleware.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: String,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

/// Marker: the request's `Origin` was checked against its client and allowed.
#[derive(Debug, Clone, Copy)]
pub struct CorsApproved;

/// An anonymous context carrying the request's id, IP and user agent.
#[must_use]
pub fn ctx_from_meta(meta: &RequestMeta) -> RequestCtx {
    let mut ctx = RequestCtx::anonymous(meta.request_id.clone());
    ctx.ip = meta.ip;
    ctx.user_agent.clone_from(&meta.user_agent);
    ctx
}

pub(crate) fn base_ctx(req: &HttpRequest) -> RequestCtx {
    let meta = req.extensions().get::<RequestMeta>().cloned();
    match meta {
        Some(meta) => ctx_from_meta(&meta),
        None => RequestCtx::anonymous(uuid::Uuid::new_v4().simple().to_string()),
    }
}

pub(super) fn header(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

pub(super) fn state(req: &HttpRequest) -> Result<web::Data<HttpState>, ApiError> {
    req.app_data::<web::Data<HttpState>>()
        .cloned()
        .ok_or_else(|| ApiError::new(ErrorKind::Internal, "state missing"))
}

/// An authenticated operator, allowed on this route: set by
/// [`super::admin_routes::authorize_admin`], which runs before any extractor reads the body.
pub struct AdminCtx(pub RequestCtx);

impl FromRequest for AdminCtx {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let principal = req
            .extensions()
            .get::<authservice_domain::AdminPrincipal>()
            .cloned();
        std::future::ready(match principal {
            Some(principal) => Ok(Self(
                base_ctx(req).with_principal(Principal::Admin(principal)),
            )),
            // Fails closed: only the admin scope's middleware authenticates operators.
            None => Err(ApiError::new(
                ErrorKind::AdminUnauthorized,
                "admin credentials are required",
            )),
        })
    }
}

/// A request from an application backend (or its browser front end) with a valid API key.
pub struct ClientCtx(pub RequestCtx);

impl FromRequest for ClientCtx {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state(&req)?;
            let mut ctx = base_ctx(&req);
            let api_key = header(&req, "x-api-key");
            let origin = header(&req, "origin");
            // A hosted page serving an OIDC authorization request acts for the request's
            // tenant (it has no API key): the handle stands in for the key on this server's
            // own origin only.
            if api_key.is_none()
                && let Some(handle) = header(&req, "x-oauth-request")
            {
                if !super::oidc::same_origin(&req) {
                    return Err(ApiError::new(
                        authservice_application::ErrorKind::OriginNotAllowed,
                        "an authorization request is served by this server's own pages",
                    ));
                }
                let client = state.services.authorize.client_of(&handle).await?;
                tracing::Span::current().record("client_id", tracing::field::display(client.id));
                ctx.principal = Principal::Client(client.id);
                ctx.client = Some(client);
                return Ok(Self(ctx));
            }
            let client = state
                .services
                .authenticate_client
                .execute(AuthenticateClientInput {
                    api_key: api_key.as_deref(),
                    origin: origin.as_deref(),
                })
                .await?;
            if origin.is_some() {
                req.extensions_mut().insert(CorsApproved);
            }
            tracing::Span::current().record("client_id", tracing::field::display(client.id));
            ctx.principal = Principal::Client(client.id);
            ctx.client = Some(client);
            Ok(Self(ctx))
        })
    }
}

/// A signed-in user of an application: a valid `X-API-Key` (as [`ClientCtx`]) and
/// `Authorization: Bearer` with an access token of that client whose session is live and whose
/// user is active. Every account route takes this instead of resolving the caller itself.
pub struct CurrentUser {
    pub ctx: RequestCtx,
    pub caller: AuthenticatedUser,
}

impl FromRequest for CurrentUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let client = ClientCtx::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let ClientCtx(ctx) = client.await?;
            let state = state(&req)?;
            let caller = state
                .services
                .authenticate_user
                .execute(&ctx, bearer(&req).as_deref())
                .await?;
            Ok(Self { ctx, caller })
        })
    }
}

/// The bearer token of a request, if any.
pub(super) fn bearer(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::to_owned)
}

/// A public route's caller (emailed links, redirect codes): no credential required, but an
/// `X-API-Key` that comes along must be valid, and then binds the request to its client.
pub struct PublicCtx {
    pub ctx: RequestCtx,
    pub client: Option<authservice_domain::ClientId>,
}

impl FromRequest for PublicCtx {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state(&req)?;
            let ctx = base_ctx(&req);
            let Some(api_key) = header(&req, "x-api-key") else {
                return Ok(Self { ctx, client: None });
            };
            let origin = header(&req, "origin");
            let client = state
                .services
                .authenticate_client
                .execute(AuthenticateClientInput {
                    api_key: Some(&api_key),
                    origin: origin.as_deref(),
                })
                .await?;
            if origin.is_some() {
                req.extensions_mut().insert(CorsApproved);
            }
            Ok(Self {
                ctx,
                client: Some(client.id),
            })
        })
    }
}
