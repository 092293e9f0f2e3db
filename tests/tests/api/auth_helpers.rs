//! Helpers shared by the account tests.

use authservice_tests::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const PASSWORD: &str = "violet-Harbor-42-quill";

pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    key: &str,
    body: Option<Value>,
    bearer: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .http
        .request(method, app.url(path))
        .header("X-API-Key", key);
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.expect("request")
}

pub async fn signup(app: &TestApp, key: &str, email: &str) -> Value {
    let res = call(
        app,
        Method::POST,
        "/api/auth/signup",
        key,
        Some(json!({"email": email, "password": PASSWORD, "display_name": "Ada Lovelace", "token_transport": "json"})),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

/// Signs `email` up whatever the client's verification rule (201 with tokens, or 202).
pub async fn signup_verified_or_not(app: &TestApp, key: &str, email: &str) {
    let res = call(
        app,
        Method::POST,
        "/api/auth/signup",
        key,
        Some(json!({"email": email, "password": PASSWORD, "token_transport": "json"})),
        None,
    )
    .await;
    assert!(
        res.status() == StatusCode::CREATED || res.status() == StatusCode::ACCEPTED,
        "{}",
        res.status()
    );
}

pub fn key_of(created: &Value) -> String {
    created["api_key"].as_str().unwrap().to_owned()
}

/// Unpadded base64url, as in JWT segments.
pub fn b64url_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes an unpadded base64url JWT segment.
pub fn b64url_decode(segment: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .expect("base64url segment")
}
