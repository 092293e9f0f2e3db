//! AuthService's error envelope for the middleware's 401/403 answers.

use serde_json::json;

use crate::{AuthorizationError, ValidationError};

fn body(error: &str, code: &str, message: &str, auth_code: &str, user_message: &str) -> String {
    json!({
        "error": error,
        "code": code,
        "message": message,
        "auth_code": auth_code,
        "user_message": user_message,
        "retryable": false,
        "request_id": null,
    })
    .to_string()
}

pub(crate) fn missing_token() -> String {
    body(
        "Access token required",
        "missing_token",
        "Authorization: Bearer <access token> is required",
        "AUTH_MISSING_TOKEN",
        "Please sign in.",
    )
}

pub(crate) fn unauthenticated(err: &ValidationError) -> String {
    body(
        "Invalid access token",
        err.code(),
        &err.to_string(),
        "AUTH_INVALID_TOKEN",
        "Please sign in again.",
    )
}

pub(crate) fn forbidden(err: &AuthorizationError) -> String {
    body(
        "Forbidden",
        err.code(),
        &err.to_string(),
        "AUTH_FORBIDDEN",
        "You do not have permission to do this.",
    )
}
