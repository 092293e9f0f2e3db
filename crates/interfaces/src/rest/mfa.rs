//! `/api/auth/*` second factors and passkeys: TOTP (setup, enable, disable, completing a login
//! challenge), recovery codes, passkey registration and login, and the user's passkey list.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use authservice_application::auth::IssuedTokens;
use authservice_application::auth::ReauthProof;
use authservice_application::mfa::{
    BeginPasskeyLogin, CodeFactor, DisableTotpInput, PasskeyCeremony, PasskeyView,
};
use chrono::SecondsFormat;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use super::HttpState;
use super::extractors::{ClientCtx, CurrentUser};
use super::transport::{self, Transport};
use crate::error::ApiError;

mod passkeys;

use passkeys::*;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/totp/setup").post(totp_setup))
        .service(web::resource("/auth/totp/enable").post(totp_enable))
        .service(web::resource("/auth/totp/verify").post(totp_verify))
        .service(web::resource("/auth/totp/disable").post(totp_disable))
        .service(
            web::resource("/auth/recovery-codes")
                .get(recovery_status)
                .post(recovery_regenerate),
        )
        .service(web::resource("/auth/recovery-codes/verify").post(recovery_verify))
        .service(web::resource("/auth/passkey/register/begin").post(register_begin))
        .service(web::resource("/auth/passkey/register/finish").post(register_finish))
        .service(web::resource("/auth/passkey/login/begin").post(login_begin))
        .service(web::resource("/auth/passkey/login/finish").post(login_finish))
        .service(
            web::resource("/auth/passkeys")
                .get(list_passkeys)
                .delete(delete_passkey_by_query),
        )
        .service(
            web::resource("/auth/passkeys/{id}")
                .patch(rename_passkey)
                .delete(delete_passkey),
        )
        .service(web::resource("/auth/reauthenticate").post(reauthenticate))
        .service(web::resource("/auth/reauthenticate/passkey/begin").post(reauth_passkey_begin));
}

#[derive(Deserialize)]
struct PasskeyProof {
    session_id: String,
    credential: Value,
}

#[derive(Deserialize)]
struct ReauthBody {
    password: Option<SecretString>,
    code: Option<String>,
    passkey: Option<PasskeyProof>,
}

/// `{password}` | `{code}` (TOTP) | `{passkey: {session_id, credential}}` → a new access token
/// for the same session with a fresh `auth_time` (key + bearer).
async fn reauthenticate(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    body: web::Json<ReauthBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let proof = match (body.password, body.code, body.passkey) {
        (Some(password), None, None) => ReauthProof::Password(password),
        (None, Some(code), None) => ReauthProof::TotpCode(code),
        (None, None, Some(passkey)) => ReauthProof::Passkey {
            session_id: passkey.session_id,
            credential: passkey.credential,
        },
        _ => {
            return Err(ApiError::new(
                authservice_application::ErrorKind::InvalidRequest,
                "send exactly one of password, code or passkey",
            ));
        }
    };
    let done = state
        .services
        .reauthenticate
        .execute(&ctx, &caller, proof)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({
            "access_token": done.access_token,
            "token_type": "Bearer",
            "expires_in": done.expires_in,
            "auth_time": done.auth_time,
        })))
}

async fn reauth_passkey_begin(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let ceremony = state
        .services
        .reauthenticate
        .begin_passkey(&ctx, &caller)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(ceremony_json(&ceremony)))
}

fn tokens(
    state: &HttpState,
    tokens: &IssuedTokens,
    token_transport: Option<&str>,
    session_mode: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let transport = transport::requested(token_transport, session_mode, Transport::Cookie)?;
    Ok(transport::token_response(
        tokens,
        StatusCode::OK,
        transport,
        &state.config.cookies,
    ))
}

async fn totp_setup(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let setup = state.services.totp.setup(&ctx, caller).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({
            "secret": setup.secret,
            "otpauth_url": setup.otpauth_url,
            "qr_code": setup.qr_code,
            "expires_in": setup.expires_in,
        })))
}

#[derive(Deserialize)]
struct CodeBody {
    code: String,
}

async fn totp_enable(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    body: web::Json<CodeBody>,
) -> Result<HttpResponse, ApiError> {
    let enabled = state.services.totp.enable(&ctx, caller, &body.code).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({
            "success": true,
            "totp_enabled": true,
            "recovery_codes": enabled.recovery_codes,
        })))
}

#[derive(Deserialize)]
struct ChallengeBody {
    two_factor_token: String,
    code: String,
    token_transport: Option<String>,
    session_mode: Option<String>,
}

async fn totp_verify(
    ClientCtx(ctx): ClientCtx,
    state: web::Data<HttpState>,
    body: web::Json<ChallengeBody>,
) -> Result<HttpResponse, ApiError> {
    complete_challenge(&ctx, &state, &body, CodeFactor::Totp).await
}

/// Completes a login challenge with a code and answers the token response.
async fn complete_challenge(
    ctx: &authservice_application::RequestCtx,
    state: &HttpState,
    body: &ChallengeBody,
    factor: CodeFactor,
) -> Result<HttpResponse, ApiError> {
    let issued = state
        .services
        .complete_challenge
        .with_code(ctx, factor, &body.two_factor_token, &body.code)
        .await?;
    tokens(
        state,
        &issued,
        body.token_transport.as_deref(),
        body.session_mode.as_deref(),
    )
}

#[derive(Deserialize, Default)]
struct DisableBody {
    code: Option<String>,
    password: Option<SecretString>,
}

async fn totp_disable(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    body: web::Json<DisableBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    state
        .services
        .totp
        .disable(
            &ctx,
            caller,
            DisableTotpInput {
                code: body.code,
                password: body.password,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "success": true, "totp_enabled": false })))
}

async fn recovery_status(
    CurrentUser { caller, .. }: CurrentUser,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let status = state.services.recovery_codes.status(&caller).await?;
    Ok(HttpResponse::Ok().json(json!({ "remaining": status.remaining, "total": status.total })))
}

async fn recovery_regenerate(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let codes = state
        .services
        .recovery_codes
        .regenerate(&ctx, caller)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({ "recovery_codes": codes })))
}

async fn recovery_verify(
    ClientCtx(ctx): ClientCtx,
    state: web::Data<HttpState>,
    body: web::Json<ChallengeBody>,
) -> Result<HttpResponse, ApiError> {
    complete_challenge(&ctx, &state, &body, CodeFactor::RecoveryCode).await
}
