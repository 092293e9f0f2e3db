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

fn ceremony_json(ceremony: &PasskeyCeremony) -> Value {
    json!({
        "session_id": ceremony.session_id,
        "options": ceremony.options,
        "expires_in": ceremony.expires_in,
    })
}

#[derive(Deserialize, Default)]
struct NameBody {
    name: Option<String>,
}

async fn register_begin(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    body: Option<web::Json<NameBody>>,
) -> Result<HttpResponse, ApiError> {
    let body = body.map(web::Json::into_inner).unwrap_or_default();
    let ceremony = state
        .services
        .passkeys
        .register_begin(&ctx, caller, body.name.as_deref())
        .await?;
    Ok(HttpResponse::Ok().json(ceremony_json(&ceremony)))
}

#[derive(Deserialize, Default)]
struct FinishQuery {
    session_id: Option<String>,
    name: Option<String>,
}

/// A finish body: `{session_id, credential, name?, token_transport?}`, or the bare credential
/// with `?session_id=` (and `?name=`) as in the Go service.
struct FinishBody {
    session_id: String,
    credential: Value,
    name: Option<String>,
    token_transport: Option<String>,
    session_mode: Option<String>,
}

fn finish_body(query: FinishQuery, body: Value) -> Result<FinishBody, ApiError> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let (credential, from_body) = match body.get("credential") {
        Some(credential) => (credential.clone(), true),
        None => (body.clone(), false),
    };
    let session_id = query
        .session_id
        .or_else(|| from_body.then(|| text(&body, "session_id")).flatten())
        .ok_or_else(|| {
            ApiError::new(
                authservice_application::ErrorKind::InvalidRequest,
                "session_id is required (body or query)",
            )
        })?;
    Ok(FinishBody {
        session_id,
        name: query.name.or_else(|| text(&body, "name")),
        token_transport: text(&body, "token_transport"),
        session_mode: text(&body, "session_mode"),
        credential,
    })
}

async fn register_finish(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    query: web::Query<FinishQuery>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let finish = finish_body(query.into_inner(), body.into_inner())?;
    let passkey = state
        .services
        .passkeys
        .register_finish(
            &ctx,
            caller,
            &finish.session_id,
            &finish.credential,
            finish.name.as_deref(),
        )
        .await?;
    Ok(HttpResponse::Created().json(json!({ "success": true, "passkey": passkey_json(&passkey) })))
}

#[derive(Deserialize, Default)]
struct LoginBeginBody {
    email: Option<String>,
    two_factor_token: Option<String>,
}

async fn login_begin(
    ClientCtx(ctx): ClientCtx,
    state: web::Data<HttpState>,
    body: Option<web::Json<LoginBeginBody>>,
) -> Result<HttpResponse, ApiError> {
    let body = body.map(web::Json::into_inner).unwrap_or_default();
    let ceremony = state
        .services
        .passkey_login
        .begin(
            &ctx,
            BeginPasskeyLogin {
                email: body.email.filter(|e| !e.trim().is_empty()),
                two_factor_token: body.two_factor_token,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(ceremony_json(&ceremony)))
}

async fn login_finish(
    ClientCtx(ctx): ClientCtx,
    state: web::Data<HttpState>,
    query: web::Query<FinishQuery>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let finish = finish_body(query.into_inner(), body.into_inner())?;
    let issued = state
        .services
        .passkey_login
        .finish(&ctx, &finish.session_id, &finish.credential)
        .await?;
    tokens(
        &state,
        &issued,
        finish.token_transport.as_deref(),
        finish.session_mode.as_deref(),
    )
}

fn passkey_json(p: &PasskeyView) -> Value {
    let rfc = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    json!({
        "id": p.id.to_string(),
        "name": p.name,
        "created_at": rfc(p.created_at),
        "last_used_at": p.last_used_at.map(rfc),
        "backed_up": p.backed_up,
        "attestation_format": p.attestation_format,
    })
}

async fn list_passkeys(
    CurrentUser { caller, .. }: CurrentUser,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let passkeys = state.services.passkeys.list(&caller).await?;
    Ok(HttpResponse::Ok().json(json!({
        "passkeys": passkeys.iter().map(passkey_json).collect::<Vec<_>>(),
    })))
}

async fn rename_passkey(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    id: web::Path<String>,
    body: web::Json<NameBody>,
) -> Result<HttpResponse, ApiError> {
    let name = body.into_inner().name.unwrap_or_default();
    state
        .services
        .passkeys
        .rename(&ctx, caller, &id, &name)
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "success": true })))
}

async fn delete_passkey(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.services.passkeys.delete(&ctx, caller, &id).await?;
    Ok(HttpResponse::Ok().json(json!({ "success": true })))
}

#[derive(Deserialize)]
struct IdQuery {
    id: String,
}

async fn delete_passkey_by_query(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    query: web::Query<IdQuery>,
) -> Result<HttpResponse, ApiError> {
    state
        .services
        .passkeys
        .delete(&ctx, caller, &query.id)
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "success": true })))
}
