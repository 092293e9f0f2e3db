//! `/api/auth/*` account routes (API key; the current user via `Authorization: Bearer`) and
//! `/.well-known/jwks.json`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use authservice_application::ErrorKind;
use authservice_application::auth::{
    ChangePasswordInput, LoginInput, LoginOutcome, RefreshSessionInput, SignupInput, SignupOutcome,
    UpdateProfileInput,
};
use authservice_application::clients::AuthenticateClientInput;
use authservice_domain::{ClientId, User};
use chrono::SecondsFormat;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use super::HttpState;
use super::extractors::{ClientCtx, CurrentUser};
use super::transport::{self, Transport};
use crate::error::ApiError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/signup").post(signup))
        .service(web::resource("/auth/login").post(login))
        .service(web::resource("/auth/refresh").post(refresh))
        .service(web::resource("/auth/logout").post(logout))
        .service(web::resource("/auth/me").get(me).patch(update_me))
        .service(web::resource("/auth/change-password").post(change_password))
        .service(
            web::resource("/auth/sessions")
                .get(list_sessions)
                .delete(revoke_other_sessions),
        )
        .service(web::resource("/auth/sessions/{id}").delete(revoke_session));
}

pub fn well_known(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/.well-known/jwks.json").get(jwks));
}

#[must_use]
pub fn user_json(user: &User) -> Value {
    json!({
        "id": user.id.to_string(),
        "client_id": user.client_id.to_string(),
        "email": user.email.as_str(),
        "email_verified": user.email_verified,
        "display_name": user.display_name,
        "avatar_url": null,
        "timezone": user.timezone,
        "locale": user.locale,
        "role": user.role,
        "status": user.status.as_str(),
        "totp_enabled": user.totp_enabled,
        "last_login_at": user.last_login_at.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        "created_at": user.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "updated_at": user.updated_at.to_rfc3339_opts(SecondsFormat::Millis, true),
    })
}

#[derive(Deserialize)]
struct SignupBody {
    email: String,
    password: SecretString,
    display_name: Option<String>,
    token_transport: Option<String>,
    session_mode: Option<String>,
}

async fn signup(
    ClientCtx(ctx): ClientCtx,
    state: web::Data<HttpState>,
    body: web::Json<SignupBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let transport = transport::requested(
        body.token_transport.as_deref(),
        body.session_mode.as_deref(),
        Transport::Cookie,
    )?;
    let outcome = state
        .services
        .signup
        .execute(
            &ctx,
            SignupInput {
                email: body.email,
                password: body.password,
                display_name: body.display_name,
            },
        )
        .await?;
    Ok(match outcome {
        SignupOutcome::Tokens(tokens) => transport::token_response(
            &tokens,
            StatusCode::CREATED,
            transport,
            &state.config.cookies,
        ),
        // The same answer whether or not the address already had an account.
        SignupOutcome::VerificationRequired { email } => HttpResponse::Accepted().json(json!({
            "status": "verification_required",
            "email": email,
            "message": "Check your email to finish signing up.",
        })),
    })
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: SecretString,
    token_transport: Option<String>,
    session_mode: Option<String>,
}

async fn login(
    ClientCtx(ctx): ClientCtx,
    state: web::Data<HttpState>,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let transport = transport::requested(
        body.token_transport.as_deref(),
        body.session_mode.as_deref(),
        Transport::Cookie,
    )?;
    let outcome = state
        .services
        .login
        .execute(
            &ctx,
            LoginInput {
                email: body.email,
                password: body.password,
            },
        )
        .await?;
    Ok(match outcome {
        LoginOutcome::Tokens(tokens) => {
            transport::token_response(&tokens, StatusCode::OK, transport, &state.config.cookies)
        }
        LoginOutcome::SecondFactor(challenge) => transport::challenge_response(&challenge),
    })
}

#[derive(Deserialize, Default)]
struct RefreshBody {
    refresh_token: Option<SecretString>,
    token_transport: Option<String>,
    session_mode: Option<String>,
}

