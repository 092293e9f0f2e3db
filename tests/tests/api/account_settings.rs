use authservice_tests::spawn_app;
use reqwest::Method;
use serde_json::{Value, json};

use crate::auth_helpers::{PASSWORD, call, key_of, signup};

#[tokio::test(flavor = "multi_thread")]
async fn profile_password_change_and_session_management() {
    let app = spawn_app().await;
    let client = app.new_client().await;
    let key = key_of(&client);
    let first = signup(&app, &key, "grace@example.com").await;
    let access = first["access_token"].as_str().unwrap().to_owned();

    // Profile.
    let res = call(&app, Method::PATCH, "/api/auth/me", &key, Some(json!({"display_name": "Grace Hopper", "timezone": "America/New_York", "locale": "en_US"})), Some(&access)).await;
    assert_eq!(res.status(), 200);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["display_name"], "Grace Hopper");
    assert_eq!(me["timezone"], "America/New_York");
    assert_eq!(me["locale"], "en-US");
    let res = call(
        &app,
        Method::PATCH,
        "/api/auth/me",
        &key,
        Some(json!({"timezone": "../../etc"})),
        Some(&access),
    )
    .await;
    assert_eq!(res.status(), 400);
    assert_eq!(
        app.audit_events("event_type=user.profile_updated")
            .await
            .len(),
        1
    );

    // Two more sessions (other devices).
    let login = |ua: &'static str| {
        app.http
            .post(app.url("/api/auth/login"))
            .header("X-API-Key", &key)
            .header("User-Agent", ua)
            .json(&json!({"email": "grace@example.com", "password": PASSWORD, "session_mode": "token"}))
            .send()
    };
    let second: Value = login("Phone/1.0").await.unwrap().json().await.unwrap();
    let third: Value = login("Tablet/2.0").await.unwrap().json().await.unwrap();

    let res = call(
        &app,
        Method::GET,
        "/api/auth/sessions",
        &key,
        None,
        Some(&access),
    )
    .await;
    assert_eq!(res.status(), 200);
    let listed: Value = res.json().await.unwrap();
    let sessions = listed["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3);
    let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], first["session_id"]);
    assert!(
        sessions
            .iter()
            .any(|s| s["user_agent"] == "Phone/1.0" && s["ip"] == "127.0.0.1")
    );

    // Revoke one by id; its refresh token dies.
    let phone = second["session_id"].as_str().unwrap();
    let res = call(
        &app,
        Method::DELETE,
        &format!("/api/auth/sessions/{phone}"),
        &key,
        None,
        Some(&access),
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = call(
        &app,
        Method::POST,
        "/api/auth/refresh",
        &key,
        Some(json!({"refresh_token": second["refresh_token"]})),
        None,
    )
    .await;
    assert_eq!(res.status(), 401);
    let res = call(
        &app,
        Method::DELETE,
        &format!("/api/auth/sessions/{phone}"),
        &key,
        None,
        Some(&access),
    )
    .await;
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "session_not_found"
    );

    // Another user's session id is not ours to revoke.
    let other = signup(&app, &key, "intruder@example.com").await;
    let res = call(
        &app,
        Method::DELETE,
        &format!(
            "/api/auth/sessions/{}",
            first["session_id"].as_str().unwrap()
        ),
        &key,
        None,
        other["access_token"].as_str(),
    )
    .await;
    assert_eq!(res.status(), 404);

    // Change password: wrong current, weak new, then success revoking the other sessions.
    let res = call(
        &app,
        Method::POST,
        "/api/auth/change-password",
        &key,
        Some(json!({"current_password": "not-it-at-all", "new_password": "another-Strong-pass-9"})),
        Some(&access),
    )
    .await;
    assert_eq!(
        res.status(),
        403,
        "a wrong current password does not sign the user out"
    );
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "invalid_current_password"
    );
    let res = call(
        &app,
        Method::POST,
        "/api/auth/change-password",
        &key,
        Some(json!({"current_password": PASSWORD, "new_password": "password"})),
        Some(&access),
    )
    .await;
    assert_eq!(res.status(), 422);
    let res = call(
        &app,
        Method::POST,
        "/api/auth/change-password",
        &key,
        Some(json!({"old_password": PASSWORD, "new_password": "another-Strong-pass-9"})),
        Some(&access),
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = call(
        &app,
        Method::POST,
        "/api/auth/refresh",
        &key,
        Some(json!({"refresh_token": third["refresh_token"]})),
        None,
    )
    .await;
    assert_eq!(res.status(), 401, "other sessions are revoked");
    let res = call(
        &app,
        Method::POST,
        "/api/auth/refresh",
        &key,
        Some(json!({"refresh_token": first["refresh_token"]})),
        None,
    )
    .await;
    assert_eq!(res.status(), 200, "the current session survives");
    let res = call(
        &app,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(json!({"email": "grace@example.com", "password": PASSWORD})),
        None,
    )
    .await;
    assert_eq!(res.status(), 401);
    let res = call(
        &app,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(json!({"email": "grace@example.com", "password": "another-Strong-pass-9"})),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let fresh: Value = res.json().await.unwrap();

    // Revoke all others from the newest session.
    let res = call(
        &app,
        Method::DELETE,
        "/api/auth/sessions",
        &key,
        None,
        fresh["access_token"].as_str(),
    )
    .await;
    assert_eq!(res.status(), 200);
    let listed: Value = call(
        &app,
        Method::GET,
        "/api/auth/sessions",
        &key,
        None,
        fresh["access_token"].as_str(),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 1);
    for event in ["user.password_changed", "session.revoked"] {
        assert!(
            !app.audit_events(&format!("event_type={event}"))
                .await
                .is_empty(),
            "{event}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_user_route_refuses_another_clients_token() {
    let app = spawn_app().await;
    let key_a = key_of(&app.new_client().await);
    let key_b = key_of(&app.new_client().await);
    let a = signup(&app, &key_a, "matrix@example.com").await;
    let token = a["access_token"].as_str().unwrap();
    let sid = a["session_id"].as_str().unwrap();
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/auth/me".into(), None),
        (
            Method::PATCH,
            "/api/auth/me".into(),
            Some(json!({"display_name": "X"})),
        ),
        (
            Method::POST,
            "/api/auth/change-password".into(),
            Some(json!({"current_password": PASSWORD, "new_password": "whatever-Strong-77"})),
        ),
        (Method::GET, "/api/auth/sessions".into(), None),
        (Method::DELETE, "/api/auth/sessions".into(), None),
        (Method::DELETE, format!("/api/auth/sessions/{sid}"), None),
        (
            Method::POST,
            "/api/auth/reauthenticate".into(),
            Some(json!({"password": PASSWORD})),
        ),
        (
            Method::POST,
            "/api/auth/reauthenticate/passkey/begin".into(),
            None,
        ),
        (
            Method::POST,
            "/api/auth/redirect/code".into(),
            Some(json!({"redirect_uri": "https://app.example.com/cb"})),
        ),
    ];
    for (method, path, body) in routes {
        let res = call(&app, method.clone(), &path, &key_b, body, Some(token)).await;
        assert_eq!(res.status(), 401, "{method} {path}");
        assert_eq!(
            res.json::<Value>().await.unwrap()["code"],
            "token_client_mismatch",
            "{method} {path}"
        );
    }
    // Nothing changed for A.
    let res = call(
        &app,
        Method::GET,
        "/api/auth/sessions",
        &key_a,
        None,
        Some(token),
    )
    .await;
    assert_eq!(
        res.json::<Value>().await.unwrap()["sessions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn require_verified_email_blocks_unverified_logins() {
    let app = spawn_app().await;
    let created = app.new_client().await;
    let key = key_of(&created);
    let id = created["client"]["id"].as_str().unwrap();
    signup(&app, &key, "unverified@example.com").await;
    app.admin(
        Method::PATCH,
        &format!("/api/admin/clients/{id}"),
        Some(json!({"settings": {"require_verified_email": true}})),
    )
    .await;
    let res = call(
        &app,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(json!({"email": "unverified@example.com", "password": PASSWORD})),
        None,
    )
    .await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "email_not_verified"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_weaker_hash_is_upgraded_on_login() {
    let key_hex = "11".repeat(32);
    let weak = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![
            ("ENCRYPTION_KEY", key_hex.clone()),
            ("PASSWORD_HASH", "bcrypt".to_owned()),
            ("BCRYPT_COST", "10".to_owned()),
        ],
        ..Default::default()
    })
    .await;
    let key = key_of(&weak.new_client().await);
    signup(&weak, &key, "upgrade@example.com").await;
    assert!(
        weak.query_text("SELECT password_hash AS value FROM users")
            .await[0]
            .starts_with("$2b$10$")
    );

    let strong = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![
            ("ENCRYPTION_KEY", key_hex.clone()),
            ("PASSWORD_HASH", "bcrypt".to_owned()),
            ("BCRYPT_COST", "11".to_owned()),
        ],
        database: Some(weak.database.clone()),
        ..Default::default()
    })
    .await;
    let res = call(
        &strong,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(json!({"email": "upgrade@example.com", "password": PASSWORD})),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(
        strong
            .query_text("SELECT password_hash AS value FROM users")
            .await[0]
            .starts_with("$2b$11$")
    );
    // Still the same password.
    let res = call(
        &strong,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(json!({"email": "upgrade@example.com", "password": PASSWORD})),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);

    // The default, Argon2id with OWASP's parameters: the bcrypt hash is replaced at login.
    let argon = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![("ENCRYPTION_KEY", key_hex)],
        database: Some(weak.database.clone()),
        ..Default::default()
    })
    .await;
    let login = json!({"email": "upgrade@example.com", "password": PASSWORD});
    let res = call(
        &argon,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(login.clone()),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let stored = argon
        .query_text("SELECT password_hash AS value FROM users")
        .await[0]
        .clone();
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
    let res = call(
        &argon,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(login.clone()),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    // A bcrypt server still verifies it (a rollback does not lock anyone out).
    let res = call(
        &strong,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(login),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn lockout_after_five_failures_when_enabled() {
    let app = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![("ACCOUNT_LOCKOUT_ENABLED", "true".to_owned())],
        ..Default::default()
    })
    .await;
    let key = key_of(&app.new_client().await);
    let other_key = key_of(&app.new_client().await);
    signup(&app, &key, "locked@example.com").await;
    signup(&app, &other_key, "locked@example.com").await;
    let login = |key: String, email: &'static str, password: &'static str| {
        let app = &app;
        async move {
            call(
                app,
                Method::POST,
                "/api/auth/login",
                &key,
                Some(json!({"email": email, "password": password})),
                None,
            )
            .await
        }
    };
    for _ in 0..5 {
        assert_eq!(
            login(key.clone(), "locked@example.com", "wrong-password-x1")
                .await
                .status(),
            401
        );
    }
    let res = login(key.clone(), "locked@example.com", PASSWORD).await;
    assert_eq!(
        res.status(),
        429,
        "even the right password is refused while locked"
    );
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1700..=1800).contains(&retry), "{retry}");
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "account_locked");
    // The same email in another client is not locked.
    assert_eq!(
        login(other_key.clone(), "locked@example.com", PASSWORD)
            .await
            .status(),
        200
    );
    assert_eq!(app.audit_events("event_type=user.locked").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_hashing_queue_answers_503_server_busy() {
    let app = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![
            ("BCRYPT_COST", "13".to_owned()),
            ("PASSWORD_HASH_QUEUE", "0".to_owned()),
            ("SIGNUP_RATE_LIMIT", "100".to_owned()),
        ],
        ..Default::default()
    })
    .await;
    let key = key_of(&app.new_client().await);
    let handles: Vec<_> = (0..12)
        .map(|i| {
            let req = app
                .http
                .post(app.url("/api/auth/signup"))
                .header("X-API-Key", &key)
                .json(&json!({"email": format!("busy{i}@example.com"), "password": PASSWORD, "token_transport": "json"}))
                .send();
            tokio::spawn(req)
        })
        .collect();
    let mut created = 0;
    let mut busy = 0;
    for handle in handles {
        let res = handle.await.unwrap().unwrap();
        match res.status().as_u16() {
            201 => created += 1,
            503 => {
                assert!(res.headers().get("retry-after").is_some());
                assert_eq!(res.json::<Value>().await.unwrap()["code"], "server_busy");
                busy += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(created >= 1, "some signups go through");
    assert!(
        busy >= 1,
        "the rest are refused at once, not queued without limit"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn revoked_sessions_lose_account_access_at_once() {
    let app = spawn_app().await;
    let key = key_of(&app.new_client().await);
    let first = signup(&app, &key, "revoke@example.com").await;
    let res = call(
        &app,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(
            json!({"email": "revoke@example.com", "password": PASSWORD, "token_transport": "json"}),
        ),
        None,
    )
    .await;
    let second: Value = res.json().await.unwrap();
    let second_access = second["access_token"].as_str().unwrap();
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/api/auth/me",
            &key,
            None,
            Some(second_access)
        )
        .await
        .status(),
        200
    );
    // The first session revokes all others: the second's access token stops working now.
    call(
        &app,
        Method::DELETE,
        "/api/auth/sessions",
        &key,
        None,
        first["access_token"].as_str(),
    )
    .await;
    let res = call(
        &app,
        Method::GET,
        "/api/auth/me",
        &key,
        None,
        Some(second_access),
    )
    .await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "session_revoked"
    );
    // Logout does the same for the current session.
    call(
        &app,
        Method::POST,
        "/api/auth/logout",
        &key,
        Some(json!({"refresh_token": first["refresh_token"]})),
        None,
    )
    .await;
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/api/auth/me",
            &key,
            None,
            first["access_token"].as_str()
        )
        .await
        .status(),
        401
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn revocation_wins_against_a_refresh_loop() {
    // A stolen token refreshed in a tight loop must not survive "revoke all other sessions".
    let app = spawn_app().await;
    let key = key_of(&app.new_client().await);
    let owner = signup(&app, &key, "race-owner@example.com").await;
    let res = call(&app, Method::POST, "/api/auth/login", &key, Some(json!({"email": "race-owner@example.com", "password": PASSWORD, "token_transport": "json"})), None).await;
    let stolen: Value = res.json().await.unwrap();
    let mut token = stolen["refresh_token"].as_str().unwrap().to_owned();
    let thief = {
        let (http, url, key) = (app.http.clone(), app.url("/api/auth/refresh"), key.clone());
        tokio::spawn(async move {
            for _ in 0..400 {
                let res = http
                    .post(&url)
                    .header("X-API-Key", &key)
                    .json(&json!({"refresh_token": token}))
                    .send()
                    .await
                    .unwrap();
                if res.status() != 200 {
                    return token;
                }
                token = res.json::<Value>().await.unwrap()["refresh_token"]
                    .as_str()
                    .unwrap()
                    .to_owned();
            }
            token
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let res = call(
        &app,
        Method::DELETE,
        "/api/auth/sessions",
        &key,
        None,
        owner["access_token"].as_str(),
    )
    .await;
    assert_eq!(res.status(), 200);
    let last = thief.await.unwrap();
    let res = call(
        &app,
        Method::POST,
        "/api/auth/refresh",
        &key,
        Some(json!({"refresh_token": last})),
        None,
    )
    .await;
    assert_eq!(
        res.status(),
        401,
        "the thief's chain must be dead after the revocation"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_current_passwords_are_limited_per_user() {
    let app = spawn_app().await;
    let key = key_of(&app.new_client().await);
    let user = signup(&app, &key, "oracle@example.com").await;
    let access = user["access_token"].as_str().unwrap();
    for _ in 0..5 {
        let res = call(
            &app,
            Method::POST,
            "/api/auth/change-password",
            &key,
            Some(
                json!({"current_password": "guess-guess-1", "new_password": "whatever-Strong-77"}),
            ),
            Some(access),
        )
        .await;
        assert_eq!(res.status(), 403);
    }
    let res = call(
        &app,
        Method::POST,
        "/api/auth/change-password",
        &key,
        Some(json!({"current_password": PASSWORD, "new_password": "whatever-Strong-77"})),
        Some(access),
    )
    .await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("retry-after").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn long_expired_sessions_are_purged() {
    let key_hex = "22".repeat(32);
    let first = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![("ENCRYPTION_KEY", key_hex.clone())],
        ..Default::default()
    })
    .await;
    let key = key_of(&first.new_client().await);
    signup(&first, &key, "old@example.com").await;
    signup(&first, &key, "fresh@example.com").await;
    let aged = first
        .query_text("WITH aged AS (UPDATE sessions SET expires_at = now() - interval '2 days' WHERE user_id = (SELECT id FROM users WHERE email = 'old@example.com') RETURNING id) SELECT count(*)::text AS value FROM aged")
        .await;
    assert_eq!(aged, vec!["1"]);
    // Housekeeping runs when a server starts (and every 10 minutes after).
    let _second = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![("ENCRYPTION_KEY", key_hex)],
        database: Some(first.database.clone()),
        ..Default::default()
    })
    .await;
    let mut left = Vec::new();
    for _ in 0..50 {
        left = first
            .query_text("SELECT count(*)::text AS value FROM sessions")
            .await;
        if left == vec!["1"] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left, vec!["1"], "only the live session remains");
}
