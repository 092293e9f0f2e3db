//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) at `/t/{slug}/logout`: an
//! `id_token_hint` of this issuer ends that session at once; without one the user confirms.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use authservice_application::oauth::{LogoutOutcome, LogoutRequest};

use super::super::HttpState;
use super::super::email::escape;
use super::super::extractors::base_ctx;
use super::super::transport::{cleared_cookie, hint_cookie};
use super::{cookie, page, refused, same_origin, server_error, single_params, tenant};

pub(super) async fn logout(
    state: &HttpState,
    req: &HttpRequest,
    slug: &str,
    raw: &[u8],
    confirmed: bool,
) -> HttpResponse {
    let client = match tenant(state, slug).await {
        Ok(c) => c,
        Err(page) => return *page,
    };
    let params = match single_params(raw) {
        Ok(p) => p,
        Err(page) => return *page,
    };
    let get = |k: &str| params.get(k).map(String::as_str);
    let request = LogoutRequest {
        id_token_hint: get("id_token_hint"),
        client_id: get("client_id"),
        post_logout_redirect_uri: get("post_logout_redirect_uri"),
        state: get("state"),
        confirmed: confirmed && get("confirm") == Some("yes"),
    };
    let outcome = match state
        .services
        .end_session
        .execute(&base_ctx(req), &client, request, cookie(req).as_deref())
        .await
    {
        Ok(outcome) => outcome,
        Err(e) => return server_error(&e),
    };
    let cookies = &state.config.cookies;
    match outcome {
        LogoutOutcome::Refuse(why) => refused("invalid_request", &why),
        LogoutOutcome::Confirm => {
            let hidden: String = params
                .iter()
                .filter(|(k, _)| {
                    matches!(
                        k.as_str(),
                        "client_id" | "post_logout_redirect_uri" | "state"
                    )
                })
                .map(|(k, v)| {
                    format!(
                        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                        escape(k),
                        escape(v)
                    )
                })
                .collect();
            page(
                actix_web::http::StatusCode::OK,
                "Sign out?",
                &format!(
                    "<form method=\"post\" action=\"/t/{slug}/logout\">{hidden}\
                     <input type=\"hidden\" name=\"confirm\" value=\"yes\">\
                     <button class=\"as-btn\" type=\"submit\" id=\"logout-confirm\">Sign out</button></form>",
                    slug = escape(client.slug.as_str()),
                ),
            )
        }
        LogoutOutcome::Done {
            redirect,
            clear_cookie,
        } => {
            let mut res = match redirect {
                Some(to) => HttpResponse::Found()
                    .insert_header((header::LOCATION, to))
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .finish(),
                None => page(
                    actix_web::http::StatusCode::OK,
                    "You are signed out",
                    "<p class=\"as-alert as-ok\" role=\"status\" id=\"signed-out\">You are signed out.</p>",
                ),
            };
            if clear_cookie {
                let _ = res.add_cookie(&cleared_cookie(cookies));
                let _ = res.add_cookie(&hint_cookie(0, cookies));
            }
            res
        }
    }
}

pub(super) async fn logout_get(
    req: HttpRequest,
    state: web::Data<HttpState>,
    slug: web::Path<String>,
) -> HttpResponse {
    logout(&state, &req, &slug, req.query_string().as_bytes(), false).await
}

pub(super) async fn logout_post(
    req: HttpRequest,
    state: web::Data<HttpState>,
    slug: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    // The confirmation form is this server's own: a cross-site post cannot confirm.
    let same_origin = same_origin(&req);
    logout(&state, &req, &slug, &body, same_origin).await
}
