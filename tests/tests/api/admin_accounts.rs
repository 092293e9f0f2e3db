//! Operators' own accounts: the first super admin from the console, sign-in with password and a
//! mandatory TOTP (codes from pyotp), sessions (refresh rotation, reuse, sign-out), admin users
//! and custom roles managed by super admins, and client scopes that hold.

use authservice_tests::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::mfa::{now, pyotp};

pub const ADMIN_PASSWORD: &str = "Operator-Passphrase-42";

async fn post(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    let res = app
        .http
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A request with an admin user's bearer token.
pub async fn bearer(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app.http.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Creates an admin user with the break-glass key; returns its id and setup token.
pub async fn create_admin(
    app: &TestApp,
    email: &str,
    roles: &[&str],
    scope: Value,
) -> (String, String) {
    let res = app
        .admin(
            Method::POST,
            "/api/admin/users",
            Some(json!({ "email": email, "password": ADMIN_PASSWORD, "roles": roles, "scope": scope })),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    (
        body["id"].as_str().unwrap().to_owned(),
        body["setup_token"].as_str().unwrap().to_owned(),
    )
}

/// First sign-in of an account: enrols TOTP with a pyotp code; returns the tokens and the
/// TOTP secret.
pub async fn enrol(app: &TestApp, email: &str, password: &str, setup: &str) -> (Value, String) {
    let (status, body) = post(
        app,
        "/api/admin/auth/login",
        json!({ "email": email, "password": password, "setup_token": setup }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["mfa_enrollment_required"], true, "{body}");
    let secret = body["secret"].as_str().unwrap().to_owned();
    let (status, tokens) = post(
        app,
        "/api/admin/auth/totp/enable",
        json!({ "enrollment_token": body["enrollment_token"], "code": pyotp(&secret, now()) }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    (tokens, secret)
}

/// An admin user with these roles and scope, signed in: its access token.
pub async fn signed_in_admin(app: &TestApp, email: &str, roles: &[&str], scope: Value) -> String {
    let (_, setup) = create_admin(app, email, roles, scope).await;
    let (tokens, _) = enrol(app, email, ADMIN_PASSWORD, &setup).await;
    tokens["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_creates_the_first_super_admin_who_enrols_totp_and_signs_in() {
    // More failures than the per-address window allows by default are made on purpose here.
    let app = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![("ADMIN_LOGIN_FAILURE_RATE_LIMIT", "20".to_owned())],
        ..Default::default()
    })
    .await;
    let args = authservice_server::console::parse(
        &[
            "create",
            "--email",
            "Root@Example.com",
            "--role",
            "super_admin",
        ]
        .map(str::to_owned),
    )
    .unwrap();
    let out = authservice_server::console::create(&app.settings(), args, &mut std::io::empty())
        .await
        .unwrap();
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("password (shown once): "))
        .unwrap_or_else(|| panic!("{out}"))
        .to_owned();
    let setup = out
        .lines()
        .find_map(|l| l.strip_prefix("setup code (shown once, valid 72 hours): "))
        .unwrap_or_else(|| panic!("{out}"))
        .to_owned();
    // The console refuses what the API refuses.
    let taken = authservice_server::console::parse(
        &[
            "create",
            "--email",
            "root@example.com",
            "--role",
            "super_admin",
            "--password-stdin",
        ]
        .map(str::to_owned),
    )
    .unwrap();
    let err = authservice_server::console::create(
        &app.settings(),
        taken,
        &mut "Another-Passphrase-9\n".as_bytes(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("email"), "{err}");

    // Wrong password: the same answer as an unknown address.
    for email in ["root@example.com", "nobody@example.com"] {
        let (status, body) = post(
            &app,
            "/api/admin/auth/login",
            json!({ "email": email, "password": "wrong-password-123" }),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], "invalid_credentials");
    }

    // The password alone does not open the first enrolment: the setup code does.
    for setup_token in [None, Some("adm_st_forged")] {
        let (status, body) = post(
            &app,
            "/api/admin/auth/login",
            json!({ "email": "root@example.com", "password": password, "setup_token": setup_token }),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], "setup_token_required");
    }
    // First sign-in: enrolment is required; a wrong code does not complete it.
    let (status, body) = post(
        &app,
        "/api/admin/auth/login",
        json!({ "email": "root@example.com", "password": password, "setup_token": setup }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["mfa_enrollment_required"], true);
    assert!(body.get("access_token").is_none());
    let secret = body["secret"].as_str().unwrap().to_owned();
    assert!(
        body["otpauth_url"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/AuthService%20Admin:root%40example.com?"),
        "{body}"
    );
    let token = body["enrollment_token"].as_str().unwrap().to_owned();
    let wrong = if pyotp(&secret, now()) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let (status, body) = post(
        &app,
        "/api/admin/auth/totp/enable",
        json!({ "enrollment_token": token, "code": wrong }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "invalid_code");
    let t0 = now();
    let (status, tokens) = post(
        &app,
        "/api/admin/auth/totp/enable",
        json!({ "enrollment_token": token, "code": pyotp(&secret, t0) }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["admin"]["totp_enabled"], true);
    // The enrolment token works once.
    let (status, body) = post(
        &app,
        "/api/admin/auth/totp/enable",
        json!({ "enrollment_token": token, "code": pyotp(&secret, t0) }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "enrollment_token_invalid");

    let access = tokens["access_token"].as_str().unwrap();
    assert!(access.starts_with("adm_at_"));
    let (status, me) = bearer(&app, access, Method::GET, "/api/admin/auth/me", None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["kind"], "admin_user");
    assert_eq!(me["scope"]["type"], "all");
    assert!(
        me["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("admins:manage"))
    );
    assert_eq!(me["admin"]["email"], "root@example.com");
    // The bearer works on the admin API like the key.
    let (status, _) = bearer(&app, access, Method::GET, "/api/admin/clients", None).await;
    assert_eq!(status, StatusCode::OK);

    // Later sign-ins need a code, a fresh one.
    let login = |code: Option<String>| json!({ "email": "root@example.com", "password": password, "totp_code": code });
    let (status, body) = post(&app, "/api/admin/auth/login", login(None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "totp_required");
    let (status, body) = post(
        &app,
        "/api/admin/auth/login",
        login(Some(pyotp(&secret, t0))),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "code_already_used");
    let (status, second) = post(
        &app,
        "/api/admin/auth/login",
        login(Some(pyotp(&secret, t0 + 30))),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{second}");

    // Refresh rotates both tokens; the old access token stops at once.
    let (status, rotated) = post(
        &app,
        "/api/admin/auth/refresh",
        json!({ "refresh_token": second["refresh_token"] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let old_access = second["access_token"].as_str().unwrap();
    let (status, _) = bearer(&app, old_access, Method::GET, "/api/admin/auth/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let new_access = rotated["access_token"].as_str().unwrap();
    let (status, _) = bearer(&app, new_access, Method::GET, "/api/admin/auth/me", None).await;
    assert_eq!(status, StatusCode::OK);
    // A replayed refresh token ends the session.
    let (status, body) = post(
        &app,
        "/api/admin/auth/refresh",
        json!({ "refresh_token": second["refresh_token"] }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "refresh_token_reused");
    let (status, _) = bearer(&app, new_access, Method::GET, "/api/admin/auth/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Sign-out ends the first session only.
    let (status, _) = bearer(&app, access, Method::POST, "/api/admin/auth/logout", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = bearer(&app, access, Method::GET, "/api/admin/auth/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "admin_unauthorized");
    let (status, _) = post(
        &app,
        "/api/admin/auth/refresh",
        json!({ "refresh_token": tokens["refresh_token"] }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The trail names the admin user, the console and the break-glass key apart.
    let admin_id = me["admin"]["id"].as_str().unwrap();
    let created = app.audit_events("event_type=admin_user.created").await;
    assert_eq!(created[0]["actor_id"], "console");
    for event in [
        "admin.signed_in",
        "admin.totp_enrolled",
        "admin.signed_out",
        "admin.refresh_reused",
    ] {
        let events = app.audit_events(&format!("event_type={event}")).await;
        assert!(!events.is_empty(), "{event}");
        assert_eq!(events[0]["actor_id"], admin_id, "{event}");
    }
    let failed = app.audit_events("event_type=admin.sign_in_failed").await;
    let reasons: Vec<&str> = failed
        .iter()
        .map(|e| e["metadata"]["reason"].as_str().unwrap())
        .collect();
    for reason in ["invalid_credentials", "invalid_code", "code_reused"] {
        assert!(reasons.contains(&reason), "{reasons:?}");
    }
    // No secret in the trail.
    let all = Value::Array(app.audit_events("limit=100").await).to_string();
    assert!(!all.contains(&password) && !all.contains(&secret));
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_admin_sign_ins_are_limited_per_address() {
    let app = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![("ADMIN_FAILURE_RATE_LIMIT", "100".to_owned())],
        ..Default::default()
    })
    .await;
    create_admin(
        &app,
        "ops@example.com",
        &["auditor"],
        json!({ "type": "all" }),
    )
    .await;
    for _ in 0..5 {
        let (status, _) = post(
            &app,
            "/api/admin/auth/login",
            json!({ "email": "ops@example.com", "password": "not-the-password-1" }),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let res = app
        .http
        .post(app.url("/api/admin/auth/login"))
        .json(&json!({ "email": "ops@example.com", "password": ADMIN_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    // Another address is not held up.
    let (_, setup) = create_admin(
        &app,
        "other@example.com",
        &["auditor"],
        json!({ "type": "all" }),
    )
    .await;
    let (status, body) = post(
        &app,
        "/api/admin/auth/login",
        json!({ "email": "other@example.com", "password": ADMIN_PASSWORD, "setup_token": setup }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn super_admins_manage_admin_users_and_custom_roles() {
    let app = authservice_tests::spawn_app().await;
    let client = app.new_client().await["client"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let root = signed_in_admin(
        &app,
        "root@example.com",
        &["super_admin"],
        json!({ "type": "all" }),
    )
    .await;

    // A custom role, then an admin holding it, scoped to one client.
    let (status, role) = bearer(
        &app,
        &root,
        Method::PUT,
        "/api/admin/roles/key-rotator",
        Some(json!({ "description": "rotates keys", "permissions": ["clients:read", "clients:rotate_keys"] })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{role}");
    let (status, body) = bearer(
        &app,
        &root,
        Method::PUT,
        "/api/admin/roles/support",
        Some(json!({ "permissions": ["clients:read"] })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = bearer(
        &app,
        &root,
        Method::PUT,
        "/api/admin/roles/bad",
        Some(json!({ "permissions": ["clients:fly"] })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, roles) = bearer(&app, &root, Method::GET, "/api/admin/roles", None).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = roles["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "super_admin",
            "client_admin",
            "support",
            "auditor",
            "key-rotator"
        ]
    );

    let body = json!({
        "email": "rotator@example.com",
        "password": ADMIN_PASSWORD,
        "roles": ["key-rotator"],
        "scope": { "type": "client", "id": client },
    });
    let (status, created) = bearer(
        &app,
        &root,
        Method::POST,
        "/api/admin/users",
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["scope"], json!({ "type": "client", "id": client }));
    assert_eq!(created["totp_enabled"], false);
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, dup) = bearer(&app, &root, Method::POST, "/api/admin/users", Some(body)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{dup}");
    for bad in [
        json!({ "email": "x@example.com", "password": ADMIN_PASSWORD, "roles": ["owner"], "scope": { "type": "all" } }),
        json!({ "email": "x@example.com", "password": "short", "roles": ["auditor"], "scope": { "type": "all" } }),
        json!({ "email": "x@example.com", "password": ADMIN_PASSWORD, "roles": ["auditor"], "scope": { "type": "client", "id": uuid::Uuid::new_v4() } }),
        json!({ "email": "x@example.com", "password": ADMIN_PASSWORD, "roles": ["auditor"], "scope": { "type": "tenant" } }),
    ] {
        let (status, body) = bearer(
            &app,
            &root,
            Method::POST,
            "/api/admin/users",
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} → {body}");
    }

    // The rotator rotates its client's key, and reads nothing it was not given.
    let setup = created["setup_token"].as_str().unwrap().to_owned();
    let (tokens, _) = enrol(&app, "rotator@example.com", ADMIN_PASSWORD, &setup).await;
    let rotator = tokens["access_token"].as_str().unwrap();
    let (status, body) = bearer(
        &app,
        rotator,
        Method::POST,
        &format!("/api/admin/clients/{client}/rotate-api-key"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for path in ["/api/admin/users", "/api/admin/audit-events"] {
        let (status, body) = bearer(&app, rotator, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_eq!(body["code"], "forbidden");
    }
    // A role in use cannot be deleted.
    let (status, _) = bearer(
        &app,
        &root,
        Method::DELETE,
        "/api/admin/roles/key-rotator",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Disabling ends the account's sessions at once; re-enabling does not bring them back.
    let (status, body) = bearer(
        &app,
        &root,
        Method::PATCH,
        &format!("/api/admin/users/{id}"),
        Some(json!({ "status": "disabled" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = bearer(&app, rotator, Method::GET, "/api/admin/auth/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = post(
        &app,
        "/api/admin/auth/login",
        json!({ "email": "rotator@example.com", "password": ADMIN_PASSWORD, "totp_code": "123456" }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "account_disabled");
    let updated = app.audit_events("event_type=admin_user.updated").await;
    assert_eq!(updated[0]["before"]["status"], "active");
    assert_eq!(updated[0]["after"]["status"], "disabled");

    // A reset second factor is enrolled again at the next sign-in.
    let (status, body) = bearer(
        &app,
        &root,
        Method::PATCH,
        &format!("/api/admin/users/{id}"),
        Some(json!({ "status": "active", "reset_totp": true })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["totp_enabled"], false);
    // The old setup code was used up; the reset hands out a new one.
    let (status, refused) = post(
        &app,
        "/api/admin/auth/login",
        json!({ "email": "rotator@example.com", "password": ADMIN_PASSWORD, "setup_token": setup }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused}");
    let new_setup = body["setup_token"].as_str().unwrap().to_owned();
    enrol(&app, "rotator@example.com", ADMIN_PASSWORD, &new_setup).await;

    // Operators cannot lock themselves out.
    let (status, me) = bearer(&app, &root, Method::GET, "/api/admin/auth/me", None).await;
    assert_eq!(status, StatusCode::OK);
    let root_id = me["admin"]["id"].as_str().unwrap();
    for patch in [
        json!({ "status": "disabled" }),
        json!({ "roles": ["auditor"] }),
        json!({ "password": "Another-Passphrase-77" }),
        json!({ "reset_totp": true }),
        json!({ "email": "elsewhere@example.com" }),
    ] {
        let (status, body) = bearer(
            &app,
            &root,
            Method::PATCH,
            &format!("/api/admin/users/{root_id}"),
            Some(patch),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
    }
    let (status, _) = bearer(
        &app,
        &root,
        Method::DELETE,
        &format!("/api/admin/users/{root_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Deleting the account and then its role.
    let (status, _) = bearer(
        &app,
        &root,
        Method::DELETE,
        &format!("/api/admin/users/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = bearer(
        &app,
        &root,
        Method::GET,
        &format!("/api/admin/users/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "admin_user_not_found");
    let (status, _) = bearer(
        &app,
        &root,
        Method::DELETE,
        "/api/admin/roles/key-rotator",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, list) = bearer(&app, &root, Method::GET, "/api/admin/users?limit=1", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert!(list["next_cursor"].is_null(), "{list}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_scoped_admin_sees_and_changes_only_its_client() {
    let app = authservice_tests::spawn_app().await;
    let mine = app.new_client().await["client"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = app.new_client().await["client"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = signed_in_admin(
        &app,
        "tenant-ops@example.com",
        &["client_admin"],
        json!({ "type": "client", "id": mine }),
    )
    .await;
    let (status, list) = bearer(&app, &admin, Method::GET, "/api/admin/clients", None).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = list["clients"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"))
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [mine.as_str()]);
    // The audit trail is its client's, without naming it; another client's is refused.
    let (status, events) = bearer(&app, &admin, Method::GET, "/api/admin/audit-events", None).await;
    assert_eq!(status, StatusCode::OK, "{events}");
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["client_id"] == json!(mine))
    );
    for (method, path) in [
        (Method::GET, format!("/api/admin/clients/{other}")),
        (Method::PATCH, format!("/api/admin/clients/{other}")),
        (
            Method::GET,
            format!("/api/admin/audit-events?client_id={other}"),
        ),
        (Method::GET, format!("/api/admin/clients/{other}/users")),
        (
            Method::POST,
            format!("/api/admin/clients/{other}/rotate-api-key"),
        ),
        (Method::POST, "/api/admin/clients".to_owned()),
        (Method::POST, "/api/admin/tokens/revoke".to_owned()),
        (Method::GET, "/api/admin/users".to_owned()),
    ] {
        let (status, body) = bearer(&app, &admin, method.clone(), &path, Some(json!({}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
    }
    let (status, body) = bearer(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/admin/clients/{mine}"),
        Some(json!({ "name": "Renamed by its admin" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_operator_grants_what_it_does_not_hold_and_support_cannot_move_an_address() {
    let app = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![("SIGNUP_RATE_LIMIT", "100".to_owned())],
        ..Default::default()
    })
    .await;
    let res = app
        .admin(
            Method::PUT,
            "/api/admin/roles/operators-only",
            Some(json!({ "permissions": ["admins:manage"] })),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let manager = signed_in_admin(
        &app,
        "manager@example.com",
        &["operators-only"],
        json!({ "type": "all" }),
    )
    .await;
    for roles in [json!(["super_admin"]), json!(["auditor"])] {
        let (status, body) = bearer(
            &app,
            &manager,
            Method::POST,
            "/api/admin/users",
            Some(json!({ "email": "x@example.com", "password": ADMIN_PASSWORD, "roles": roles, "scope": { "type": "all" } })),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{roles}: {body}");
    }
    let (status, body) = bearer(
        &app,
        &manager,
        Method::PUT,
        "/api/admin/roles/bigger",
        Some(json!({ "permissions": ["admins:manage", "clients:create"] })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = bearer(
        &app,
        &manager,
        Method::POST,
        "/api/admin/users",
        Some(json!({ "email": "peer@example.com", "password": ADMIN_PASSWORD, "roles": ["operators-only"], "scope": { "type": "all" } })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Support may reset factors and send links, not move an address or erase.
    let created = app.new_client().await;
    let client = created["client"]["id"].as_str().unwrap().to_owned();
    let key = created["api_key"].as_str().unwrap().to_owned();
    let user = crate::auth_helpers::signup(&app, &key, "dana@example.com").await;
    let user_path = format!(
        "/api/admin/clients/{client}/users/{}",
        user["user"]["id"].as_str().unwrap()
    );
    let support = signed_in_admin(
        &app,
        "helpdesk@example.com",
        &["support"],
        json!({ "type": "client", "id": client }),
    )
    .await;
    for patch in [
        json!({ "email": "attacker@example.com" }),
        json!({ "email_verified": true }),
    ] {
        let (status, body) = bearer(&app, &support, Method::PATCH, &user_path, Some(patch)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    let (status, _) = bearer(&app, &support, Method::DELETE, &user_path, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = bearer(
        &app,
        &support,
        Method::PATCH,
        &user_path,
        Some(json!({ "display_name": "Dana S." })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A percent-encoded client id is not a way around the scope.
    let other = app.new_client().await["client"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let encoded = format!("%{:x}{}", other.as_bytes()[0], &other[1..]);
    let (status, _) = bearer(
        &app,
        &support,
        Method::GET,
        &format!("/api/admin/clients/{encoded}/users"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
