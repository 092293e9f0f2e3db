use authservice_interfaces::grpc::proto::ValidateTokenRequest;
use authservice_interfaces::grpc::proto::token_service_client::TokenServiceClient;
use authservice_tests::{TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

use crate::auth_helpers::{b64url_decode, b64url_encode, call, key_of, signup};

pub(crate) async fn validate(
    app: &TestApp,
    token: &str,
    api_key: &str,
) -> authservice_interfaces::grpc::proto::ValidateTokenResponse {
    let mut grpc = TokenServiceClient::connect(app.grpc_address.clone())
        .await
        .unwrap();
    grpc.validate_token(ValidateTokenRequest {
        access_token: token.to_owned(),
        api_key: api_key.to_owned(),
    })
    .await
    .expect("ValidateToken answers OK with a verdict")
    .into_inner()
}

async fn refused(app: &TestApp, token: &str, api_key: &str) -> String {
    let res = validate(app, token, api_key).await;
    assert!(!res.valid, "expected a refusal");
    assert!(res.user_id.is_empty());
    res.error
}

fn hs256(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_token_negative_matrix() {
    let app = spawn_app().await;
    let created = app.new_client().await;
    let key = key_of(&created);
    let id = created["client"]["id"].as_str().unwrap().to_owned();
    let other = app.new_client().await;
    let other_key = key_of(&other);
    let tokens = signup(&app, &key, "validate@example.com").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();

    // Valid, with and without the API key.
    for api_key in [key.as_str(), ""] {
        let res = validate(&app, &access, api_key).await;
        assert!(res.valid, "{}", res.error);
        assert_eq!(res.user_id, tokens["user"]["id"].as_str().unwrap());
        assert_eq!(res.email, "validate@example.com");
        assert_eq!(res.client_id, id);
        assert_eq!(res.role, "user");
        assert_eq!(res.token_use, "access");
        assert_eq!(
            res.amr,
            vec!["pwd"],
            "how the user signed in (signup: password)"
        );
        assert!(res.error.is_empty());
    }

    // bad signature (a character in the middle of the signature changed, so it still decodes)
    let (signed, signature) = access.rsplit_once('.').unwrap();
    let mut sig: Vec<char> = signature.chars().collect();
    let mid = sig.len() / 2;
    sig[mid] = if sig[mid] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{signed}.{}", sig.into_iter().collect::<String>());
    assert_eq!(refused(&app, &tampered, &key).await, "invalid_signature");

    // alg none, and HS/ES confusion (an HS256 token for a v2_jwks client)
    let mut parts = access.split('.');
    let payload = parts.nth(1).unwrap();
    let none = format!(
        "{}.{payload}.",
        b64url_encode(br#"{"alg":"none","typ":"JWT"}"#)
    );
    assert_eq!(refused(&app, &none, &key).await, "algorithm_not_allowed");
    let hs = format!(
        "{}.{payload}.{}",
        b64url_encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64url_encode(b"sig")
    );
    assert_eq!(refused(&app, &hs, &key).await, "algorithm_not_allowed");

    // unknown kid
    let unknown = format!(
        "{}.{payload}.{}",
        b64url_encode(br#"{"alg":"ES256","typ":"JWT","kid":"no-such-key"}"#),
        access.rsplit('.').next().unwrap()
    );
    assert_eq!(refused(&app, &unknown, &key).await, "unknown_kid");

    // token of another client when api_key is given
    assert_eq!(
        refused(&app, &access, &other_key).await,
        "token_client_mismatch"
    );

    // a refresh token presented as an access token
    assert_eq!(
        refused(&app, tokens["refresh_token"].as_str().unwrap(), &key).await,
        "refresh_token_not_accepted"
    );
    assert_eq!(refused(&app, "", &key).await, "missing_token");
    assert_eq!(refused(&app, "garbage", "").await, "malformed_token");
    assert_eq!(refused(&app, &access, "ask_wrong").await, "invalid_api_key");

    // revoked jti
    let claims: Value = serde_json::from_slice(&b64url_decode(payload)).unwrap();
    let res = app
        .admin(
            Method::POST,
            "/api/admin/tokens/revoke",
            Some(json!({"jti": claims["jti"], "exp": claims["exp"]})),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(refused(&app, &access, &key).await, "token_revoked");
    let res = call(&app, Method::GET, "/api/auth/me", &key, None, Some(&access)).await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "token_revoked");
    assert_eq!(app.audit_events("event_type=token.revoked").await.len(), 1);

    // retired key: rotate with no overlap
    let fresh = call(&app, Method::POST, "/api/auth/login", &key, Some(json!({"email": "validate@example.com", "password": crate::auth_helpers::PASSWORD, "token_transport": "json"})), None)
        .await
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(validate(&app, &fresh, &key).await.valid);
    app.admin(
        Method::POST,
        &format!("/api/admin/clients/{id}/signing-keys/rotate"),
        Some(json!({"overlap_hours": 0})),
    )
    .await;
    assert_eq!(refused(&app, &fresh, &key).await, "key_retired");

    // suspended client
    app.admin(
        Method::PATCH,
        &format!("/api/admin/clients/{id}"),
        Some(json!({"status": "suspended"})),
    )
    .await;
    assert_eq!(refused(&app, &fresh, &key).await, "client_suspended");
    assert_eq!(refused(&app, &fresh, "").await, "client_suspended");
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_token_time_checks_with_a_known_hs256_secret() {
    let app = spawn_app().await;
    let created = app
        .create_client(
            json!({"name": "Legacy", "slug": "legacy-validate", "token_mode": "v1_hs256"}),
        )
        .await;
    let key = key_of(&created);
    let secret = created["jwt_secret"].as_str().unwrap();
    let id = created["client"]["id"].as_str().unwrap();
    let user = signup(&app, &key, "hs@example.com").await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = |iat: i64, exp: i64| {
        json!({
            "sub": user["user"]["id"], "iss": "http://localhost:8080", "aud": id, "iat": iat, "exp": exp,
            "jti": "j1", "client_id": id, "email": "hs@example.com", "email_verified": false,
            "role": "user", "sid": user["session_id"],
        })
    };
    assert!(
        validate(&app, &hs256(secret, &claims(now, now + 600)), &key)
            .await
            .valid
    );
    assert_eq!(
        refused(&app, &hs256(secret, &claims(now - 7200, now - 3600)), &key).await,
        "token_expired"
    );
    assert_eq!(
        refused(&app, &hs256(secret, &claims(now + 3600, now + 7200)), &key).await,
        "token_not_yet_valid"
    );
    assert_eq!(
        refused(
            &app,
            &hs256("not-the-secret", &claims(now, now + 600)),
            &key
        )
        .await,
        "invalid_signature"
    );
}

/// Polls `ValidateToken` until it refuses `token` (at most `within`); returns the error string.
pub(crate) async fn refused_within(
    app: &TestApp,
    token: &str,
    api_key: &str,
    within: std::time::Duration,
) -> String {
    let started = std::time::Instant::now();
    loop {
        let res = validate(app, token, api_key).await;
        if !res.valid || started.elapsed() > within {
            assert!(!res.valid, "still valid after {:?}", started.elapsed());
            return res.error;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn post_json(
    app: &TestApp,
    path: &str,
    key: &str,
    body: Value,
    bearer: Option<&str>,
) -> Value {
    let res = call(app, Method::POST, path, key, Some(body), bearer).await;
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.unwrap_or(Value::Null)
}

async fn login_json(app: &TestApp, key: &str, email: &str) -> Value {
    post_json(
        app,
        "/api/auth/login",
        key,
        json!({"email": email, "password": crate::auth_helpers::PASSWORD, "token_transport": "json"}),
        None,
    )
    .await
}

fn access_of(tokens: &Value) -> String {
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// Two replicas of one database and one Redis, with `env` on both.
async fn two_replicas(env: &[(&'static str, &str)]) -> (TestApp, TestApp) {
    let prefix = format!("t:{}:", uuid::Uuid::new_v4().simple());
    let mut vars: Vec<(&'static str, String)> =
        env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    vars.push(("REDIS_KEY_PREFIX", prefix));
    let one = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vars.clone(),
        ..Default::default()
    })
    .await;
    vars.push(("ENCRYPTION_KEY", one.encryption_key.clone()));
    let two = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vars,
        database: Some(one.database.clone()),
        ..Default::default()
    })
    .await;
    (one, two)
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_token_refuses_a_token_after_logout() {
    // Two replicas of one database and one Redis: the logout on one shows on the other.
    let (one, two) = two_replicas(&[]).await;
    let key = key_of(&one.new_client().await);
    let tokens = signup(&one, &key, "logout-validate@example.com").await;
    let access = access_of(&tokens);
    let bystander = access_of(&signup(&one, &key, "bystander@example.com").await);
    for app in [&one, &two] {
        // Both replicas have now cached "not revoked" for these tokens.
        for token in [&access, &bystander] {
            let res = validate(app, token, &key).await;
            assert!(res.valid, "{}", res.error);
        }
    }
    post_json(
        &one,
        "/api/auth/logout",
        &key,
        json!({"refresh_token": tokens["refresh_token"]}),
        None,
    )
    .await;
    // At once where the logout happened, within 2 s on the other replica.
    assert_eq!(refused(&one, &access, &key).await, "session_revoked");
    let wait = std::time::Duration::from_secs(2);
    assert_eq!(
        refused_within(&two, &access, &key, wait).await,
        "session_revoked"
    );
    assert_eq!(
        refused_within(&two, &access, "", wait).await,
        "session_revoked"
    );
    // Another user's token is untouched.
    for app in [&one, &two] {
        let res = validate(app, &bystander, &key).await;
        assert!(res.valid, "{}", res.error);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn another_replicas_revocation_arrives_over_pub_sub_not_by_expiry() {
    // "Not revoked" is trusted for an hour while the invalidation feed is live, and for the
    // longest fallback (2 s) if it were not: a refusal on the other replica well before 2 s
    // can only come from the announcement.
    let (one, two) = two_replicas(&[
        ("REVOCATION_CACHE_TTL", "1h"),
        ("REVOCATION_CACHE_FALLBACK_TTL", "2s"),
    ])
    .await;
    let key = key_of(&one.new_client().await);
    let tokens = signup(&one, &key, "pubsub-validate@example.com").await;
    let access = access_of(&tokens);
    // Let both subscriptions settle, then cache "not revoked" on the other replica.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let res = validate(&two, &access, &key).await;
    assert!(res.valid, "{}", res.error);
    let cached_at = std::time::Instant::now();
    post_json(
        &one,
        "/api/auth/logout",
        &key,
        json!({"refresh_token": tokens["refresh_token"]}),
        None,
    )
    .await;
    let error = refused_within(&two, &access, &key, std::time::Duration::from_secs(3)).await;
    assert_eq!(error, "session_revoked");
    let seen_after = cached_at.elapsed();
    assert!(
        seen_after < std::time::Duration::from_millis(1800),
        "seen after {seen_after:?}: by the cache's expiry, not by the invalidation"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_token_refuses_tokens_of_revoked_sessions() {
    let app = spawn_app().await;
    let key = key_of(&app.new_client().await);
    let email = "revocations@example.com";
    let first = signup(&app, &key, email).await;
    let second = login_json(&app, &key, email).await;
    let third = login_json(&app, &key, email).await;
    let wait = std::time::Duration::from_secs(2);

    // One session revoked by its user: only its tokens stop.
    let sid = second["session_id"].as_str().unwrap();
    let res = call(
        &app,
        Method::DELETE,
        &format!("/api/auth/sessions/{sid}"),
        &key,
        None,
        Some(&access_of(&first)),
    )
    .await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        refused_within(&app, &access_of(&second), &key, wait).await,
        "session_revoked"
    );
    for live in [&first, &third] {
        let res = validate(&app, &access_of(live), &key).await;
        assert!(res.valid, "{}", res.error);
    }

    // A refresh token presented twice revokes its family, and the access token of the
    // rotation that came before the replay with it.
    let rotated = post_json(
        &app,
        "/api/auth/refresh",
        &key,
        json!({"refresh_token": third["refresh_token"]}),
        None,
    )
    .await;
    assert!(validate(&app, &access_of(&rotated), &key).await.valid);
    let res = call(
        &app,
        Method::POST,
        "/api/auth/refresh",
        &key,
        Some(json!({"refresh_token": third["refresh_token"]})),
        None,
    )
    .await;
    assert_eq!(res.status(), 401);
    for token in [access_of(&third), access_of(&rotated)] {
        assert_eq!(
            refused_within(&app, &token, &key, wait).await,
            "session_revoked"
        );
    }

    // A password change ends every other session; the caller's keeps working.
    let fourth = login_json(&app, &key, email).await;
    post_json(
        &app,
        "/api/auth/change-password",
        &key,
        json!({"current_password": crate::auth_helpers::PASSWORD, "new_password": "another-Strong-pass-9"}),
        Some(&access_of(&first)),
    )
    .await;
    assert_eq!(
        refused_within(&app, &access_of(&fourth), &key, wait).await,
        "session_revoked"
    );
    let res = validate(&app, &access_of(&first), &key).await;
    assert!(res.valid, "{}", res.error);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_user_is_refused_by_validate_token_at_once() {
    let app = spawn_app().await;
    let created = app.new_client().await;
    let key = key_of(&created);
    let client_id = created["client"]["id"].as_str().unwrap().to_owned();
    let other_id = app.new_client().await["client"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let email = "to-disable@example.com";
    let tokens = signup(&app, &key, email).await;
    let access = access_of(&tokens);
    let user_id = tokens["user"]["id"].as_str().unwrap().to_owned();
    assert!(validate(&app, &access, &key).await.valid);

    // Another client's path does not reach the user; nonsense ids are simply not found.
    for path in [
        format!("/api/admin/clients/{other_id}/users/{user_id}"),
        format!("/api/admin/clients/{client_id}/users/not-a-uuid"),
    ] {
        let res = app
            .admin(Method::PATCH, &path, Some(json!({"status": "disabled"})))
            .await;
        assert_eq!(res.status(), 404, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "user_not_found");
    }
    let path = format!("/api/admin/clients/{client_id}/users/{user_id}");
    let res = app
        .admin(Method::PATCH, &path, Some(json!({"status": "frozen"})))
        .await;
    assert_eq!(res.status(), 400);
    assert!(validate(&app, &access, &key).await.valid);

    let res = app
        .admin(Method::PATCH, &path, Some(json!({"status": "disabled"})))
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "disabled");
    let wait = std::time::Duration::from_secs(2);
    assert_eq!(
        refused_within(&app, &access, &key, wait).await,
        "user_disabled"
    );
    assert_eq!(
        refused_within(&app, &access, "", wait).await,
        "user_disabled"
    );
    let res = call(&app, Method::GET, "/api/auth/me", &key, None, Some(&access)).await;
    assert_eq!(res.status(), 401);
    let res = call(
        &app,
        Method::POST,
        "/api/auth/refresh",
        &key,
        Some(json!({"refresh_token": tokens["refresh_token"]})),
        None,
    )
    .await;
    assert_eq!(res.status(), 401);
    let res = call(
        &app,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(json!({"email": email, "password": crate::auth_helpers::PASSWORD})),
        None,
    )
    .await;
    assert!(res.status().is_client_error(), "{}", res.status());
    let events = app
        .audit_events(&format!("event_type=user.disabled&client_id={client_id}"))
        .await;
    assert_eq!(events.len(), 1, "{events:?}");

    // Re-enabled: the user signs in again; the old session stays ended.
    let res = app
        .admin(Method::PATCH, &path, Some(json!({"status": "active"})))
        .await;
    assert_eq!(res.status(), 200);
    let fresh = login_json(&app, &key, email).await;
    let res = validate(&app, &access_of(&fresh), &key).await;
    assert!(res.valid, "{}", res.error);
    assert_eq!(refused(&app, &access, &key).await, "session_revoked");
    let res = app.admin(Method::GET, &path, None).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["email"], email);
}

#[tokio::test(flavor = "multi_thread")]
async fn random_keys_kids_and_client_ids_cost_no_query_after_the_first() {
    let app = spawn_app().await;
    let created = app.new_client().await;
    let key = key_of(&created);
    let access = signup(&app, &key, "negative@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // A token naming a kid that does not exist (the signature is never reached).
    let (_, rest) = access.split_once('.').unwrap();
    let header =
        b64url_encode(br#"{"alg":"ES256","typ":"JWT","kid":"0193b0c0ffee00000000000000000000"}"#);
    let unknown_kid = format!("{header}.{rest}");
    // A token claiming a client that does not exist (asked without an API key).
    let payload = b64url_encode(
        json!({"sub": "x", "client_id": "0193b0c0-0000-7000-8000-000000000000", "exp": 4_000_000_000i64})
            .to_string()
            .as_bytes(),
    );
    let unknown_client = format!("{header}.{payload}.c2ln");
    let random_key = "ask_thisKeyWasNeverIssuedByAnyoneAtAll00000000";
    let probe = async |app: &TestApp| {
        (
            refused(app, &unknown_kid, &key).await,
            refused(app, &unknown_client, "").await,
            refused(app, &access, random_key).await,
            call(app, Method::GET, "/api/auth/me", random_key, None, None)
                .await
                .status(),
        )
    };
    let first = probe(&app).await;
    assert_eq!(
        first,
        (
            "unknown_kid".to_owned(),
            "unknown_client".to_owned(),
            "invalid_api_key".to_owned(),
            reqwest::StatusCode::UNAUTHORIZED
        )
    );
    // With PostgreSQL gone, the same random values get the same answers: they are remembered
    // as unknown and never reach the database again.
    app.drop_database().await;
    assert_eq!(probe(&app).await, first);
}
