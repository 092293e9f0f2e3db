//! How refresh tokens travel: in the JSON body (`token_transport=json`, alias
//! `session_mode=token`) or in the HttpOnly `auth_refresh` cookie (`token_transport=cookie`,
//! the default for signup and login, as in the Go service). Every token response says which,
//! in `refresh: {transport, cookie_name?, expires_in}`.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use authservice_application::ErrorKind;
use authservice_application::auth::IssuedTokens;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::auth::user_json;
use crate::error::ApiError;

pub const REFRESH_COOKIE: &str = "auth_refresh";
/// A non-secret companion of `auth_refresh` (value `1`, readable by scripts): tells a page of
/// this origin that a session cookie exists, so it need not probe `/refresh` (and log a 401)
/// when nobody is signed in.
pub const SESSION_HINT_COOKIE: &str = "auth_session";

/// `COOKIE_SECURE`, `COOKIE_SAMESITE`, `COOKIE_DOMAIN`, resolved at startup.
#[derive(Debug, Clone)]
pub struct CookieConfig {
    pub secure: bool,
    pub same_site: SameSite,
    pub domain: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Json,
    Cookie,
}

/// The transport a request asked for, or `default`.
pub fn requested(
    token_transport: Option<&str>,
    session_mode: Option<&str>,
    default: Transport,
) -> Result<Transport, ApiError> {
    let invalid = |field: &str, value: &str| {
        ApiError::new(
            ErrorKind::InvalidRequest,
            format!("{field} '{value}' is not supported (token_transport: json or cookie)"),
        )
    };
    match (token_transport.map(str::trim), session_mode.map(str::trim)) {
        (Some("json"), _) => Ok(Transport::Json),
        (Some("cookie"), _) => Ok(Transport::Cookie),
        (Some(other), _) => Err(invalid("token_transport", other)),
        (None, Some("token" | "json")) => Ok(Transport::Json),
        (None, Some("cookie")) => Ok(Transport::Cookie),
        (None, Some(other)) => Err(invalid("session_mode", other)),
        (None, None) => Ok(default),
    }
}

fn refresh_cookie(value: String, max_age_secs: i64, config: &CookieConfig) -> Cookie<'static> {
    let mut cookie = Cookie::build(REFRESH_COOKIE, value)
        .path("/")
        .http_only(true)
        .secure(config.secure)
        .same_site(config.same_site)
        .max_age(CookieDuration::seconds(max_age_secs))
        .finish();
    if let Some(domain) = &config.domain {
        cookie.set_domain(domain.clone());
    }
    cookie
}

/// A cookie that deletes `auth_refresh`.
#[must_use]
pub fn cleared_cookie(config: &CookieConfig) -> Cookie<'static> {
    refresh_cookie(String::new(), 0, config)
}

/// The session hint cookie (`auth_session=1`, not HttpOnly) for `max_age_secs` (0 deletes it).
#[must_use]
pub fn hint_cookie(max_age_secs: i64, config: &CookieConfig) -> Cookie<'static> {
    let value = if max_age_secs > 0 { "1" } else { "" };
    let mut cookie = Cookie::build(SESSION_HINT_COOKIE, value)
        .path("/")
        .http_only(false)
        .secure(config.secure)
        .same_site(config.same_site)
        .max_age(CookieDuration::seconds(max_age_secs))
        .finish();
    if let Some(domain) = &config.domain {
        cookie.set_domain(domain.clone());
    }
    cookie
}

/// The token response for `transport`.
#[must_use]
pub fn token_response(
    tokens: &IssuedTokens,
    status: StatusCode,
    transport: Transport,
    config: &CookieConfig,
) -> HttpResponse {
    let mut body = json!({
        "access_token": tokens.access_token,
        "token_type": "Bearer",
        "expires_in": tokens.expires_in,
        "session_id": tokens.session_id.to_string(),
        "user": user_json(&tokens.user),
        "requires_2fa": false,
    });
    let mut response = HttpResponse::build(status);
    match transport {
        Transport::Json => {
            body["refresh_token"] = json!(tokens.refresh_token.expose_secret());
            body["refresh"] =
                json!({ "transport": "json", "expires_in": tokens.refresh_expires_in });
        }
        Transport::Cookie => {
            let max_age = i64::try_from(tokens.refresh_expires_in).unwrap_or(i64::MAX);
            response.cookie(refresh_cookie(
                tokens.refresh_token.expose_secret().to_owned(),
                max_age,
                config,
            ));
            response.cookie(hint_cookie(max_age, config));
            body["refresh"] = json!({
                "transport": "cookie",
                "cookie_name": REFRESH_COOKIE,
                "expires_in": tokens.refresh_expires_in,
            });
        }
    }
    response.json(body)
}

/// The answer of a password login that needs a second factor: no tokens, a challenge.
#[must_use]
pub fn challenge_response(
    challenge: &authservice_application::mfa::TwoFactorChallenge,
) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "requires_2fa": true,
            "two_factor_token": challenge.token.expose_secret(),
            "two_factor_methods": challenge.methods,
            "expires_in": challenge.expires_in,
        }))
}

/// The refresh token of a request: the body's, else the cookie's. Reading it from the cookie
/// requires an `Origin` header (CSRF): cross-site requests carry one, and the API-key check has
/// already refused origins the client does not allow.
pub fn presented_refresh_token(
    req: &HttpRequest,
    from_body: Option<SecretString>,
) -> Result<(Option<SecretString>, Transport), ApiError> {
    if let Some(token) = from_body.filter(|t| !t.expose_secret().trim().is_empty()) {
        return Ok((Some(token), Transport::Json));
    }
    let Some(cookie) = req.cookie(REFRESH_COOKIE).filter(|c| !c.value().is_empty()) else {
        return Ok((None, Transport::Json));
    };
    if req.headers().get(actix_web::http::header::ORIGIN).is_none() {
        return Err(ApiError::new(
            ErrorKind::OriginNotAllowed,
            "refreshing with the auth_refresh cookie requires an Origin header",
        ));
    }
    Ok((
        Some(SecretString::from(cookie.value().to_owned())),
        Transport::Cookie,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transports() {
        let d = Transport::Cookie;
        assert_eq!(requested(None, None, d).unwrap(), Transport::Cookie);
        assert_eq!(requested(Some("json"), None, d).unwrap(), Transport::Json);
        assert_eq!(requested(None, Some("token"), d).unwrap(), Transport::Json);
        assert_eq!(
            requested(Some("cookie"), Some("token"), d).unwrap(),
            Transport::Cookie
        );
        assert!(requested(Some("smoke"), None, d).is_err());
        assert!(requested(None, Some("smoke"), d).is_err());
    }
}
