//! `/api/admin/clients/{id}/users…`: operators find a client's users and look after one — the
//! whole account, profile changes, sessions, second factors, emailed links, export, erasure.

use actix_web::{HttpResponse, web};
use authservice_application::users::{UserDossier, UserPatch};
use authservice_domain::TokenPurpose;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::HttpState;
use super::dto::double_option;
use super::extractors::AdminCtx;
use crate::error::ApiError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/clients/{id}/users").get(search_users))
        .service(
            web::resource("/clients/{id}/users/{user_id}/sessions/revoke")
                .post(revoke_user_sessions),
        )
        .service(web::resource("/clients/{id}/users/{user_id}/mfa/reset").post(reset_mfa))
        .service(
            web::resource("/clients/{id}/users/{user_id}/send-password-reset")
                .post(send_password_reset),
        )
        .service(
            web::resource("/clients/{id}/users/{user_id}/resend-verification")
                .post(resend_verification),
        )
        .service(web::resource("/clients/{id}/users/{user_id}/export").get(export))
        .service(
            web::resource("/clients/{id}/users/{user_id}")
                .get(get_user)
                .patch(update_user)
                .delete(erase_user),
        );
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The account (as `GET /api/auth/me` shows it) with what hangs off it; never a secret.
fn dossier_json(d: &UserDossier, events: bool) -> Value {
    let mut v = super::auth::user_json(&d.user);
    v["sessions"] = json!(
        d.sessions
            .iter()
            .map(|s| json!({
                "id": s.id,
                "ip": s.ip,
                "user_agent": s.user_agent,
                "started_at": time(s.started_at),
                "last_used_at": time(s.last_used_at),
                "expires_at": time(s.expires_at),
            }))
            .collect::<Vec<_>>()
    );
    v["second_factors"] = json!({
        "totp": d.user.totp_enabled,
        "recovery_codes": { "unused": d.recovery_codes.0, "total": d.recovery_codes.1 },
        "passkeys": d.passkeys.len(),
    });
    v["passkeys"] = json!(
        d.passkeys
            .iter()
            .map(|p| json!({
                "id": p.id,
                "name": p.name,
                "backed_up": p.backed_up,
                "created_at": time(p.created_at),
                "last_used_at": p.last_used_at.map(time),
            }))
            .collect::<Vec<_>>()
    );
    v["identities"] = json!(
        d.social
            .iter()
            .map(|(kind, at)| json!({
                "provider": kind.as_str(),
                "linked_at": time(*at),
            }))
            .collect::<Vec<_>>()
    );
    v["organizations"] = json!(
        d.organizations
            .iter()
            .map(|(o, m)| json!({
                "id": o.id.to_string(),
                "name": o.name.as_str(),
                "slug": o.slug.as_str(),
                "role": m.role.as_str(),
                "joined_at": time(m.joined_at),
            }))
            .collect::<Vec<_>>()
    );
    if events {
        v["recent_events"] = json!(
            d.events
                .iter()
                .map(|e| super::dto::AuditEventDto::from(e.clone()))
                .collect::<Vec<_>>()
        );
    }
    v
}

#[derive(Debug, Deserialize)]
struct UserSearchQuery {
    q: Option<String>,
    status: Option<String>,
    email_verified: Option<String>,
    has_mfa: Option<String>,
    organization_id: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// `GET /clients/{id}/users?q=&status=&email_verified=&has_mfa=&organization_id=&limit=&cursor=`
async fn search_users(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    client: web::Path<String>,
    query: web::Query<UserSearchQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let input = authservice_application::users::UserSearchInput {
        q: q.q,
        status: q.status,
        email_verified: q.email_verified,
        has_mfa: q.has_mfa,
        organization_id: q.organization_id,
        limit: q.limit,
        cursor: q.cursor,
    };
    let page = state
        .services
        .manage_user
        .search(&ctx, &client, &input)
        .await?;
    let users: Vec<Value> = page.items.iter().map(super::auth::user_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "users": users, "next_cursor": page.next_cursor })))
}

/// Ends every session of the user at once.
async fn revoke_user_sessions(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, user) = path.into_inner();
    state
        .services
        .manage_user
        .revoke_sessions(&ctx, &client, &user)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn get_user(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, user) = path.into_inner();
    let dossier = state
        .services
        .manage_user
        .dossier(&ctx, &client, &user)
        .await?;
    Ok(HttpResponse::Ok().json(dossier_json(&dossier, true)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchUserBody {
    #[serde(default, deserialize_with = "double_option")]
    display_name: Option<Option<String>>,
    email: Option<String>,
    email_verified: Option<bool>,
    status: Option<String>,
}

/// Display name, address (re-verified), `email_verified`, and `status` (`"disabled"` ends
/// every session of the user at once; `"active"` re-enables).
async fn update_user(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
    body: web::Json<PatchUserBody>,
) -> Result<HttpResponse, ApiError> {
    let (client, user) = path.into_inner();
    let b = body.into_inner();
    let user = state
        .services
        .manage_user
        .update(
            &ctx,
            &client,
            &user,
            UserPatch {
                display_name: b.display_name,
                email: b.email,
                email_verified: b.email_verified,
                status: b.status,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(super::auth::user_json(&user)))
}

async fn export(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, user) = path.into_inner();
    let (dossier, consents) = state
        .services
        .manage_user
        .export(&ctx, &client, &user)
        .await?;
    let mut body = dossier_json(&dossier, false);
    body["audit_events"] = json!(
        dossier
            .events
            .iter()
            .map(|e| super::dto::AuditEventDto::from(e.clone()))
            .collect::<Vec<_>>()
    );
    body["consents"] = json!(
        consents
            .iter()
            .map(|c| json!({
                "app_id": c.app_public_id,
                "name": c.app_name,
                "scopes": c.scopes,
                "granted_at": time(c.granted_at),
            }))
            .collect::<Vec<_>>()
    );
    body["exported_at"] = json!(time(Utc::now()));
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"user-{}.json\"", dossier.user.id),
        ))
        .json(body))
}

async fn reset_mfa(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, user) = path.into_inner();
    state
        .services
        .manage_user
        .reset_mfa(&ctx, &client, &user)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A link to the user's address: `…/send-password-reset` or `…/resend-verification`.
async fn send_link(
    ctx: authservice_application::RequestCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
    purpose: TokenPurpose,
) -> Result<HttpResponse, ApiError> {
    let (client, user) = path.into_inner();
    state
        .services
        .manage_user
        .send_link(&ctx, &client, &user, purpose)
        .await?;
    Ok(HttpResponse::Accepted().json(json!({ "sent": true })))
}

async fn send_password_reset(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    send_link(ctx, state, path, TokenPurpose::ResetPassword).await
}

async fn resend_verification(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    send_link(ctx, state, path, TokenPurpose::VerifyEmail).await
}

async fn erase_user(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, user) = path.into_inner();
    let pseudonym = state
        .services
        .manage_user
        .erase(&ctx, &client, &user)
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "erased": true, "pseudonym": pseudonym })))
}
