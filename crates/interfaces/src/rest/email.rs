//! `/api/auth/*` email routes: verification, password reset, magic links and the redirect
//! code exchange. Link-token routes are public (the token is the credential); an `X-API-Key`
//! sent along binds them to its client.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use authservice_application::auth::LoginOutcome;
use authservice_application::email::{
    ExchangeRedirectCodeInput, IssueRedirectCodeInput, MagicLinkAnswer, MagicLinkMode,
    ResetPasswordInput,
};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use super::HttpState;
use super::extractors::{ClientCtx, CurrentUser, PublicCtx};
use super::transport::{self, Transport};
use crate::error::{ApiError, spec};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/verify-email").post(verify_email))
        .service(web::resource("/auth/resend-verification").post(resend_verification))
        .service(web::resource("/auth/forgot-password").post(forgot_password))
        .service(web::resource("/auth/reset-password").post(reset_password))
        .service(web::resource("/auth/magic-link/send").post(send_magic_link))
        .service(
            web::resource("/auth/magic-link/verify")
                .get(confirm_magic_link)
                .post(verify_magic_link),
        )
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
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    body: Option<web::Json<BaseUrlBody>>,
) -> Result<HttpResponse, ApiError> {
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
}

fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"))
}

/// `GET ?token=`: consumes nothing. A browser gets a confirmation page naming the account, whose
/// button POSTs the token; `Accept: application/json` gets `{requires_confirmation, method,
/// email}`. So a mail scanner or link preview cannot spend the link, and a link opened in
/// another browser (someone else's link: login CSRF) is not followed without a click.
async fn confirm_magic_link(
    public: PublicCtx,
    req: HttpRequest,
    state: web::Data<HttpState>,
    query: web::Query<MagicLinkQuery>,
) -> Result<HttpResponse, ApiError> {
    let looked = state
        .services
        .verify_magic_link
        .inspect(&query.token, public.client)
        .await;
    if wants_json(&req) {
        let email = looked?;
        return Ok(no_store(HttpResponse::Ok().json(json!({
            "requires_confirmation": true,
            "method": "POST",
            "email": email,
        }))));
    }
    let locale = magic_page::locale(&req);
    let page = match looked {
        Ok(email) => magic_page::confirm(locale, &email, &query.token),
        Err(err) => {
            let err = ApiError::from(err);
            if spec(err.kind).status.is_server_error() {
                return Err(err);
            }
            magic_page::refused(locale)
        }
    };
    Ok(no_store(
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(page),
    ))
}

#[derive(Deserialize)]
struct MagicLinkBody {
    token: String,
    token_transport: Option<String>,
    session_mode: Option<String>,
}

/// `POST {token}` consumes the link. JSON → tokens (refresh token in the body unless
/// `token_transport=cookie`) or a second-factor challenge; the confirmation page's form → a
/// 303 to `/login.html?auth_code=` (or `?error=AUTH_*`), which the page exchanges.
async fn verify_magic_link(
    public: PublicCtx,
    req: HttpRequest,
    state: web::Data<HttpState>,
    body: web::Either<web::Json<MagicLinkBody>, web::Form<MagicLinkBody>>,
) -> Result<HttpResponse, ApiError> {
    let (body, json) = match body {
        web::Either::Left(body) => (body.into_inner(), true),
        web::Either::Right(form) => (form.into_inner(), false),
    };
    // The form must come from the confirmation page itself: another site auto-submitting its
    // own link would sign the visitor in to the attacker's account (login CSRF). Browsers say
    // where a form came from; clients that send neither header are not browsers.
    if !json && !same_origin_form(&req) {
        return Err(ApiError::new(
            authservice_application::ErrorKind::Forbidden,
            "the sign-in link must be confirmed on its own page",
        ));
    }
    let mode = if json {
        MagicLinkMode::Tokens
    } else {
        MagicLinkMode::Redirect
    };
    let transport = transport::requested(
        body.token_transport.as_deref(),
        body.session_mode.as_deref(),
        Transport::Json,
    )?;
    let answer = state
        .services
        .verify_magic_link
        .execute(&public.ctx, &body.token, public.client, mode)
        .await;
    let see_other = |location: String| {
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, location))
            .finish()
    };
    let response = match answer {
        Ok(MagicLinkAnswer::Tokens(tokens)) => {
            transport::token_response(&tokens, StatusCode::OK, transport, &state.config.cookies)
        }
        Ok(MagicLinkAnswer::SecondFactor(challenge)) => transport::challenge_response(&challenge),
        Ok(MagicLinkAnswer::RedirectCode(code)) => {
            see_other(format!("/login.html?auth_code={code}"))
        }
        Err(err) if !json => {
            let err = ApiError::from(err);
            see_other(format!("/login.html?error={}", spec(err.kind).auth_code))
        }
        Err(err) => return Err(err.into()),
    };
    Ok(no_store(response))
}

