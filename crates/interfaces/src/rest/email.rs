//! `/api/auth/*` email routes: verification, password reset, magic links and the redirect
//! code exchange. Link-token routes are public (the token is the credential); an `X-API-Key`
//! sent along binds them to its client.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use authservice_application::auth::LoginOutcome;
use authservice_application::email::{MagicLinkAnswer, MagicLinkMode, ResetPasswordInput};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use super::HttpState;
use super::auth::authenticate;
use super::extractors::{ClientCtx, PublicCtx};
use super::transport::{self, Transport};
use crate::error::{ApiError, spec};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/verify-email").post(verify_email))
        .service(web::resource("/auth/resend-verification").post(resend_verification))
        .service(web::resource("/auth/forgot-password").post(forgot_password))
        .service(web::resource("/auth/reset-password").post(reset_password))
        .service(web::resource("/auth/magic-link/send").post(send_magic_link))
        .service(web::resource("/auth/magic-link/verify").get(verify_magic_link))
        .service(web::resource("/auth/redirect/exchange").post(exchange_redirect_code))
        .service(web::resource("/auth/redirect/code").post(issue_redirect_code));
}

/// Answers of link routes must not be cached or leak the page URL onwards.
fn no_store(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    response
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
}

async fn verify_email(
    public: PublicCtx,
    state: web::Data<HttpState>,
    body: web::Json<TokenBody>,
) -> Result<HttpResponse, ApiError> {
    state
        .services
        .verify_email
        .execute(&public.ctx, &body.token, public.client)
        .await?;
    Ok(no_store(HttpResponse::Ok().json(
        json!({ "success": true, "email_verified": true, "message": "Email verified" }),
    )))
}

#[derive(Deserialize, Default)]
struct BaseUrlBody {
    base_url: Option<String>,
}

async fn resend_verification(
    ClientCtx(ctx): ClientCtx,
    req: HttpRequest,
    state: web::Data<HttpState>,
    body: Option<web::Json<BaseUrlBody>>,
) -> Result<HttpResponse, ApiError> {
    let caller = authenticate(&state, &ctx, &req).await?;
    let body = body.map(web::Json::into_inner).unwrap_or_default();
    state
        .services
        .resend_verification
        .execute(&ctx, caller, body.base_url.as_deref())
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "success": true, "message": "Verification email sent" })))
}

#[derive(Deserialize)]
struct EmailBody {
    email: String,
    base_url: Option<String>,
}

/// The same answer whether or not the address has an account.
async fn forgot_password(
    ClientCtx(ctx): ClientCtx,
    state: web::Data<HttpState>,
    body: web::Json<EmailBody>,
) -> Result<HttpResponse, ApiError> {
    state
        .services
        .forgot_password
        .execute(&ctx, &body.email, body.base_url.as_deref())
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "success": true,
        "message": "If an account exists for this email, a password reset link has been sent.",
    })))
}

#[derive(Deserialize)]
struct ResetBody {
    token: String,
    new_password: SecretString,
}

async fn reset_password(
    public: PublicCtx,
    state: web::Data<HttpState>,
    body: web::Json<ResetBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    state
        .services
        .reset_password
        .execute(
            &public.ctx,
            ResetPasswordInput {
                token: body.token,
                new_password: body.new_password,
            },
            public.client,
        )
        .await?;
    Ok(no_store(HttpResponse::Ok().json(json!({
        "success": true,
        "sessions_revoked": true,
        "message": "Password updated; every session was signed out",
    }))))
}

async fn send_magic_link(
    ClientCtx(ctx): ClientCtx,
    state: web::Data<HttpState>,
    body: web::Json<EmailBody>,
) -> Result<HttpResponse, ApiError> {
    state
        .services
        .send_magic_link
        .execute(&ctx, &body.email, body.base_url.as_deref())
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "success": true,
        "message": "If an account exists for this email, a sign-in link has been sent.",
    })))
}

#[derive(Deserialize)]
struct MagicLinkQuery {
    token: String,
    token_transport: Option<String>,
    session_mode: Option<String>,
}

fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"))
}

/// `Accept: application/json` → tokens (refresh token in the body unless `token_transport=
/// cookie`); otherwise a 302 to `/login.html?auth_code=` (or `?error=AUTH_*`).
async fn verify_magic_link(
    public: PublicCtx,
    req: HttpRequest,
    state: web::Data<HttpState>,
    query: web::Query<MagicLinkQuery>,
) -> Result<HttpResponse, ApiError> {
    let json = wants_json(&req);
    let mode = if json {
        MagicLinkMode::Tokens
    } else {
        MagicLinkMode::Redirect
    };
    let transport = transport::requested(
        query.token_transport.as_deref(),
        query.session_mode.as_deref(),
        Transport::Json,
    )?;
    let answer = state
        .services
        .verify_magic_link
        .execute(&public.ctx, &query.token, public.client, mode)
        .await;
    let response = match answer {
        Ok(MagicLinkAnswer::Tokens(tokens)) => {
            transport::token_response(&tokens, StatusCode::OK, transport, &state.config.cookies)
        }
        Ok(MagicLinkAnswer::SecondFactor(challenge)) => transport::challenge_response(&challenge),
        Ok(MagicLinkAnswer::RedirectCode(code)) => HttpResponse::Found()
            .insert_header((header::LOCATION, format!("/login.html?auth_code={code}")))
            .finish(),
        Err(err) if !json => {
            let err = ApiError::from(err);
            HttpResponse::Found()
                .insert_header((
                    header::LOCATION,
                    format!("/login.html?error={}", spec(err.kind).auth_code),
                ))
                .finish()
        }
        Err(err) => return Err(err.into()),
    };
    Ok(no_store(response))
}

#[derive(Deserialize)]
struct ExchangeBody {
    code: String,
    token_transport: Option<String>,
    session_mode: Option<String>,
}

/// Single use; the refresh token goes in the HttpOnly cookie unless `token_transport=json`.
async fn exchange_redirect_code(
    public: PublicCtx,
    state: web::Data<HttpState>,
    body: web::Json<ExchangeBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let transport = transport::requested(
        body.token_transport.as_deref(),
        body.session_mode.as_deref(),
        Transport::Cookie,
    )?;
    let outcome = state
        .services
        .exchange_redirect_code
        .execute(&public.ctx, &body.code, public.client)
        .await?;
    Ok(no_store(match outcome {
        LoginOutcome::Tokens(tokens) => {
            transport::token_response(&tokens, StatusCode::OK, transport, &state.config.cookies)
        }
        LoginOutcome::SecondFactor(challenge) => transport::challenge_response(&challenge),
    }))
}

/// A one-time `auth_code` for the signed-in user (API key + bearer), to append to an allowed
/// `redirect_uri` after a hosted sign-in.
async fn issue_redirect_code(
    ClientCtx(ctx): ClientCtx,
    req: HttpRequest,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let caller = authenticate(&state, &ctx, &req).await?;
    let code = state
        .services
        .issue_redirect_code
        .execute(&ctx, &caller)
        .await?;
    Ok(no_store(HttpResponse::Ok().json(json!({
        "code": code,
        "expires_in": authservice_application::email::REDIRECT_CODE_TTL.as_secs(),
    }))))
}
