use authservice_tests::{AppOptions, spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};

const ENVELOPE_FIELDS: [&str; 7] = [
    "error",
    "code",
    "message",
    "auth_code",
    "user_message",
    "retryable",
    "request_id",
];

async fn assert_envelope(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status(), status);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: Value = res.json().await.unwrap();
    for field in ENVELOPE_FIELDS {
        assert!(body.get(field).is_some(), "{field} missing in {body}");
    }
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["request_id"], request_id.as_str());
    assert!(body["auth_code"].as_str().unwrap().starts_with("AUTH_"));
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn every_error_has_the_envelope() {
    let app = spawn_app().await;

    // Unknown route.
    let res = app
        .http
        .get(app.url("/no/such/route"))
        .send()
        .await
        .unwrap();
    assert_envelope(res, 404, "not_found").await;
    let res = app.http.post(app.url("/api/nothing")).send().await.unwrap();
    assert_envelope(res, 404, "not_found").await;

    // Wrong method.
    let res = app.http.delete(app.url("/healthz")).send().await.unwrap();
    assert_envelope(res, 405, "method_not_allowed").await;

    // Malformed JSON, naming the problem.
    let res = app
        .http
        .post(app.url("/api/admin/clients"))
        .header("X-Admin-Key", &app.admin_key)
        .header("Content-Type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    let body = assert_envelope(res, 400, "invalid_json").await;
    assert!(body["message"].as_str().unwrap().contains("EOF"), "{body}");

    // Wrong type names the field.
    let res = app
        .admin(Method::POST, "/api/admin/clients", Some(json!({"name": 5})))
        .await;
    let body = assert_envelope(res, 400, "invalid_request").await;
    assert!(
        body["message"].as_str().unwrap().contains("invalid type"),
        "{body}"
    );

    // Not JSON at all.
    let res = app
        .http
        .post(app.url("/api/admin/clients"))
        .header("X-Admin-Key", &app.admin_key)
        .header("Content-Type", "text/plain")
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_envelope(res, 415, "unsupported_media_type").await;

    // Oversized body (> 1 MiB).
    let huge = json!({"name": "x", "settings": {"blob": "a".repeat(1024 * 1024 + 10)}});
    let res = app
        .admin(Method::POST, "/api/admin/clients", Some(huge))
        .await;
    assert_envelope(res, 413, "payload_too_large").await;

    // Rate limit (429) is covered in admin_auth; here: unauthorized and forbidden shapes.
    let res = app
        .http
        .get(app.url("/api/auth/ui/config"))
        .header("X-API-Key", "ask_nope")
        .send()
        .await
        .unwrap();
    assert_envelope(res, 401, "invalid_api_key").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn internal_errors_carry_no_internal_text() {
    let app = spawn_app().await;
    app.new_client().await;
    app.drop_database().await;
    let res = app.admin(Method::GET, "/api/admin/clients", None).await;
    let body = assert_envelope(res, 500, "internal_error").await;
    let text = body.to_string().to_lowercase();
    for leak in [
        "postgres",
        "database",
        "connection",
        "diesel",
        "sql",
        "pool",
    ] {
        assert!(!text.contains(leak), "internal text leaked: {text}");
    }
    assert_eq!(body["retryable"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn request_ids_are_accepted_when_sane_and_replaced_otherwise() {
    let app = spawn_app().await;
    let res = app
        .http
        .get(app.url("/healthz"))
        .header("X-Request-Id", "abc-123.x_y")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123.x_y");
    let res = app
        .http
        .get(app.url("/healthz"))
        .header("X-Request-Id", "<script>alert(1)</script>")
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    let res = app
        .http
        .get(app.url("/nope"))
        .header("X-Request-Id", "trace-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["request_id"], "trace-1");
}

#[tokio::test(flavor = "multi_thread")]
async fn security_headers_are_on_every_response() {
    let app = spawn_app().await;
    for res in [
        app.http.get(app.url("/healthz")).send().await.unwrap(),
        app.http.get(app.url("/missing")).send().await.unwrap(),
        app.admin(Method::GET, "/api/admin/clients", None).await,
    ] {
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(
            h.get("strict-transport-security").is_none(),
            "no HSTS over http"
        );
    }
    let res = app.admin(Method::GET, "/api/admin/clients", None).await;
    assert_eq!(res.headers()["cache-control"], "no-store");

    let https = spawn_app_with(AppOptions {
        env: vec![("BASE_URL", "https://auth.example.com".to_owned())],
        ..AppOptions::default()
    })
    .await;
    let res = https.http.get(https.url("/healthz")).send().await.unwrap();
    assert!(
        res.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_follows_each_clients_allowed_origins() {
    let app = spawn_app().await;
    let created = app
        .create_client(
            json!({"name": "Web", "slug": "web", "allowed_origins": ["https://app.example.com"]}),
        )
        .await;
    let key = created["api_key"].as_str().unwrap();
    let other = app
        .create_client(json!({"name": "Other", "slug": "other-web", "allowed_origins": ["https://other.example.com"]}))
        .await;
    let other_key = other["api_key"].as_str().unwrap();

    let preflight = |origin: &'static str| {
        app.http
            .request(Method::OPTIONS, app.url("/api/auth/ui/config"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "GET")
            .header("Access-Control-Request-Headers", "x-api-key")
            .send()
    };
    let res = preflight("https://app.example.com").await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_eq!(res.headers()["access-control-allow-credentials"], "true");
    assert!(
        res.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("X-API-Key")
    );

    let res = preflight("https://evil.example.com").await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    assert_envelope(res, 403, "origin_not_allowed").await;

    // The real request is checked against the key's own client.
    let res = app
        .http
        .get(app.url("/api/auth/ui/config"))
        .header("X-API-Key", key)
        .header("Origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_ne!(res.headers()["access-control-allow-origin"], "*");

    let res = app
        .http
        .get(app.url("/api/auth/ui/config"))
        .header("X-API-Key", other_key)
        .header("Origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    assert_envelope(res, 403, "origin_not_allowed").await;

    // The admin API allows no client origin.
    let res = app
        .http
        .request(Method::OPTIONS, app.url("/api/admin/clients"))
        .header("Origin", "https://app.example.com")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // A suspended client's origins no longer pass preflight.
    let id = created["client"]["id"].as_str().unwrap();
    app.admin(
        Method::PATCH,
        &format!("/api/admin/clients/{id}"),
        Some(json!({"status": "suspended"})),
    )
    .await;
    assert_eq!(
        preflight("https://app.example.com").await.unwrap().status(),
        403
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn allow_origin_setting_opens_the_admin_api_to_the_portal() {
    let app = spawn_app_with(AppOptions {
        env: vec![("ALLOW_ORIGIN", "https://portal.example.com".to_owned())],
        ..AppOptions::default()
    })
    .await;
    let res = app
        .http
        .request(Method::OPTIONS, app.url("/api/admin/clients"))
        .header("Origin", "https://portal.example.com")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "x-admin-key")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(
        res.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("X-Admin-Key")
    );
}
