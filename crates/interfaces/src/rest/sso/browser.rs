//! The browser's way through enterprise SSO and social sign-in: the start (an `api_key` in the
//! query names the client), the binding cookie, the IdP's callback (OIDC code or SAML POST),
//! and where the browser goes: the app with its `auth_code`, or `error=<code>` only.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use authservice_application::UseCaseError;
use authservice_application::clients::AuthenticateClientInput;
use authservice_application::sso::{
    CallbackInput, Landed, ReturnTo, SsoFailure, StartInput, Started, binding_cookie_name,
};
use serde::Deserialize;
use serde_json::Value;

use super::super::HttpState;
use super::super::extractors::base_ctx;
use crate::error::{ApiError, spec};

/// What a browser route starts or finishes: an SSO connection, or a social provider.
#[derive(Clone, Copy)]
pub(in crate::rest) enum Target<'a> {
    /// By connection id, or by the query's domain/email.
    Sso(Option<&'a str>),
    Social(&'a str),
}

impl Target<'_> {
    /// Where the binding cookie is sent back: the callbacks of its kind only.
    fn cookie_path(self) -> &'static str {
        match self {
            Self::Sso(_) => "/api/auth/sso/callback",
            Self::Social(_) => "/api/auth/oauth",
        }
    }
}

/// A test sign-in's result as a page for the admin's browser (escaped; no script).
pub(super) fn tested_page(result: &Value) -> HttpResponse {
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
pub(in crate::rest) struct StartQuery {
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
    let mut response = report(
        state,
        &failure.error,
        &failure.return_to,
        &failure.error.redirect_params(),
    );
    // A parked social link completes only in this browser.
    if let Some(binding) = failure.error.link_binding() {
        let cookie = actix_web::cookie::Cookie::build(
            authservice_application::sso::LINK_COOKIE,
            binding.to_owned(),
        )
        .path("/api/auth/oauth/link")
        .http_only(true)
        .secure(state.config.cookies.secure)
        .same_site(actix_web::cookie::SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(600))
        .finish();
        let _ = response.add_cookie(&cookie);
    }
    response
}

/// Redirects to the validated `return_to` (or the login page) with the error's stable code
/// (and `extra` parameters), never its text.
fn report<E: UseCaseError + std::error::Error>(
    state: &HttpState,
    error: &E,
    return_to: &ReturnTo,
    extra: &[(&'static str, String)],
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
    for (name, value) in extra {
        url.query_pairs_mut().append_pair(name, value);
    }
    if let Some(app_state) = app_state {
        url.query_pairs_mut().append_pair("state", app_state);
    }
    redirect(url.as_str()).finish()
}

pub(super) async fn start(
    req: HttpRequest,
    state: web::Data<HttpState>,
    query: web::Query<StartQuery>,
) -> HttpResponse {
    begin(&req, &state, query.into_inner(), Target::Sso(None)).await
}

pub(super) async fn start_connection(
    req: HttpRequest,
    state: web::Data<HttpState>,
    connection: web::Path<String>,
    query: web::Query<StartQuery>,
) -> HttpResponse {
    begin(
        &req,
        &state,
        query.into_inner(),
        Target::Sso(Some(&connection)),
    )
    .await
}

pub(in crate::rest) async fn begin(
    req: &HttpRequest,
    state: &HttpState,
    query: StartQuery,
    target: Target<'_>,
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
        Err(e) => return report(state, &e, &ReturnTo::default(), &[]),
    };
    ctx.principal = authservice_domain::Principal::Client(client.id);
    ctx.client = Some(client);
    let input = StartInput {
        connection: match target {
            Target::Sso(connection) => connection.map(str::to_owned),
            Target::Social(_) => None,
        },
        domain: query.domain,
        email: query.email,
        redirect_uri: query.redirect_uri,
        app_state: query.state,
        code_challenge: query.code_challenge,
        code_challenge_method: query.code_challenge_method,
    };
    let started = match target {
        Target::Sso(_) => state.services.sso_sign_in.start(&ctx, input).await,
        Target::Social(kind) => state.services.social_sign_in.start(&ctx, kind, input).await,
    };
    match started {
        Ok(started) => redirect(&started.location)
            .cookie(binding_cookie(state, &started, target.cookie_path()))
            .finish(),
        Err(failure) => failed(state, &failure),
    }
}

/// The cookie binding an attempt to the browser that began it (path `path`, the attempt's
/// lifetime).
pub(in crate::rest) fn binding_cookie(
    state: &HttpState,
    started: &Started,
    path: &'static str,
) -> actix_web::cookie::Cookie<'static> {
    // A SAML IdP (and Apple) come back with a cross-site POST, which carries only
    // SameSite=None cookies, and those only when Secure (browsers treat http://localhost as
    // secure; those IdPs need https otherwise).
    let (same_site, secure) = if started.cross_site_post {
        (actix_web::cookie::SameSite::None, true)
    } else {
        (
            actix_web::cookie::SameSite::Lax,
            state.config.cookies.secure,
        )
    };
    actix_web::cookie::Cookie::build(started.cookie_name.clone(), started.cookie_value.clone())
        .path(path)
        .http_only(true)
        .secure(secure)
        .same_site(same_site)
        .max_age(actix_web::cookie::time::Duration::seconds(
            i64::try_from(authservice_application::sso::SSO_STATE_TTL.as_secs()).unwrap_or(600),
        ))
        .finish()
}

/// What a provider sends back, in the query or (`response_mode=form_post`) a form.
#[derive(Deserialize)]
pub(in crate::rest) struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    /// Apple's first-sign-in `user` (the name).
    user: Option<String>,
}

