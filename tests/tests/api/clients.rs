use authservice_tests::spawn_app;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn create_get_list_with_pagination_and_patch() {
    let app = spawn_app().await;
    let created = app
        .create_client(json!({
            "name": "Shop",
            "slug": "shop",
            "allowed_origins": ["https://Shop.example.com/", "http://localhost:3000"],
            "webhook_url": "https://hooks.example.com/auth",
            "settings": {"auth_ui": {"brand_name": "Shop"}},
            "token_mode": "v1_hs256"
        }))
        .await;
    let client = &created["client"];
    let id = client["id"].as_str().unwrap();
    assert_eq!(client["slug"], "shop");
    assert_eq!(client["status"], "active");
    assert_eq!(client["token_mode"], "v1_hs256");
    assert_eq!(
        client["allowed_origins"],
        json!(["https://shop.example.com", "http://localhost:3000"])
    );
    assert!(created["api_key"].as_str().unwrap().starts_with("ask_"));
    assert!(created["api_key"].as_str().unwrap().len() >= 4 + 43);
    assert_eq!(created["jwt_secret"].as_str().unwrap().len(), 64);

    // Default slug from name; default token mode.
    let second = app.create_client(json!({"name": "Second App!"})).await;
    assert_eq!(second["client"]["slug"], "second-app");
    assert_eq!(second["client"]["token_mode"], "v2_jwks");
    let third = app
        .create_client(json!({"name": "Third", "slug": "third"}))
        .await;

    // Get.
    let res = app
        .admin(Method::GET, &format!("/api/admin/clients/{id}"), None)
        .await;
    assert_eq!(res.status(), 200);
    let got: Value = res.json().await.unwrap();
    assert_eq!(got["name"], "Shop");
    assert_eq!(got["webhook_url"], "https://hooks.example.com/auth");
    assert_eq!(got["settings"]["auth_ui"]["brand_name"], "Shop");

    // Pagination: 3 clients, pages of 2.
    let res = app
        .admin(Method::GET, "/api/admin/clients?limit=2", None)
        .await;
    assert_eq!(res.status(), 200);
    let page1: Value = res.json().await.unwrap();
    assert_eq!(page1["clients"].as_array().unwrap().len(), 2);
    assert_eq!(page1["clients"][0]["id"], client["id"]);
    let cursor = page1["next_cursor"]
        .as_str()
        .expect("next cursor")
        .to_owned();
    let page2: Value = app
        .admin(
            Method::GET,
            &format!("/api/admin/clients?limit=2&cursor={cursor}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page2["clients"].as_array().unwrap().len(), 1);
    assert_eq!(page2["clients"][0]["id"], third["client"]["id"]);
    assert!(page2["next_cursor"].is_null());

    // Bad pagination input.
    let res = app
        .admin(Method::GET, "/api/admin/clients?limit=0", None)
        .await;
    assert_eq!(res.status(), 400);
    let res = app
        .admin(Method::GET, "/api/admin/clients?cursor=garbage", None)
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "invalid_cursor");

    // Patch: settings merge, webhook cleared, name and origins replaced.
    let res = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/clients/{id}"),
            Some(json!({
                "name": "Shop 2",
                "allowed_origins": ["https://new.example.com"],
                "webhook_url": null,
                "settings": {"auth_ui": {"primary_color": "#123456"}, "require_verified_email": true}
            })),
        )
        .await;
    assert_eq!(res.status(), 200);
    let patched: Value = res.json().await.unwrap();
    assert_eq!(patched["name"], "Shop 2");
    assert_eq!(
        patched["allowed_origins"],
        json!(["https://new.example.com"])
    );
    assert!(patched["webhook_url"].is_null());
    assert_eq!(
        patched["settings"],
        json!({"auth_ui": {"brand_name": "Shop", "primary_color": "#123456"}, "require_verified_email": true})
    );
    assert_ne!(patched["updated_at"], client["updated_at"]);

    // What was stored is what was answered (including the cleared webhook).
    let stored: Value = app
        .admin(Method::GET, &format!("/api/admin/clients/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored, patched);

    // A patch that changes nothing is still audited, and stores nothing.
    let res = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/clients/{id}"),
            Some(json!({"name": "Shop 2"})),
        )
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap()["updated_at"],
        patched["updated_at"]
    );
    assert_eq!(
        app.audit_events(&format!(
            "event_type=client.update_unchanged&target_id={id}"
        ))
        .await
        .len(),
        1
    );
    assert!(
        !app.audit_events(&format!("event_type=client.read&target_id={id}"))
            .await
            .is_empty()
    );
    assert!(
        !app.audit_events("event_type=clients.listed")
            .await
            .is_empty()
    );

    // The change is audited with before and after.
    let events = app
        .audit_events(&format!("event_type=client.updated&target_id={id}"))
        .await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["before"]["name"], "Shop");
    assert_eq!(events[0]["after"]["name"], "Shop 2");
    assert_eq!(events[0]["actor_type"], "admin");
    assert!(events[0]["request_id"].as_str().is_some());
    assert_eq!(events[0]["ip"], "127.0.0.1");
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_input_and_duplicate_slug_are_refused() {
    let app = spawn_app().await;
    app.create_client(json!({"name": "A", "slug": "taken"}))
        .await;
    let res = app
        .admin(
            Method::POST,
            "/api/admin/clients",
            Some(json!({"name": "B", "slug": "taken"})),
        )
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "slug_taken");

    for (body, field) in [
        (json!({"name": "X", "slug": "Bad Slug"}), "slug"),
        (json!({"name": "   "}), "name"),
        (
            json!({"name": "X", "slug": "okay", "allowed_origins": ["*"]}),
            "allowed_origins",
        ),
        (
            json!({"name": "X", "slug": "okay", "webhook_url": "ftp://x"}),
            "webhook_url",
        ),
        (
            json!({"name": "X", "slug": "okay", "settings": [1]}),
            "settings",
        ),
        (
            json!({"name": "X", "slug": "okay", "token_mode": "v9"}),
            "token_mode",
        ),
    ] {
        let res = app
            .admin(Method::POST, "/api/admin/clients", Some(body))
            .await;
        assert_eq!(res.status(), 400);
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["code"], "invalid_request");
        assert!(err["message"].as_str().unwrap().contains(field), "{err}");
    }

    // Unknown fields are ignored, as by the Go service (clients written for it keep working).
    let res = app
        .admin(
            Method::POST,
            "/api/admin/clients",
            Some(json!({"name": "Extra", "colour": "red"})),
        )
        .await;
    assert_eq!(res.status(), 201);

    // Slug clash on patch, and unknown / malformed ids.
    let other = app
        .create_client(json!({"name": "Other", "slug": "other"}))
        .await;
    let other_id = other["client"]["id"].as_str().unwrap();
    let res = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/clients/{other_id}"),
            Some(json!({"slug": "taken"})),
        )
        .await;
    assert_eq!(res.status(), 409);
    let res = app
        .admin(
            Method::GET,
            "/api/admin/clients/0190a7c4-0000-7000-8000-000000000000",
            None,
        )
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "client_not_found"
    );
    let res = app
        .admin(Method::GET, "/api/admin/clients/not-a-uuid", None)
        .await;
    assert_eq!(res.status(), 400);
    let res = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/clients/{other_id}"),
            Some(json!({"status": "deleted"})),
        )
        .await;
    assert_eq!(res.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_or_ill_typed_settings_are_refused_with_the_key_named() {
    let app = spawn_app().await;
    let refused = |res: reqwest::Response, setting: &'static str| async move {
        assert_eq!(res.status(), 422);
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["code"], "invalid_setting", "{err}");
        assert_eq!(err["details"]["setting"], setting, "{err}");
        assert!(err["message"].as_str().unwrap().contains(setting), "{err}");
    };
    // A typo is not silently ignored (it would leave require_verified_email off).
    let res = app
        .admin(
            Method::POST,
            "/api/admin/clients",
            Some(json!({"name": "Typo", "settings": {"requre_verified_email": true}})),
        )
        .await;
    refused(res, "requre_verified_email").await;

    let created = app
        .create_client(
            json!({"name": "Typed", "settings": {"auth_ui": {"brand_name": "Typed Co"}}}),
        )
        .await;
    let id = created["client"]["id"].as_str().unwrap();
    let key = created["api_key"].as_str().unwrap();
    let path = format!("/api/admin/clients/{id}");
    for (settings, setting) in [
        (
            json!({"auth_ui": {"primary_color": "red"}}),
            "auth_ui.primary_color",
        ),
        (json!({"auth_ui": {"passkey": "no"}}), "auth_ui.passkey"),
        (json!({"auth_ui": {"colour": "#fff"}}), "auth_ui.colour"),
        (
            json!({"webauthn_attestation": "sometimes"}),
            "webauthn_attestation",
        ),
        (
            json!({"require_verified_email": 1}),
            "require_verified_email",
        ),
    ] {
        let res = app
            .admin(Method::PATCH, &path, Some(json!({ "settings": settings })))
            .await;
        refused(res, setting).await;
    }
    // Nothing was written by the refused patches; a valid one takes effect where it is read.
    let res = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"settings": {"auth_ui": {"primary_color": "#ff5500", "passkey": false}}})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let client: Value = res.json().await.unwrap();
    assert_eq!(
        client["settings"],
        json!({"auth_ui": {"brand_name": "Typed Co", "primary_color": "#ff5500", "passkey": false}})
    );
    let ui: Value = app
        .http
        .get(app.url("/api/auth/ui/config"))
        .header("X-API-Key", key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ui["brand_name"], "Typed Co");
    assert_eq!(ui["primary_color"], "#ff5500");
    assert_eq!(ui["methods"]["passkey"], false);
    assert_eq!(ui["methods"]["magic_link"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn api_key_appears_only_in_create_and_rotate_responses() {
    let app = spawn_app().await;
    let created = app.new_client().await;
    let id = created["client"]["id"].as_str().unwrap().to_owned();
    let key = created["api_key"].as_str().unwrap().to_owned();
    let secret = created["jwt_secret"].as_str().unwrap().to_owned();

    let get = app
        .admin(Method::GET, &format!("/api/admin/clients/{id}"), None)
        .await
        .text()
        .await
        .unwrap();
    let list = app
        .admin(Method::GET, "/api/admin/clients", None)
        .await
        .text()
        .await
        .unwrap();
    let patch = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/clients/{id}"),
            Some(json!({"name": "Renamed"})),
        )
        .await
        .text()
        .await
        .unwrap();
    let audit = app
        .admin(Method::GET, "/api/admin/audit-events", None)
        .await
        .text()
        .await
        .unwrap();
    for body in [&get, &list, &patch, &audit] {
        assert!(!body.contains(&key), "API key leaked: {body}");
        assert!(!body.contains(&secret), "JWT secret leaked: {body}");
        assert!(!body.contains("api_key\""), "api_key field present: {body}");
    }

    let rotated: Value = app
        .admin(
            Method::POST,
            &format!("/api/admin/clients/{id}/rotate-api-key"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let new_key = rotated["api_key"].as_str().unwrap();
    assert!(new_key.starts_with("ask_"));
    assert_ne!(new_key, key);
    let audit = app
        .admin(Method::GET, "/api/admin/audit-events", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(!audit.contains(new_key));
}

#[tokio::test(flavor = "multi_thread")]
async fn rotating_the_api_key_revokes_the_old_one() {
    let app = spawn_app().await;
    let created = app.new_client().await;
    let id = created["client"]["id"].as_str().unwrap();
    let old_key = created["api_key"].as_str().unwrap();

    let ok = app
        .http
        .get(app.url("/api/auth/ui/config"))
        .header("X-API-Key", old_key)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.json::<Value>().await.unwrap()["client_id"], id);

    // Both spellings of the route work.
    let first: Value = app
        .admin(
            Method::POST,
            &format!("/api/admin/clients/{id}/rotate-api-key"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let second: Value = app
        .admin(
            Method::POST,
            &format!("/api/admin/clients/{id}/rotate-key"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let middle_key = first["api_key"].as_str().unwrap();
    let new_key = second["api_key"].as_str().unwrap();

    for stale in [old_key, middle_key] {
        let res = app
            .http
            .get(app.url("/api/auth/ui/config"))
            .header("X-API-Key", stale)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(
            res.json::<Value>().await.unwrap()["code"],
            "invalid_api_key"
        );
    }
    let res = app
        .http
        .get(app.url("/api/auth/ui/config"))
        .header("X-API-Key", new_key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let res = app
        .http
        .get(app.url("/api/auth/ui/config"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "missing_api_key"
    );

    let events = app
        .audit_events(&format!("event_type=client.api_key_rotated&target_id={id}"))
        .await;
    assert_eq!(events.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn rotating_the_jwt_secret_returns_a_new_secret() {
    let app = spawn_app().await;
    let created = app.new_client().await;
    let id = created["client"]["id"].as_str().unwrap();
    let mut seen = vec![created["jwt_secret"].as_str().unwrap().to_owned()];
    for path in ["rotate-secret", "rotate-jwt"] {
        let res = app
            .admin(
                Method::POST,
                &format!("/api/admin/clients/{id}/{path}"),
                None,
            )
            .await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        let secret = body["jwt_secret"].as_str().unwrap().to_owned();
        assert_eq!(secret.len(), 64);
        assert!(!seen.contains(&secret));
        assert_eq!(body["client"]["id"], id);
        seen.push(secret);
    }
    let events = app
        .audit_events(&format!(
            "event_type=client.jwt_secret_rotated&target_id={id}"
        ))
        .await;
    assert_eq!(events.len(), 2);
    let res = app
        .admin(
            Method::POST,
            "/api/admin/clients/0190a7c4-0000-7000-8000-000000000000/rotate-secret",
            None,
        )
        .await;
    assert_eq!(res.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_suspended_client_gets_403_until_reactivated() {
    let app = spawn_app().await;
    let created = app.new_client().await;
    let id = created["client"]["id"].as_str().unwrap();
    let key = created["api_key"].as_str().unwrap();
    let call = || {
        app.http
            .get(app.url("/api/auth/ui/config"))
            .header("X-API-Key", key)
            .send()
    };

    let res = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/clients/{id}"),
            Some(json!({"status": "suspended"})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = call().await.unwrap();
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "client_suspended");
    assert_eq!(body["auth_code"], "AUTH_CLIENT_SUSPENDED");
    assert_eq!(
        app.audit_events(&format!("event_type=client.suspended&target_id={id}"))
            .await
            .len(),
        1
    );

    app.admin(
        Method::PATCH,
        &format!("/api/admin/clients/{id}"),
        Some(json!({"status": "active"})),
    )
    .await;
    assert_eq!(call().await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn other_replicas_see_a_suspension_within_the_client_cache_ttl() {
    let key_hex = "33".repeat(32);
    let one = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![
            ("ENCRYPTION_KEY", key_hex.clone()),
            ("CLIENT_CACHE_TTL", "1s".to_owned()),
        ],
        ..Default::default()
    })
    .await;
    let two = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![
            ("ENCRYPTION_KEY", key_hex),
            ("CLIENT_CACHE_TTL", "1s".to_owned()),
        ],
        database: Some(one.database.clone()),
        ..Default::default()
    })
    .await;
    let created = one.new_client().await;
    let id = created["client"]["id"].as_str().unwrap();
    let key = created["api_key"].as_str().unwrap();
    let on_two = || {
        two.http
            .get(two.url("/api/auth/ui/config"))
            .header("X-API-Key", key)
            .send()
    };
    assert_eq!(
        on_two().await.unwrap().status(),
        200,
        "replica two caches the client"
    );

    one.admin(
        Method::PATCH,
        &format!("/api/admin/clients/{id}"),
        Some(json!({"status": "suspended"})),
    )
    .await;
    // Replica one knows at once; replica two within its 1 s cache lifetime.
    let on_one = one
        .http
        .get(one.url("/api/auth/ui/config"))
        .header("X-API-Key", key)
        .send()
        .await
        .unwrap();
    assert_eq!(on_one.status(), 403);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(on_two().await.unwrap().status(), 403);
}