/// Whether a form POST may have come from a page of this server. `Sec-Fetch-Site` (every
/// current browser sends it) must say same-origin; without it, an `Origin` naming another host
/// is refused (`Origin: null`, which the page's `no-referrer` policy makes browsers send, and
/// no header at all say nothing either way).
fn same_origin_form(req: &HttpRequest) -> bool {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return site == "same-origin";
    }
    match (header("origin"), header("host")) {
        (Some("null") | None, _) => true,
        // `scheme://host[:port]`, default ports omitted as in `Host`.
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
    }
}

mod magic_page;

pub(super) use magic_page::escape;

#[derive(Deserialize)]
struct ExchangeBody {
    code: String,
    code_verifier: Option<String>,
    redirect_uri: Option<String>,
    /// An SSO code for the hosted login page: the page's `state`.
    state: Option<String>,
    token_transport: Option<String>,
    session_mode: Option<String>,
}

/// The code only works for its own client (`X-API-Key`; only a magic link's code, which carries
/// no redirect URI, may be exchanged without one, by the hosted login page of a browser that
/// does not know the key yet), with the `redirect_uri` it was issued for and, when it was
/// issued with a `code_challenge`, the `code_verifier`. Single use; the refresh token goes in
/// the HttpOnly cookie unless `token_transport=json`.
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
    let ctx = &public.ctx;
    let outcome = state
        .services
        .exchange_redirect_code
        .execute(
            ctx,
            public.client,
            ExchangeRedirectCodeInput {
                code: &body.code,
                code_verifier: body.code_verifier.as_deref(),
                redirect_uri: body.redirect_uri.as_deref(),
                state: body.state.as_deref(),
            },
        )
        .await?;
    Ok(no_store(match outcome {
        LoginOutcome::Tokens(tokens) => {
            transport::token_response(&tokens, StatusCode::OK, transport, &state.config.cookies)
        }
        LoginOutcome::SecondFactor(challenge) => transport::challenge_response(&challenge),
    }))
}

#[derive(Deserialize, Default)]
struct RedirectCodeBody {
    redirect_uri: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// A one-time `auth_code` for the signed-in user (API key + bearer), to append to one of the
/// client's registered `redirect_uris` after a hosted sign-in; with the app's PKCE
/// `code_challenge` (S256) when it sent one.
async fn issue_redirect_code(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    body: Option<web::Json<RedirectCodeBody>>,
) -> Result<HttpResponse, ApiError> {
    let body = body.map(web::Json::into_inner).unwrap_or_default();
    let code = state
        .services
        .issue_redirect_code
        .execute(
            &ctx,
            &caller,
            IssueRedirectCodeInput {
                redirect_uri: body.redirect_uri,
                code_challenge: body.code_challenge,
                code_challenge_method: body.code_challenge_method,
            },
        )
        .await?;
    Ok(no_store(HttpResponse::Ok().json(json!({
        "code": code,
        "expires_in": authservice_application::email::REDIRECT_CODE_TTL.as_secs(),
    }))))
}