/// A SAML IdP's HTTP-POST binding: `SAMLResponse` and `RelayState` (our `state`).
#[derive(Deserialize)]
pub(super) struct SamlPost {
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

pub(super) async fn callback_post(
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
        user: None,
    };
    finish(
        &req,
        &state,
        Target::Sso(Some(&connection)),
        query,
        form.saml_response,
    )
    .await
}

pub(super) async fn callback(
    req: HttpRequest,
    state: web::Data<HttpState>,
    connection: web::Path<String>,
    query: web::Query<CallbackQuery>,
) -> HttpResponse {
    finish(
        &req,
        &state,
        Target::Sso(Some(&connection)),
        query.into_inner(),
        None,
    )
    .await
}

/// This server's SAML SP metadata for a connection (what its IdP is configured with).
pub(super) async fn sp_metadata(
    state: web::Data<HttpState>,
    connection: web::Path<String>,
) -> HttpResponse {
    match state.services.sso_sign_in.sp_metadata(&connection).await {
        Ok(xml) => HttpResponse::Ok()
            .content_type("application/samlmetadata+xml")
            .insert_header((header::CACHE_CONTROL, "max-age=300"))
            .body(xml),
        Err(e) => actix_web::ResponseError::error_response(&ApiError::from(e)),
    }
}

pub(in crate::rest) async fn finish(
    req: &HttpRequest,
    state: &HttpState,
    target: Target<'_>,
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
        connection: match target {
            Target::Sso(connection) => connection.unwrap_or_default().to_owned(),
            Target::Social(_) => String::new(),
        },
        saml_response,
        state: query.state,
        code: query.code,
        error: query.error,
        binding,
        user: query.user,
    };
    let ctx = base_ctx(req);
    let landed = match target {
        Target::Sso(_) => state.services.sso_sign_in.callback(&ctx, input).await,
        Target::Social(kind) => {
            state
                .services
                .social_sign_in
                .callback(&ctx, kind, input)
                .await
        }
    };
    let mut response = match landed {
        Ok(Landed::Redirect(location)) => redirect(&location).finish(),
        Ok(Landed::Tested(result)) => tested_page(&result),
        Err(failure) => failed(state, &failure),
    };
    // The attempt is over either way: its cookie goes.
    if let Some(name) = cookie_name {
        let mut gone = actix_web::cookie::Cookie::build(name, "")
            .path(target.cookie_path())
            .http_only(true)
            .secure(state.config.cookies.secure)
            .same_site(actix_web::cookie::SameSite::Lax)
            .finish();
        gone.make_removal();
        let _ = response.add_cookie(&gone);
    }
    response
}
