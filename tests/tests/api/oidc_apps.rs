//! OIDC applications over the admin API: registration with its rules, the secret shown once
//! and kept hashed, rotation, changes, deletion, scoping by client, audit.

use authservice_tests::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

async fn admin(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let res = app.admin(method, path, body).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn oidc_apps_are_registered_with_their_rules_and_a_secret_shown_once() {
    let app = authservice_tests::spawn_app().await;
    let client = app.new_client().await;
    let id = client["client"]["id"].as_str().unwrap();
    let base = format!("/api/admin/clients/{id}/oidc-apps");

    let (status, web) = admin(
        &app,
        Method::POST,
        &base,
        Some(json!({
            "name": "Web app",
            "redirect_uris": ["https://app.example.com/callback", "http://127.0.0.1:8000/cb"],
            "post_logout_redirect_uris": ["https://app.example.com/bye"],
            "scopes": ["openid", "profile", "email", "offline_access", "reports:read"],
            "first_party": true,
        })),
    )
    .await;
    assert_eq!(status, 201, "{web}");
    assert_eq!(web["type"], "confidential");
    assert_eq!(web["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(
        web["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    let public_id = web["client_id"].as_str().unwrap();
    assert!(public_id.starts_with("app_"));
    let secret = web["client_secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("oidc_") && secret.len() == 69,
        "{secret}"
    );
    assert_eq!(web["secret_prefix"].as_str(), Some(&secret[..13]));
    // Stored only as its SHA-256; never shown again.
    let stored = app
        .query_text(&format!("SELECT encode(secret_hash, 'hex') AS value FROM oidc_apps WHERE public_id = '{public_id}'"))
        .await;
    assert_eq!(stored[0].len(), 64);
    assert!(!stored[0].contains(&secret[5..]));
    let app_path = format!("{base}/{}", web["id"].as_str().unwrap());
    let (status, read) = admin(&app, Method::GET, &app_path, None).await;
    assert_eq!(status, 200);
    assert!(read.get("client_secret").is_none());

    let (status, spa) = admin(
        &app,
        Method::POST,
        &base,
        Some(json!({"name": "SPA", "type": "public", "redirect_uris": ["https://spa.example.com/cb"]})),
    )
    .await;
    assert_eq!(status, 201, "{spa}");
    assert_eq!(spa["token_endpoint_auth_method"], "none");
    assert!(spa.get("client_secret").is_none());

    for (body, field) in [
        (
            json!({"name": "x", "redirect_uris": ["http://app.example.com/cb"]}),
            "redirect_uris",
        ),
        (
            json!({"name": "x", "redirect_uris": ["https://a.example.com/cb#frag"]}),
            "redirect_uris",
        ),
        (json!({"name": "x", "redirect_uris": []}), "redirect_uris"),
        (
            json!({"name": "x", "type": "public", "redirect_uris": ["https://a.example.com/cb"], "grant_types": ["client_credentials"]}),
            "grant_types",
        ),
        (
            json!({"name": "x", "type": "public", "token_endpoint_auth_method": "client_secret_basic", "redirect_uris": ["https://a.example.com/cb"]}),
            "token_endpoint_auth_method",
        ),
        (
            json!({"name": "x", "redirect_uris": ["https://a.example.com/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
            "jwks",
        ),
        (
            json!({"name": "x", "redirect_uris": ["https://a.example.com/cb"], "grant_types": ["password"]}),
            "grant_types",
        ),
        (
            json!({"name": "x", "redirect_uris": ["https://a.example.com/cb"], "scopes": ["Bad Scope"]}),
            "scopes",
        ),
        (
            json!({"name": "", "redirect_uris": ["https://a.example.com/cb"]}),
            "name",
        ),
        (
            json!({"name": "x", "redirect_uris": (0..21).map(|n| format!("https://a.example.com/cb{n}")).collect::<Vec<_>>()}),
            "redirect_uris",
        ),
        (
            json!({"name": "x", "redirect_uris": ["https://a.example.com/cb"], "scopes": (0..51).map(|n| format!("s{n}")).collect::<Vec<_>>()}),
            "scopes",
        ),
    ] {
        let (status, err) = admin(&app, Method::POST, &base, Some(body.clone())).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (400, Some("invalid_request")),
            "{body}: {err}"
        );
        assert!(err.to_string().contains(field), "{body}: {err}");
    }
    let (status, m2m) = admin(
        &app,
        Method::POST,
        &base,
        Some(json!({"name": "Backend", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y"}]}})),
    )
    .await;
    assert_eq!(status, 201, "{m2m}");
    assert!(m2m.get("client_secret").is_none());

    // Rotation: a new secret, the old hash gone.
    let (status, rotated) = admin(
        &app,
        Method::POST,
        &format!("{app_path}/rotate-secret"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    let after = app
        .query_text(&format!("SELECT encode(secret_hash, 'hex') AS value FROM oidc_apps WHERE public_id = '{public_id}'"))
        .await;
    assert_ne!(after, stored);
    let (status, _) = admin(
        &app,
        Method::POST,
        &format!("{base}/{}/rotate-secret", spa["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(status, 400);

    // Changes, listing, deletion.
    let (status, changed) = admin(
        &app,
        Method::PATCH,
        &app_path,
        Some(json!({"first_party": false, "scopes": ["openid"]})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["scopes"], json!(["openid"]));
    assert!(changed.get("client_secret").is_none());
    let (_, listed) = admin(&app, Method::GET, &format!("{base}?limit=2"), None).await;
    assert_eq!(listed["oidc_apps"].as_array().unwrap().len(), 2);
    assert!(listed["next_cursor"].is_string());
    let (status, _) = admin(&app, Method::DELETE, &app_path, None).await;
    assert_eq!(status, 204);
    let (status, err) = admin(&app, Method::GET, &app_path, None).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (404, Some("oidc_app_not_found"))
    );

    // Another client's path never reaches this client's apps.
    let other = app.new_client().await;
    let other_id = other["client"]["id"].as_str().unwrap();
    let (status, _) = admin(
        &app,
        Method::GET,
        &format!(
            "/api/admin/clients/{other_id}/oidc-apps/{}",
            spa["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(status, 404);
    for event in [
        "oidc_app.created",
        "oidc_app.updated",
        "oidc_app.secret_rotated",
        "oidc_app.deleted",
    ] {
        let events = app.audit_events(&format!("event_type={event}")).await;
        assert!(!events.is_empty(), "{event}");
        assert!(
            !events[0].to_string().contains(&secret[5..]),
            "{event} leaks the secret"
        );
    }
}
