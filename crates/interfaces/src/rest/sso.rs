//! Enterprise SSO. Connections: `/api/auth/enterprise-onboarding/sso-connections` (members
//! with `enterprise:write`; `enterprise:read` to read) and `/api/admin/clients/{id}/
//! sso-connections` (operators). The browser's way: `GET /api/auth/sso?domain=|email=` or
//! `GET /api/auth/sso/{connection}` (with `api_key`, `redirect_uri`, `state`, `code_challenge`)
//! → the IdP → `GET /api/auth/sso/callback/{connection}` → `302` to the app's redirect URI (or
//! `/login.html`) with a one-time `auth_code`, or with `error=<code>` only.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use authservice_application::clients::AuthenticateClientInput;
use authservice_application::organizations::{ConnectionInput, DomainActor, OrgError};
use authservice_application::pagination::{Page, PageRequest};
use authservice_application::sso::{
    CallbackInput, Landed, ReturnTo, SsoFailure, StartInput, binding_cookie_name,
};
use authservice_domain::sso::SsoConnection;
use chrono::SecondsFormat;
use serde::Deserialize;
use serde_json::{Value, json};

use super::HttpState;
use super::extractors::{AdminCtx, CurrentUser, base_ctx};
use crate::error::{ApiError, spec};
use authservice_application::UseCaseError;

/// Routes inside `/api`: members' management and the browser's way.
pub fn member_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/auth/enterprise-onboarding/sso-connections")
            .get(member_list)
            .post(member_create),
    )
    .service(
        web::resource("/auth/enterprise-onboarding/sso-connections/{id}")
            .get(member_get)
            .patch(member_update)
            .delete(member_delete),
    )
    .service(
        web::resource("/auth/enterprise-onboarding/sso-connections/{id}/test-sign-in")
            .post(member_test),
    )
    .service(
        web::resource("/auth/enterprise-onboarding/sso-connections/{id}/test-sign-in/{test}")
            .get(member_test_result),
    )
    .service(web::resource("/auth/sso").get(start))
    .service(
        web::resource("/auth/sso/callback/{connection}")
            // A SAML Response (with its certificates) is larger than the default form limit.
            .app_data(web::FormConfig::default().limit(1024 * 1024))
            .get(callback)
            .post(callback_post),
    )
    .service(web::resource("/auth/sso/metadata/{connection}").get(sp_metadata))
    .service(web::resource("/auth/sso/{connection}").get(start_connection));
}

/// Routes inside `/api/admin` for operators.
pub fn admin_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/clients/{id}/sso-connections")
            .get(admin_list)
            .post(admin_create),
    )
    .service(
        web::resource("/clients/{id}/sso-connections/{connection}")
            .get(admin_get)
            .patch(admin_update)
            .delete(admin_delete),
    )
    .service(
        web::resource("/clients/{id}/sso-connections/{connection}/test-sign-in").post(admin_test),
    )
    .service(
        web::resource("/clients/{id}/sso-connections/{connection}/test-sign-in/{test}")
            .get(admin_test_result),
    );
}

fn connection_json(state: &HttpState, c: &SsoConnection) -> Value {
    let settings = state.services.sso_connections.settings();
    let mut v = authservice_application::organizations::connection_snapshot(c);
    let time = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    v["callback_url"] = json!(settings.callback_url(c.id));
    if c.protocol == authservice_domain::sso::SsoProtocol::Saml {
        // What the IdP is configured with: our entityID (= metadata URL) and ACS.
        v["sp_entity_id"] = json!(settings.metadata_url(c.id));
        v["metadata_url"] = json!(settings.metadata_url(c.id));
        v["acs_url"] = json!(settings.callback_url(c.id));
    }
    v["start_url"] = json!(settings.start_url(c.id));
    v["created_at"] = json!(time(c.created_at));
    v["updated_at"] = json!(time(c.updated_at));
    v["last_login_at"] = json!(c.last_login_at.map(time));
    v
}

fn listed(state: &HttpState, page: &Page<SsoConnection>) -> HttpResponse {
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|c| connection_json(state, c))
        .collect();
    HttpResponse::Ok().json(json!({ "sso_connections": items, "next_cursor": page.next_cursor }))
}

#[derive(Deserialize)]
struct ListQuery {
    organization_id: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Deserialize)]
