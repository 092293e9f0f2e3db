//! `/api/admin/clients/{id}/email-config`: a client's sender, link base and own SMTP server.
//! GET reads (with outbox counts); PUT (and POST) replace the settings, PATCH changes the fields
//! it names (`null` clears one); an omitted SMTP password is kept while the server, port, TLS
//! mode and username stay the same. DELETE returns to the defaults.

use actix_web::{HttpResponse, web};
use authservice_application::email::{EmailConfigView, PatchEmailConfig, PutEmailConfig, PutSmtp};
use chrono::SecondsFormat;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use super::HttpState;
use super::dto::double_option;
use super::extractors::AdminCtx;
use crate::error::ApiError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/clients/{id}/email-config")
            .get(get_config)
            .put(put_config)
            .post(put_config)
            .patch(patch_config)
            .delete(delete_config),
    );
}

fn view_json(view: &EmailConfigView) -> Value {
    let rfc = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let c = &view.config;
    json!({
        "client_id": view.client_id.to_string(),
        "configured": view.configured,
        "from_name": c.from_name,
        "from_email": c.from_email.as_ref().map(|e| e.as_str()),
        "reply_to": c.reply_to.as_ref().map(|e| e.as_str()),
        "base_url": c.base_url.as_ref().map(|b| b.as_str()),
        "smtp": c.smtp.as_ref().map(|s| json!({
            "host": s.host,
            "port": s.port,
            "username": s.username,
            "tls": s.tls.as_str(),
            "password_set": view.smtp_password_set,
        })),
        "created_at": view.created_at.map(rfc),
        "updated_at": view.updated_at.map(rfc),
        "outbox": {
            "pending": view.outbox.pending,
            "sent": view.outbox.sent,
            "failed": view.outbox.failed,
        },
    })
}

async fn get_config(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = state.services.email_config.get(&ctx, &id).await?;
    Ok(HttpResponse::Ok().json(view_json(&view)))
}

#[derive(Deserialize)]
struct SmtpBody {
    host: String,
    port: Option<u16>,
    username: Option<String>,
    password: Option<SecretString>,
    tls: Option<String>,
}

#[derive(Deserialize)]
struct ConfigBody {
    from_name: Option<String>,
    from_email: Option<String>,
    reply_to: Option<String>,
    base_url: Option<String>,
    smtp: Option<SmtpBody>,
}

async fn put_config(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    id: web::Path<String>,
    body: web::Json<ConfigBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let input = PutEmailConfig {
        from_name: body.from_name,
        from_email: body.from_email,
        reply_to: body.reply_to,
        base_url: body.base_url,
        smtp: body.smtp.map(smtp_input),
    };
    let view = state.services.email_config.put(&ctx, &id, input).await?;
    Ok(HttpResponse::Ok().json(view_json(&view)))
}

#[derive(Deserialize)]
struct PatchBody {
    #[serde(default, deserialize_with = "double_option")]
    from_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    from_email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    reply_to: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    base_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    smtp: Option<Option<SmtpBody>>,
}

fn smtp_input(s: SmtpBody) -> PutSmtp {
    PutSmtp {
        host: s.host,
        port: s.port,
        username: s.username,
        password: s.password,
        tls: s.tls,
    }
}

async fn patch_config(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    id: web::Path<String>,
    body: web::Json<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let patch = PatchEmailConfig {
        from_name: body.from_name,
        from_email: body.from_email,
        reply_to: body.reply_to,
        base_url: body.base_url,
        smtp: body.smtp.map(|s| s.map(smtp_input)),
    };
    let view = state.services.email_config.patch(&ctx, &id, patch).await?;
    Ok(HttpResponse::Ok().json(view_json(&view)))
}

async fn delete_config(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let deleted = state.services.email_config.delete(&ctx, &id).await?;
    Ok(HttpResponse::Ok().json(json!({ "success": true, "deleted": deleted })))
}