/// The refresh token comes from the body or the `auth_refresh` cookie; the new one goes back
/// the way the old one came unless the request names a transport.
async fn refresh(
    ClientCtx(ctx): ClientCtx,
    req: HttpRequest,
    state: web::Data<HttpState>,
    body: Option<web::Json<RefreshBody>>,
) -> Result<HttpResponse, ApiError> {
    let body = body.map(web::Json::into_inner).unwrap_or_default();
    let (refresh_token, came_by) = transport::presented_refresh_token(&req, body.refresh_token)?;
    let transport = transport::requested(
        body.token_transport.as_deref(),
        body.session_mode.as_deref(),
        came_by,
    )?;
    let tokens = state
        .services
        .refresh_session
        .execute(&ctx, RefreshSessionInput { refresh_token })
        .await?;
    Ok(transport::token_response(
        &tokens,
        StatusCode::OK,
        transport,
        &state.config.cookies,
    ))
}

/// Revokes the session of the body's or cookie's refresh token and clears the cookie.
async fn logout(
    ClientCtx(ctx): ClientCtx,
    req: HttpRequest,
    state: web::Data<HttpState>,
    body: Option<web::Json<RefreshBody>>,
) -> Result<HttpResponse, ApiError> {
    let body = body.map(web::Json::into_inner).unwrap_or_default();
    let (refresh_token, _) = transport::presented_refresh_token(&req, body.refresh_token)?;
    let revoked = state.services.logout.execute(&ctx, refresh_token).await?;
    Ok(HttpResponse::Ok()
        .cookie(transport::cleared_cookie(&state.config.cookies))
        .cookie(transport::hint_cookie(0, &state.config.cookies))
        .json(json!({ "success": true, "revoked": revoked })))
}

async fn me(CurrentUser { caller: auth, .. }: CurrentUser) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(user_json(&auth.user)))
}

#[derive(Deserialize)]
struct JwksQuery {
    client_id: Option<String>,
}

/// One client's keys (by `X-API-Key` or `?client_id=`); all active clients' only with
/// `JWKS_PUBLISH_ALL` (else 400 `client_required`).
async fn jwks(
    req: HttpRequest,
    state: web::Data<HttpState>,
    query: web::Query<JwksQuery>,
) -> Result<HttpResponse, ApiError> {
    let api_key = req.headers().get("x-api-key").and_then(|v| v.to_str().ok());
    let client = match (api_key, query.client_id.as_deref()) {
        (Some(key), _) => Some(
            state
                .services
                .authenticate_client
                .execute(AuthenticateClientInput {
                    api_key: Some(key),
                    origin: None,
                })
                .await?
                .id,
        ),
        (None, Some(id)) => Some(
            ClientId::parse(id)
                .map_err(|e| ApiError::new(ErrorKind::InvalidRequest, e.to_string()))?,
        ),
        (None, None) => None,
    };
    let keys = state.services.publish_jwks.execute(client).await?;
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            "public, max-age=300, stale-while-revalidate=60",
        ))
        .json(json!({ "keys": keys })))
}

#[derive(Deserialize)]
struct ProfileBody {
    display_name: Option<String>,
    timezone: Option<String>,
    locale: Option<String>,
}

async fn update_me(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    body: web::Json<ProfileBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let user = state
        .services
        .update_profile
        .execute(
            &ctx,
            caller,
            UpdateProfileInput {
                display_name: body.display_name,
                timezone: body.timezone,
                locale: body.locale,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(user_json(&user)))
}

#[derive(Deserialize)]
struct ChangePasswordBody {
    #[serde(alias = "old_password")]
    current_password: SecretString,
    new_password: SecretString,
}

async fn change_password(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    body: web::Json<ChangePasswordBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    state
        .services
        .change_password
        .execute(
            &ctx,
            caller,
            ChangePasswordInput {
                current_password: body.current_password,
                new_password: body.new_password,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "success": true, "other_sessions_revoked": true })))
}

async fn list_sessions(
    CurrentUser { caller, .. }: CurrentUser,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let sessions = state.services.sessions.list(&caller).await?;
    let rfc = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let sessions: Vec<Value> = sessions
        .iter()
        .map(|s| {
            json!({
                "id": s.info.id.to_string(),
                "user_agent": s.info.user_agent,
                "ip": s.info.ip,
                "created_at": rfc(s.info.started_at),
                "last_used_at": rfc(s.info.last_used_at),
                "expires_at": rfc(s.info.expires_at),
                "current": s.current,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "sessions": sessions })))
}

async fn revoke_other_sessions(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let revoked = state.services.sessions.revoke_others(&ctx, &caller).await?;
    Ok(HttpResponse::Ok().json(json!({ "success": true, "revoked": revoked })))
}

async fn revoke_session(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.services.sessions.revoke(&ctx, &caller, &id).await?;
    Ok(HttpResponse::Ok().json(json!({ "success": true })))
}