struct Body {
    organization_id: Option<String>,
    name: Option<String>,
    protocol: Option<String>,
    status: Option<String>,
    domains: Option<Value>,
    enforce_for_domains: Option<bool>,
    jit: Option<bool>,
    attribute_mapping: Option<Value>,
    oidc: Option<Value>,
    saml: Option<Value>,
}

impl From<Body> for ConnectionInput {
    fn from(b: Body) -> Self {
        Self {
            organization_id: b.organization_id,
            name: b.name,
            protocol: b.protocol,
            status: b.status,
            domains: b.domains,
            enforce_for_domains: b.enforce_for_domains,
            jit: b.jit,
            attribute_mapping: b.attribute_mapping,
            oidc: b.oidc,
            saml: b.saml,
        }
    }
}

// ------------------------------------------------------------------ management

async fn list(
    state: &HttpState,
    ctx: &authservice_application::context::RequestCtx,
    actor: DomainActor<'_>,
    query: &ListQuery,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref()).map_err(OrgError::from)?;
    let connections = state
        .services
        .sso_connections
        .list(ctx, actor, query.organization_id.as_deref(), page)
        .await?;
    Ok(listed(state, &connections))
}

async fn member_list(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    list(&state, &ctx, DomainActor::Member(&caller), &query).await
}

async fn admin_list(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    client: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    list(
        &state,
        &ctx,
        DomainActor::Operator { client: &client },
        &query,
    )
    .await
}

async fn member_create(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    body: web::Json<Body>,
) -> Result<HttpResponse, ApiError> {
    let c = state
        .services
        .sso_connections
        .create(
            &ctx,
            DomainActor::Member(&caller),
            &body.into_inner().into(),
        )
        .await?;
    Ok(HttpResponse::Created().json(connection_json(&state, &c)))
}

async fn admin_create(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    client: web::Path<String>,
    body: web::Json<Body>,
) -> Result<HttpResponse, ApiError> {
    let actor = DomainActor::Operator { client: &client };
    let c = state
        .services
        .sso_connections
        .create(&ctx, actor, &body.into_inner().into())
        .await?;
    Ok(HttpResponse::Created().json(connection_json(&state, &c)))
}

async fn member_get(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let actor = DomainActor::Member(&caller);
    let c = state.services.sso_connections.get(&ctx, actor, &id).await?;
    Ok(HttpResponse::Ok().json(connection_json(&state, &c)))
}

async fn admin_get(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, id) = path.into_inner();
    let actor = DomainActor::Operator { client: &client };
    let c = state.services.sso_connections.get(&ctx, actor, &id).await?;
    Ok(HttpResponse::Ok().json(connection_json(&state, &c)))
}

async fn member_update(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    id: web::Path<String>,
    body: web::Json<Body>,
) -> Result<HttpResponse, ApiError> {
    let actor = DomainActor::Member(&caller);
    let input = body.into_inner().into();
    let c = state
        .services
        .sso_connections
        .update(&ctx, actor, &id, &input)
        .await?;
    Ok(HttpResponse::Ok().json(connection_json(&state, &c)))
}

async fn admin_update(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
    body: web::Json<Body>,
) -> Result<HttpResponse, ApiError> {
    let (client, id) = path.into_inner();
    let actor = DomainActor::Operator { client: &client };
    let input = body.into_inner().into();
    let c = state
        .services
        .sso_connections
        .update(&ctx, actor, &id, &input)
        .await?;
    Ok(HttpResponse::Ok().json(connection_json(&state, &c)))
}

