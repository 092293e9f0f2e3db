//! Passkey routes: registration, login ceremonies, listing, renaming and removal.

#![allow(clippy::wildcard_imports)]

use super::*;

pub(super) fn ceremony_json(ceremony: &PasskeyCeremony) -> Value {
    json!({
        "session_id": ceremony.session_id,
        "options": ceremony.options,
        "expires_in": ceremony.expires_in,
    })
}

#[derive(Deserialize, Default)]
pub(super) struct NameBody {
    name: Option<String>,
}

pub(super) async fn register_begin(
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
pub(super) struct FinishQuery {
    session_id: Option<String>,
    name: Option<String>,
}

/// A finish body: `{session_id, credential, name?, token_transport?}`, or the bare credential
/// with `?session_id=` (and `?name=`) as in the Go service.
pub(super) struct FinishBody {
    session_id: String,
    credential: Value,
    name: Option<String>,
    token_transport: Option<String>,
    session_mode: Option<String>,
}

pub(super) fn finish_body(query: FinishQuery, body: Value) -> Result<FinishBody, ApiError> {
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

pub(super) async fn register_finish(
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
pub(super) struct LoginBeginBody {
    email: Option<String>,
    two_factor_token: Option<String>,
}

pub(super) async fn login_begin(
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

pub(super) async fn login_finish(
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

pub(super) fn passkey_json(p: &PasskeyView) -> Value {
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

pub(super) async fn list_passkeys(
    CurrentUser { caller, .. }: CurrentUser,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let passkeys = state.services.passkeys.list(&caller).await?;
    Ok(HttpResponse::Ok().json(json!({
        "passkeys": passkeys.iter().map(passkey_json).collect::<Vec<_>>(),
    })))
}

pub(super) async fn rename_passkey(
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

pub(super) async fn delete_passkey(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.services.passkeys.delete(&ctx, caller, &id).await?;
    Ok(HttpResponse::Ok().json(json!({ "success": true })))
}

#[derive(Deserialize)]
pub(super) struct IdQuery {
    id: String,
}

pub(super) async fn delete_passkey_by_query(
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
