use authservice_interfaces::grpc::proto::ValidateTokenRequest;
use authservice_interfaces::grpc::proto::token_service_client::TokenServiceClient;
use authservice_tests::{TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

use crate::auth_helpers::{b64url_decode, b64url_encode, call, key_of, signup};

async fn validate(
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
