//! The caller of an OAuth endpoint: its parameters (form or JSON, each once) and its
//! credentials (HTTP Basic, `client_id` + `client_secret`, or a `private_key_jwt` assertion).

use std::collections::HashMap;

use actix_web::HttpRequest;
use actix_web::http::header;
use authservice_application::oauth::{OAuthError, PresentedClient, PresentedMethod};
use base64::Engine;
use secrecy::SecretString;
use serde_json::Value;

/// The request's parameters: form-encoded or a JSON object of strings; a repeated or
/// non-string parameter is `invalid_request`.
pub(super) fn params(
    req: &HttpRequest,
    body: &[u8],
) -> Result<HashMap<String, String>, OAuthError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut out = HashMap::new();
    if content_type.starts_with("application/json") {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| OAuthError::InvalidRequest(format!("malformed JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(OAuthError::InvalidRequest(
                "the body must be a JSON object".into(),
            ));
        };
        for (key, value) in map {
            let Value::String(value) = value else {
                return Err(OAuthError::InvalidRequest(format!(
                    "'{key}' must be a string"
                )));
            };
            out.insert(key, value);
        }
        return Ok(out);
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(OAuthError::InvalidRequest(
            "send the parameters as application/x-www-form-urlencoded (or JSON)".into(),
        ));
    }
    for (key, value) in url::form_urlencoded::parse(body) {
        if out.insert(key.to_string(), value.into_owned()).is_some() {
            return Err(OAuthError::InvalidRequest(format!("'{key}' is repeated")));
        }
    }
    Ok(out)
}

/// The caller's credentials: HTTP Basic (each half form-decoded, RFC 6749 §2.3.1) or
/// `client_id` (+ `client_secret`) in the body.
pub(super) fn presented(
    req: &HttpRequest,
    params: &HashMap<String, String>,
) -> Result<PresentedClient, OAuthError> {
    if let Some(assertion) = assertion(req, params)? {
        return Ok(assertion);
    }
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        });
    if let Some(encoded) = basic {
        if params.contains_key("client_secret") {
            return Err(OAuthError::InvalidRequest(
                "use one client authentication method: Basic or client_secret, not both".into(),
            ));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials", true))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials", true))?;
        let decode = |s: &str| -> String {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let id = decode(id);
        if params
            .get("client_id")
            .is_some_and(|body_id| *body_id != id)
        {
            return Err(OAuthError::InvalidRequest(
                "client_id differs from the Basic credentials".into(),
            ));
        }
        return Ok(PresentedClient {
            client_id: id,
            secret: Some(SecretString::from(decode(secret))),
            method: PresentedMethod::Basic,
            assertion: None,
        });
    }
    let Some(id) = params.get("client_id").filter(|id| !id.is_empty()) else {
        return Err(OAuthError::InvalidClient {
            description: "authenticate the client: HTTP Basic or client_id and client_secret"
                .into(),
            basic: false,
        });
    };
    let secret = params.get("client_secret").filter(|s| !s.is_empty());
    Ok(PresentedClient {
        client_id: id.clone(),
        secret: secret.map(|s| SecretString::from(s.clone())),
        method: if secret.is_some() {
            PresentedMethod::Body
        } else {
            PresentedMethod::None
        },
        assertion: None,
    })
}

/// The RFC 7523 client assertion type.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A `private_key_jwt` caller: `client_assertion_type` + `client_assertion`, identified by
/// `client_id` or the assertion's `sub`; alone (no Basic, no secret).
pub(super) fn assertion(
    req: &HttpRequest,
    params: &HashMap<String, String>,
) -> Result<Option<PresentedClient>, OAuthError> {
    let (kind, assertion) = (
        params.get("client_assertion_type"),
        params.get("client_assertion"),
    );
    if kind.is_none() && assertion.is_none() {
        return Ok(None);
    }
    if kind.map(String::as_str) != Some(JWT_BEARER) {
        return Err(OAuthError::InvalidRequest(format!(
            "client_assertion_type must be {JWT_BEARER}"
        )));
    }
    let Some(assertion) = assertion.filter(|a| !a.is_empty()) else {
        return Err(OAuthError::InvalidRequest(
            "client_assertion is required".into(),
        ));
    };
    if req.headers().contains_key(header::AUTHORIZATION) || params.contains_key("client_secret") {
        return Err(OAuthError::InvalidRequest(
            "use one client authentication method".into(),
        ));
    }
    let subject = assertion
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v.get("sub").and_then(Value::as_str).map(str::to_owned));
    let client_id = match (params.get("client_id"), subject) {
        (Some(id), Some(sub)) if *id != sub => {
            return Err(OAuthError::InvalidRequest(
                "client_id differs from the assertion's subject".into(),
            ));
        }
        (Some(id), _) => id.clone(),
        (None, Some(sub)) => sub,
        (None, None) => {
            return Err(OAuthError::invalid_client(
                "the client assertion names no client",
                false,
            ));
        }
    };
    Ok(Some(PresentedClient {
        client_id,
        secret: None,
        method: PresentedMethod::PrivateKeyJwt,
        assertion: Some(SecretString::from(assertion.clone())),
    }))
}
