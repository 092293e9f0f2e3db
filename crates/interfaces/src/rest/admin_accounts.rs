//! Operators' own accounts: sign-in (`/api/admin/auth/*`, password + TOTP), admin users
//! (`/api/admin/users`) and custom roles (`/api/admin/roles`), the latter two for super admins.
//! Tokens are answered with `Cache-Control: no-store`.

use actix_web::{HttpRequest, HttpResponse, web};
use authservice_application::admin::{
    AdminLoginInput, AdminLoginOutcome, AdminRoleInput, AdminSetup, AdminTokens, AdminUserInput,
    AdminUserPatch, ScopeInput,
};
use authservice_domain::admin::{AdminRole, AdminUser, scope_parts};
use authservice_domain::{AdminKind, AdminPrincipal, AdminScope};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::extractors::base_ctx;
use super::organizations::PageQuery;
use super::{AdminCtx, HttpState};
use crate::error::ApiError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/login").post(login))
        .service(web::resource("/auth/totp/enable").post(enable_totp))
        .service(web::resource("/auth/refresh").post(refresh))
        .service(web::resource("/auth/sso").get(sso_status))
        .service(web::resource("/auth/sso/start").post(sso_start))
        .service(web::resource("/auth/sso/callback").get(sso_callback))
        .service(web::resource("/auth/sso/complete").post(sso_complete))
        .service(web::resource("/auth/logout").post(logout))
        .service(web::resource("/auth/me").get(me))
        .service(web::resource("/users").get(list).post(create))
        .service(
            web::resource("/users/{admin}")
                .get(get)
                .patch(update)
                .delete(delete),
        )
        .service(web::resource("/roles").get(roles))
        .service(
            web::resource("/roles/{name}")
                .put(save_role)
                .delete(delete_role),
        );
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn scope_json(scope: &AdminScope) -> Value {
    let (kind, id) = scope_parts(scope);
    let mut value = json!({ "type": kind, "id": id });
    if let AdminScope::Organization { client, .. } = scope {
        value["client_id"] = json!(client.to_string());
    }
    value
}

fn admin_json(admin: &AdminUser) -> Value {
    json!({
        "id": admin.id,
        "email": admin.email.as_str(),
        "roles": admin.roles,
        "scope": scope_json(&admin.scope),
        "status": admin.status.as_str(),
        "has_password": admin.has_password,
        "totp_enabled": admin.totp_enabled,
        "last_login_at": admin.last_login_at.map(time),
        "created_at": time(admin.created_at),
        "updated_at": time(admin.updated_at),
    })
}

fn role_json(role: &AdminRole, built_in: bool) -> Value {
    json!({
        "name": role.name,
        "description": role.description,
        "permissions": role.permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "built_in": built_in,
    })
}

fn tokens(tokens: &AdminTokens) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "token_type": "Bearer",
            "expires_in": tokens.expires_in,
            "admin": admin_json(&tokens.admin),
        }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: String,
    password: String,
    totp_code: Option<String>,
    setup_token: Option<String>,
}

async fn login(
    req: HttpRequest,
    state: web::Data<HttpState>,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let ctx = base_ctx(&req);
    let body = body.into_inner();
    let outcome = state
        .services
        .admin_sign_in
        .login(
            &ctx,
            AdminLoginInput {
                email: body.email,
                password: body.password,
                totp_code: body.totp_code,
                setup_token: body.setup_token,
            },
        )
        .await?;
    Ok(login_answer(outcome))
}