async fn member_delete(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let actor = DomainActor::Member(&caller);
    state
        .services
        .sso_connections
        .delete(&ctx, actor, &id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn admin_delete(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, id) = path.into_inner();
    let actor = DomainActor::Operator { client: &client };
    state
        .services
        .sso_connections
        .delete(&ctx, actor, &id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn test(
    state: &HttpState,
    ctx: &authservice_application::context::RequestCtx,
    actor: DomainActor<'_>,
    id: &str,
) -> Result<HttpResponse, ApiError> {
    let (test, url) = state
        .services
        .sso_connections
        .test_sign_in(ctx, actor, id)
        .await?;
    Ok(HttpResponse::Created().json(json!({ "test_id": test.to_string(), "url": url })))
}

async fn member_test(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    test(&state, &ctx, DomainActor::Member(&caller), &id).await
}

async fn admin_test(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, id) = path.into_inner();
    test(&state, &ctx, DomainActor::Operator { client: &client }, &id).await
}

async fn member_test_result(
    CurrentUser { ctx, caller }: CurrentUser,
    state: web::Data<HttpState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, test) = path.into_inner();
    let actor = DomainActor::Member(&caller);
    let result = state
        .services
        .sso_connections
        .test_result(&ctx, actor, &id, &test)
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

async fn admin_test_result(
    AdminCtx(ctx): AdminCtx,
    state: web::Data<HttpState>,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (client, id, test) = path.into_inner();
    let actor = DomainActor::Operator { client: &client };
    let result = state
        .services
        .sso_connections
        .test_result(&ctx, actor, &id, &test)
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// A test sign-in's result as a page for the admin's browser (escaped; no script).
fn tested_page(result: &Value) -> HttpResponse {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let pretty = serde_json::to_string_pretty(result).unwrap_or_default();
    let verdict = if result["ok"] == true {
        "The identity provider signed this person in. Nobody was signed in here."
    } else {
        "The test sign-in failed. Nobody was signed in here."
    };
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>SSO test sign-in</title></head>\
         <body><main><h1>SSO test sign-in</h1><p>{}</p><pre>{}</pre></main></body></html>",
        escape(verdict),
        escape(&pretty)
    );
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .content_type("text/html; charset=utf-8")
        .body(body)
}

// ------------------------------------------------------------------ the browser's way

#[derive(Deserialize)]
struct StartQuery {
    api_key: Option<String>,
    domain: Option<String>,
    email: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// A redirect that no cache keeps and no referrer leaks.
fn redirect(location: &str) -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::Found();
    builder
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"));
    builder
}

/// Sends the browser where a stopped attempt is reported: the app's validated redirect URI
/// with `error=<code>` (and its `state`), else the hosted login page. Never any detail.
fn failed(state: &HttpState, failure: &SsoFailure) -> HttpResponse {
    report(state, &failure.error, &failure.return_to)
}

fn report<E: UseCaseError + std::error::Error>(
    state: &HttpState,
    error: &E,
    return_to: &ReturnTo,
) -> HttpResponse {
    let kind = error.kind();
    if kind == authservice_application::ErrorKind::Internal {
        tracing::error!(error = %crate::error::error_chain(error), "SSO sign-in failed");
    }
    let code = spec(kind).code;
    let ReturnTo {
        redirect_uri,
        app_state,
    } = return_to;
    let base = state.services.sso_connections.settings().base_url.clone();
    let target = redirect_uri
        .clone()
        .unwrap_or_else(|| format!("{base}/login.html"));
    let mut url = url::Url::parse(&target)
        .unwrap_or_else(|_| url::Url::parse(&format!("{base}/login.html")).expect("BASE_URL"));
    url.query_pairs_mut().append_pair("error", code);
    if let Some(app_state) = app_state {
        url.query_pairs_mut().append_pair("state", app_state);
    }
    redirect(url.as_str()).finish()
}

async fn start(
    req: HttpRequest,
    state: web::Data<HttpState>,
    query: web::Query<StartQuery>,
) -> HttpResponse {
    begin(&req, &state, query.into_inner(), None).await
}

async fn start_connection(
    req: HttpRequest,
    state: web::Data<HttpState>,
    connection: web::Path<String>,
    query: web::Query<StartQuery>,
) -> HttpResponse {
    begin(
        &req,
        &state,
        query.into_inner(),
        Some(connection.into_inner()),
    )
    .await
}

async fn begin(
    req: &HttpRequest,
    state: &HttpState,
    query: StartQuery,
    connection: Option<String>,
) -> HttpResponse {
    let mut ctx = base_ctx(req);
    // The key travels in the URL of this top-level navigation (an API key is the app's
    // public identifier on the hosted pages too); it names the client, nothing more.
    let client = state
        .services
        .authenticate_client
        .execute(AuthenticateClientInput {
            api_key: query.api_key.as_deref(),
            origin: None,
        })
        .await;
    let client = match client {
        Ok(client) => client,
        // No client: the hosted login page says why (nothing is redirected anywhere else).
        Err(e) => return report(state, &e, &ReturnTo::default()),
    };
    ctx.principal = authservice_domain::Principal::Client(client.id);
    ctx.client = Some(client);
    let input = StartInput {
        connection,
        domain: query.domain,
        email: query.email,
        redirect_uri: query.redirect_uri,
        app_state: query.state,
        code_challenge: query.code_challenge,
        code_challenge_method: query.code_challenge_method,
    };
    match state.services.sso_sign_in.start(&ctx, input).await {
        Ok(started) => {
            // A SAML IdP comes back with a cross-site POST, which carries only SameSite=None
            // cookies, and those only when Secure (browsers treat http://localhost as secure;
            // SAML needs https otherwise).
            let (same_site, secure) = if started.cross_site_post {
                (actix_web::cookie::SameSite::None, true)
            } else {
                (
                    actix_web::cookie::SameSite::Lax,
                    state.config.cookies.secure,
                )
            };
            let cookie =
                actix_web::cookie::Cookie::build(started.cookie_name, started.cookie_value)
                    .path("/api/auth/sso/callback")
                    .http_only(true)
                    .secure(secure)
                    .same_site(same_site)
                    .max_age(actix_web::cookie::time::Duration::seconds(
                        i64::try_from(authservice_application::sso::SSO_STATE_TTL.as_secs())
                            .unwrap_or(600),
                    ))
                    .finish();
            redirect(&started.location).cookie(cookie).finish()
        }
        Err(failure) => failed(state, &failure),
    }
}

#[derive(Deserialize)]
struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

/// A SAML IdP's HTTP-POST binding: `SAMLResponse` and `RelayState` (our `state`).
#[derive(Deserialize)]
struct SamlPost {
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

async fn callback_post(
    req: HttpRequest,
    state: web::Data<HttpState>,
    connection: web::Path<String>,
    form: web::Form<SamlPost>,
) -> HttpResponse {
    let form = form.into_inner();
    let query = CallbackQuery {
        state: form.relay_state,
        code: None,
        error: None,
    };
    finish(
        &req,
        &state,
        connection.into_inner(),
        query,
        form.saml_response,
    )
    .await
}

async fn callback(
    req: HttpRequest,
    state: web::Data<HttpState>,
    connection: web::Path<String>,
    query: web::Query<CallbackQuery>,
) -> HttpResponse {
    finish(
        &req,
        &state,
        connection.into_inner(),
        query.into_inner(),
        None,
    )
    .await
}

/// This server's SAML SP metadata for a connection (what its IdP is configured with).
async fn sp_metadata(state: web::Data<HttpState>, connection: web::Path<String>) -> HttpResponse {
    match state.services.sso_sign_in.sp_metadata(&connection).await {
        Ok(xml) => HttpResponse::Ok()
            .content_type("application/samlmetadata+xml")
            .insert_header((header::CACHE_CONTROL, "max-age=300"))
            .body(xml),
        Err(e) => actix_web::ResponseError::error_response(&ApiError::from(e)),
    }
}

async fn finish(
    req: &HttpRequest,
    state: &HttpState,
    connection: String,
    query: CallbackQuery,
    saml_response: Option<String>,
) -> HttpResponse {
    let binding = query
        .state
        .as_deref()
        .and_then(|s| req.cookie(&binding_cookie_name(s)))
        .map(|c| c.value().to_owned());
    let cookie_name = query.state.as_deref().map(binding_cookie_name);
    let input = CallbackInput {
        connection,
        saml_response,
        state: query.state,
        code: query.code,
        error: query.error,
        binding,
    };
    let mut response = match state
        .services
        .sso_sign_in
        .callback(&base_ctx(req), input)
        .await
    {
        Ok(Landed::Redirect(location)) => redirect(&location).finish(),
        Ok(Landed::Tested(result)) => tested_page(&result),
        Err(failure) => failed(state, &failure),
    };
    // The attempt is over either way: its cookie goes.
    if let Some(name) = cookie_name {
        let mut gone = actix_web::cookie::Cookie::build(name, "")
            .path("/api/auth/sso/callback")
            .http_only(true)
            .secure(state.config.cookies.secure)
            .same_site(actix_web::cookie::SameSite::Lax)
            .finish();
        gone.make_removal();
        let _ = response.add_cookie(&gone);
    }
    response
}