/// What a first factor leads to: tokens, or (a first sign-in) the authenticator enrolment.
fn login_answer(outcome: AdminLoginOutcome) -> HttpResponse {
    match outcome {
        AdminLoginOutcome::SignedIn(t) => tokens(&t),
        AdminLoginOutcome::EnrollmentRequired(e) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(json!({
                "mfa_enrollment_required": true,
                "enrollment_token": e.enrollment_token,
                "otpauth_url": e.otpauth_url,
                "secret": e.secret,
                "qr_code": format!("data:image/png;base64,{}", e.qr_png_base64),
            })),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnableBody {
    enrollment_token: String,
    code: String,
}

async fn enable_totp(
    req: HttpRequest,
    state: web::Data<HttpState>,
    body: web::Json<EnableBody>,
) -> Result<HttpResponse, ApiError> {
    let ctx = base_ctx(&req);
    let t = state
        .services
        .admin_sign_in
        .enable_totp(&ctx, &body.enrollment_token, &body.code)
        .await?;
    Ok(tokens(&t))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    refresh_token: String,
}

async fn refresh(
    req: HttpRequest,
    state: web::Data<HttpState>,
    body: web::Json<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let ctx = base_ctx(&req);
    let t = state
        .services
        .admin_sign_in
        .refresh(&ctx, &body.refresh_token)
        .await?;
    Ok(tokens(&t))
}

async fn logout(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    state.services.admin_sign_in.logout(&ctx).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Who the caller is and what they may do (the portal shows only that).
async fn me(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let account = state.services.admin_sign_in.me(&ctx).await?;
    let authservice_domain::Principal::Admin(principal) = &ctx.principal else {
        return Err(ApiError::new(
            authservice_application::ErrorKind::Internal,
            "admin principal missing",
        ));
    };
    Ok(HttpResponse::Ok().json(me_json(principal, account.as_ref())))
}

fn me_json(principal: &AdminPrincipal, account: Option<&AdminUser>) -> Value {
    json!({
        "kind": match principal.kind {
            AdminKind::BreakGlassKey => "break_glass",
            AdminKind::AdminUser => "admin_user",
            AdminKind::Console => "console",
        },
        "permissions": principal.permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "scope": scope_json(&principal.scope),
        "admin": account.map(admin_json),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeBody {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
}

impl From<ScopeBody> for ScopeInput {
    fn from(b: ScopeBody) -> Self {
        Self {
            kind: b.kind,
            id: b.id,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    email: String,
    password: Option<String>,
    roles: Vec<String>,
    scope: ScopeBody,
}

async fn create(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let (admin, setup) = state
        .services
        .manage_admins
        .create(
            &ctx,
            AdminUserInput {
                email: b.email,
                password: b.password,
                roles: b.roles,
                scope: b.scope.into(),
            },
        )
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(with_setup(&admin, Some(&setup))))
}

async fn list(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .services
        .manage_admins
        .list(&ctx, query.limit, query.cursor.as_deref())
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "data": page.items.iter().map(admin_json).collect::<Vec<_>>(),
        "next_cursor": page.next_cursor,
    })))
}

async fn get(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let admin = state.services.manage_admins.get(&ctx, &id).await?;
    Ok(HttpResponse::Ok().json(admin_json(&admin)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    email: Option<String>,
    password: Option<String>,
    roles: Option<Vec<String>>,
    scope: Option<ScopeBody>,
    status: Option<String>,
    #[serde(default)]
    reset_totp: bool,
}

async fn update(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    id: web::Path<String>,
    body: web::Json<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let (admin, setup) = state
        .services
        .manage_admins
        .update(
            &ctx,
            &id,
            AdminUserPatch {
                email: b.email,
                password: b.password,
                roles: b.roles,
                scope: b.scope.map(Into::into),
                status: b.status,
                reset_totp: b.reset_totp,
            },
        )
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(with_setup(&admin, setup.as_ref())))
}

/// The account, with the setup token its owner needs for the first sign-in (shown once).
fn with_setup(admin: &AdminUser, setup: Option<&AdminSetup>) -> Value {
    let mut body = admin_json(admin);
    if let Some(setup) = setup {
        body["setup_token"] = json!(setup.token);
        body["setup_expires_at"] = json!(time(setup.expires_at));
    }
    body
}

async fn delete(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.services.manage_admins.delete(&ctx, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn roles(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let roles = state.services.manage_admins.roles(&ctx).await?;
    Ok(HttpResponse::Ok().json(json!({
        "data": roles.iter().map(|(r, b)| role_json(r, *b)).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    description: Option<String>,
    permissions: Vec<String>,
}

async fn save_role(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    name: web::Path<String>,
    body: web::Json<RoleBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let role = state
        .services
        .manage_admins
        .save_role(
            &ctx,
            &name,
            AdminRoleInput {
                description: b.description,
                permissions: b.permissions,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(role_json(&role, false)))
}

async fn delete_role(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .services
        .manage_admins
        .delete_role(&ctx, &name)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The cookie binding an operator's SSO attempt to its browser (path: the callback).
const SSO_COOKIE: &str = "admin_sso";

/// `GET /api/admin/auth/sso`: whether the portal should offer it.
async fn sso_status(state: web::Data<HttpState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "enabled": state.services.admin_sign_in.sso_enabled() }))
}

/// `POST /api/admin/auth/sso/start`: `{authorization_url}`, and the binding cookie.
async fn sso_start(state: web::Data<HttpState>) -> Result<HttpResponse, ApiError> {
    let started = state.services.admin_sign_in.sso_start().await?;
    let cookie = actix_web::cookie::Cookie::build(SSO_COOKIE, started.binding)
        .path("/api/admin/auth/sso/callback")
        .http_only(true)
        .secure(state.config.cookies.secure)
        .same_site(actix_web::cookie::SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::minutes(10))
        .finish();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .cookie(cookie)
        .json(json!({ "authorization_url": started.authorization_url })))
}

#[derive(Deserialize)]
struct SsoCallbackQuery {
    code: Option<String>,
    state: Option<String>,
}

/// `GET /api/admin/auth/sso/callback`: back to the portal with a one-time token in the
/// fragment (never sent to a server, nor in a `Referer`), or an error code.
async fn sso_callback(
    req: HttpRequest,
    state: web::Data<HttpState>,
    query: web::Query<SsoCallbackQuery>,
) -> HttpResponse {
    let ctx = base_ctx(&req);
    let binding = req.cookie(SSO_COOKIE).map(|c| c.value().to_owned());
    let outcome = match (query.code.as_deref(), query.state.as_deref()) {
        (Some(code), Some(s)) => {
            state
                .services
                .admin_sign_in
                .sso_callback(&ctx, code, s, binding.as_deref())
                .await
        }
        _ => Err(authservice_application::admin::AdminAuthError::SsoFailed),
    };
    let fragment = match outcome {
        Ok(token) => format!("sso_token={token}"),
        Err(e) => {
            use authservice_application::error::UseCaseError as _;
            format!("sso_error={}", crate::error::spec(e.kind()).code)
        }
    };
    let mut gone = actix_web::cookie::Cookie::build(SSO_COOKIE, "")
        .path("/api/admin/auth/sso/callback")
        .http_only(true)
        .secure(state.config.cookies.secure)
        .same_site(actix_web::cookie::SameSite::Lax)
        .finish();
    gone.make_removal();
    HttpResponse::SeeOther()
        .insert_header(("Location", format!("/portal.html#{fragment}")))
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .cookie(gone)
        .finish()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SsoCompleteBody {
    sso_token: String,
    totp_code: Option<String>,
    setup_token: Option<String>,
}

/// `POST /api/admin/auth/sso/complete`: as a password sign-in's answer.
async fn sso_complete(
    req: HttpRequest,
    state: web::Data<HttpState>,
    body: web::Json<SsoCompleteBody>,
) -> Result<HttpResponse, ApiError> {
    let ctx = base_ctx(&req);
    let outcome = state
        .services
        .admin_sign_in
        .sso_complete(
            &ctx,
            &body.sso_token,
            body.totp_code.as_deref(),
            body.setup_token.as_deref(),
        )
        .await?;
    Ok(login_answer(outcome))
}
