//! Service accounts and the machine endpoints: keys shown once and kept hashed, the
//! client_credentials grant by Basic, form and JSON at every token endpoint, scopes granted as
//! requested ∩ account ∩ key, RFC 6749 errors, introspection and revocation that reflect a
//! disabled account or a revoked key at once, the tenant issuer's metadata and JWKS, and the
//! machine fields of `ValidateToken`.

use std::process::Command;

use authservice_interfaces::grpc::proto::ValidateTokenRequest;
use authservice_interfaces::grpc::proto::token_service_client::TokenServiceClient;
use authservice_tests::{AppOptions, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

use crate::auth_helpers::{b64url_decode, key_of, signup};

async fn admin(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let res = app.admin(method, path, body).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn claims_of(token: &str) -> Value {
    serde_json::from_slice(&b64url_decode(token.split('.').nth(1).unwrap())).unwrap()
}

/// A client with a service account (`scopes`) and one key (`key_scopes`): (client, account id,
/// secret).
async fn machine(
    app: &TestApp,
    scopes: Value,
    key_scopes: Option<Value>,
) -> (Value, String, String) {
    let client = app.new_client().await;
    let id = client["client"]["id"].as_str().unwrap();
    let (status, account) = admin(
        app,
        Method::POST,
        &format!("/api/admin/clients/{id}/service-accounts"),
        Some(json!({"name": "billing-worker", "scopes": scopes})),
    )
    .await;
    assert_eq!(status, 201, "{account}");
    let sa = account["id"].as_str().unwrap().to_owned();
    let body = key_scopes.map_or_else(|| json!({}), |s| json!({"scopes": s}));
    let (status, key) = admin(
        app,
        Method::POST,
        &format!("/api/admin/clients/{id}/service-accounts/{sa}/keys"),
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    (client, sa, key["secret"].as_str().unwrap().to_owned())
}

async fn form(
    app: &TestApp,
    path: &str,
    basic: Option<(&str, &str)>,
    params: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = app.http.post(app.url(path)).form(params);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.json().await.unwrap_or(Value::Null))
}

async fn grant(app: &TestApp, sa: &str, secret: &str, scope: Option<&str>) -> (u16, Value) {
    let mut params = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        params.push(("scope", scope));
    }
    let (status, _, body) = form(app, "/oauth/token", Some((sa, secret)), &params).await;
    (status, body)
}

async fn validate(
    app: &TestApp,
    token: &str,
) -> authservice_interfaces::grpc::proto::ValidateTokenResponse {
    TokenServiceClient::connect(app.grpc_address.clone())
        .await
        .unwrap()
        .validate_token(ValidateTokenRequest {
            access_token: token.to_owned(),
            api_key: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn introspect(app: &TestApp, path: &str, caller: (&str, &str), token: &str) -> Value {
    let (status, headers, body) = form(app, path, Some(caller), &[("token", token)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn service_accounts_and_keys_are_managed_with_the_secret_shown_once() {
    let app = authservice_tests::spawn_app().await;
    let client = app.new_client().await;
    let id = client["client"]["id"].as_str().unwrap();
    let base = format!("/api/admin/clients/{id}/service-accounts");

    let (status, account) = admin(
        &app,
        Method::POST,
        &base,
        Some(json!({"name": "reports", "scopes": ["reports:read", "reports:write"]})),
    )
    .await;
    assert_eq!(status, 201, "{account}");
    assert_eq!(account["status"], "active");
    let sa = account["id"].as_str().unwrap();
    let (status, bad) = admin(
        &app,
        Method::POST,
        &base,
        Some(json!({"name": "x", "scopes": ["Bad Scope"]})),
    )
    .await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (400, Some("invalid_request")),
        "{bad}"
    );

    // A key: `m2m_` + 64 hex, shown once, stored as SHA-256 with a 16-character prefix.
    let keys = format!("{base}/{sa}/keys");
    let res = app
        .admin(
            Method::POST,
            &keys,
            Some(json!({"scopes": ["reports:read"]})),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let key: Value = res.json().await.unwrap();
    let secret = key["secret"].as_str().unwrap();
    assert!(secret.starts_with("m2m_") && secret.len() == 68, "{secret}");
    assert_eq!(key["prefix"].as_str(), Some(&secret[..16]));
    assert_eq!(key["scopes"], json!(["reports:read"]));
    let stored = app
        .query_text(&format!(
            "SELECT encode(secret_hash, 'hex') AS value FROM service_account_keys WHERE id = '{}'",
            key["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(stored[0].len(), 64);
    assert!(!stored[0].contains(&secret[4..]));
    let (status, listed) = admin(&app, Method::GET, &keys, None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["keys"].as_array().unwrap().len(), 1);
    assert!(listed["keys"][0].get("secret").is_none());
    assert_eq!(listed["keys"][0]["status"], "active");

    // A key never gets more than its account.
    let (status, wider) = admin(
        &app,
        Method::POST,
        &keys,
        Some(json!({"scopes": ["admin"]})),
    )
    .await;
    assert_eq!(status, 400, "{wider}");
    // A misspelled body is refused, not read as "all scopes".
    let (status, typo) = admin(
        &app,
        Method::POST,
        &keys,
        Some(json!({"scope": ["reports:read"]})),
    )
    .await;
    assert_eq!(status, 400, "{typo}");
    let (status, past) = admin(
        &app,
        Method::POST,
        &keys,
        Some(json!({"expires_at": "2020-01-01T00:00:00Z"})),
    )
    .await;
    assert_eq!(status, 400, "{past}");

    // Another client's admin path does not reach this account.
    let other = app.new_client().await;
    let other_id = other["client"]["id"].as_str().unwrap();
    let (status, err) = admin(
        &app,
        Method::GET,
        &format!("/api/admin/clients/{other_id}/service-accounts/{sa}"),
        None,
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (404, Some("service_account_not_found"))
    );

    // Rename, then DELETE disables (the record stays).
    let (status, renamed) = admin(
        &app,
        Method::PATCH,
        &format!("{base}/{sa}"),
        Some(json!({"name": "reports-v2"})),
    )
    .await;
    assert_eq!(
        (status, renamed["name"].as_str()),
        (200, Some("reports-v2"))
    );
    let (status, disabled) = admin(&app, Method::DELETE, &format!("{base}/{sa}"), None).await;
    assert_eq!(
        (status, disabled["status"].as_str()),
        (200, Some("disabled"))
    );
    let (status, listed) = admin(&app, Method::GET, &base, None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["service_accounts"][0]["status"], "disabled");
    let (status, _) = admin(&app, Method::POST, &keys, Some(json!({}))).await;
    assert_eq!(status, 400, "a disabled account gets no key");

    for event in [
        "service_account.created",
        "service_account.key_created",
        "service_account.updated",
        "service_account.disabled",
    ] {
        let events = app
            .audit_events(&format!("event_type={event}&client_id={id}"))
            .await;
        assert_eq!(events.len(), 1, "{event}");
        assert!(
            !events[0].to_string().contains(&secret[4..]),
            "no secret in {event}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn client_credentials_grants_requested_scopes_within_the_account_and_the_key() {
    let app = authservice_tests::spawn_app().await;
    let (client, sa, secret) = machine(
        &app,
        json!(["reports:read", "reports:write", "audit:read"]),
        Some(json!(["reports:read", "audit:read"])),
    )
    .await;
    let id = client["client"]["id"].as_str().unwrap();
    let slug = client["client"]["slug"].as_str().unwrap();

    // Basic at /oauth/token, no scope: everything the account and the key both allow.
    let (status, headers, body) = form(
        &app,
        "/oauth/token",
        Some((&sa, &secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "reports:read audit:read");
    assert!(body["expires_in"].as_u64().unwrap() > 0);
    let token = body["access_token"].as_str().unwrap();
    let claims = claims_of(token);
    assert_eq!(claims["sub"], sa.as_str());
    assert_eq!(claims["role"], "service_account");
    assert_eq!(claims["token_use"], "client_credentials");
    assert_eq!(claims["scope"], "reports:read audit:read");
    assert_eq!(claims["scopes"], json!(["reports:read", "audit:read"]));
    assert_eq!(claims["service_account_id"], sa.as_str());
    assert_eq!(claims["service_account_name"], "billing-worker");
    assert_eq!(claims["azp"], sa.as_str());
    assert_eq!(claims["client_id"], id);
    assert_eq!(claims["iss"], format!("http://localhost:8080/t/{slug}"));
    assert!(claims.get("email").is_none());

    // Requested ∩ account ∩ key: a scope beyond the key is not granted.
    let (status, body) = grant(&app, &sa, &secret, Some("reports:read reports:write")).await;
    assert_eq!(
        (status, body["scope"].as_str()),
        (200, Some("reports:read")),
        "{body}"
    );
    // Scope escalation: nothing of what is asked is allowed.
    let (status, body) = grant(&app, &sa, &secret, Some("reports:write admin")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "{body}"
    );

    // The body (form) and JSON, and the other token endpoints.
    let (status, _, body) = form(
        &app,
        "/api/oauth/token",
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &sa),
            ("client_secret", &secret),
            ("scope", "audit:read"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["scope"].as_str()),
        (200, Some("audit:read")),
        "{body}"
    );
    let res = app
        .http
        .post(app.url(&format!("/t/{slug}/token")))
        .json(
            &json!({"grant_type": "client_credentials", "client_id": sa, "client_secret": secret}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // An independent verifier (PyJWT) accepts the token with the tenant issuer's JWKS.
    let output = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/peers/verify_jwt.py"))
        .arg(app.url(&format!("/t/{slug}/jwks")))
        .arg(token)
        .arg(format!("http://localhost:8080/t/{slug}"))
        .arg(id)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "PyJWT: {}",
        String::from_utf8_lossy(&output.stdout)
    );

    // ValidateToken fills the machine fields.
    let verdict = validate(&app, token).await;
    assert!(verdict.valid, "{}", verdict.error);
    assert_eq!(verdict.token_use, "client_credentials");
    assert_eq!(verdict.service_account_id, sa);
    assert_eq!(verdict.service_account_name, "billing-worker");
    assert_eq!(verdict.scopes, vec!["reports:read", "audit:read"]);
    assert_eq!(verdict.scope, "reports:read audit:read");
    assert_eq!(verdict.role, "service_account");
    assert!(verdict.email.is_empty());

    // A machine token is not a user's: the account routes refuse it.
    let res = app
        .http
        .get(app.url("/api/auth/me"))
        .header("X-API-Key", key_of(&client))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn machine_credentials_negative_matrix() {
    let app = authservice_tests::spawn_app().await;
    let (client, sa, secret) = machine(&app, json!(["jobs:run"]), None).await;
    let id = client["client"]["id"].as_str().unwrap();
    let slug = client["client"]["slug"].as_str().unwrap();
    let (other, other_sa, other_secret) = machine(&app, json!(["jobs:run"]), None).await;
    let other_slug = other["client"]["slug"].as_str().unwrap();
    let cc = [("grant_type", "client_credentials")];

    // bad secret: 401 invalid_client with WWW-Authenticate.
    let wrong = format!("m2m_{}", "0".repeat(64));
    let (status, headers, body) = form(&app, "/oauth/token", Some((&sa, &wrong)), &cc).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    // A real secret presented with another account's id.
    let (status, _, body) = form(&app, "/oauth/token", Some((&other_sa, &secret)), &cc).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // unknown id, no credentials at all.
    let (status, _, _) = form(&app, "/oauth/token", Some(("not-an-id", &secret)), &cc).await;
    assert_eq!(status, 401);
    let (status, _, body) = form(&app, "/oauth/token", None, &cc).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // Another tenant's account at this tenant's issuer.
    let (status, _, body) = form(
        &app,
        &format!("/t/{slug}/token"),
        Some((&other_sa, &other_secret)),
        &cc,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    let (status, _, _) = form(
        &app,
        &format!("/t/{other_slug}/token"),
        Some((&other_sa, &other_secret)),
        &cc,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = form(&app, "/t/no-such-tenant/token", Some((&sa, &secret)), &cc).await;
    assert_eq!(status, 404);
    // Malformed requests.
    let (status, _, body) = form(
        &app,
        "/oauth/token",
        Some((&sa, &secret)),
        &[("grant_type", "password")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (status, _, body) = form(&app, "/oauth/token", Some((&sa, &secret)), &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, _, body) = form(
        &app,
        "/oauth/token",
        Some((&sa, &secret)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "a"),
            ("scope", "b"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "repeated parameter"
    );
    let (status, _, body) = form(
        &app,
        "/oauth/token",
        Some((&sa, &secret)),
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "two methods"
    );

    // expired key.
    let base = format!("/api/admin/clients/{id}/service-accounts/{sa}/keys");
    let (_, expiring) = admin(&app, Method::POST, &base, Some(json!({}))).await;
    app.execute_sql(&format!(
        "UPDATE service_account_keys SET expires_at = now() - interval '1 second' WHERE id = '{}'",
        expiring["id"].as_str().unwrap()
    ))
    .await
    .unwrap();
    let (status, _) = grant(&app, &sa, expiring["secret"].as_str().unwrap(), None).await;
    assert_eq!(status, 401, "expired key");
    // revoked key: refused, and what it minted stops validating.
    let (_, revoking) = admin(&app, Method::POST, &base, Some(json!({}))).await;
    let revoking_secret = revoking["secret"].as_str().unwrap();
    let (_, minted) = grant(&app, &sa, revoking_secret, None).await;
    let minted = minted["access_token"].as_str().unwrap().to_owned();
    assert!(validate(&app, &minted).await.valid);
    // Revoked at once, even a token minted in the same second as the revocation.
    let (status, _) = admin(
        &app,
        Method::DELETE,
        &format!("{base}/{}", revoking["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = grant(&app, &sa, revoking_secret, None).await;
    assert_eq!(status, 401, "revoked key");
    assert_eq!(validate(&app, &minted).await.error, "token_revoked");
    let (status, _) = admin(
        &app,
        Method::DELETE,
        &format!("{base}/{}", revoking["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(status, 404, "revoked twice");
    // The account's other key still works and its new tokens count (from the next second on:
    // one of the revocation's own second could be from before it).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, fresh) = grant(&app, &sa, &secret, None).await;
    assert_eq!(status, 200);
    let fresh = fresh["access_token"].as_str().unwrap().to_owned();
    assert!(validate(&app, &fresh).await.valid);

    // disabled service account: no token, and its tokens are refused at once.
    let (status, _) = admin(
        &app,
        Method::DELETE,
        &format!("/api/admin/clients/{id}/service-accounts/{sa}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = grant(&app, &sa, &secret, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert_eq!(
        validate(&app, &fresh).await.error,
        "service_account_disabled"
    );

    let failures = app
        .audit_events(&format!(
            "event_type=oauth.client_auth_failed&client_id={id}"
        ))
        .await;
    assert!(!failures.is_empty());
    assert!(
        failures
            .iter()
            .all(|e| !e.to_string().contains(&secret[4..]))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_client_authentications_are_rate_limited_per_address() {
    let app = authservice_tests::spawn_app_with(AppOptions {
        env: vec![("OAUTH_CLIENT_FAILURE_RATE_LIMIT", "3/1m".to_owned())],
        ..AppOptions::default()
    })
    .await;
    let (_, sa, secret) = machine(&app, json!(["jobs:run"]), None).await;
    let wrong = format!("m2m_{}", "1".repeat(64));
    for _ in 0..3 {
        assert_eq!(grant(&app, &sa, &wrong, None).await.0, 401);
    }
    let (status, headers, body) = form(
        &app,
        "/oauth/token",
        Some((&sa, &secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("temporarily_unavailable")),
        "{body}"
    );
    assert!(headers.contains_key("retry-after"));
}

#[tokio::test(flavor = "multi_thread")]
async fn introspection_and_revocation_answer_for_the_callers_own_tenant() {
    let app = authservice_tests::spawn_app().await;
    let (client, sa, secret) = machine(&app, json!(["jobs:run"]), None).await;
    let slug = client["client"]["slug"].as_str().unwrap();
    let (_, token) = grant(&app, &sa, &secret, None).await;
    let token = token["access_token"].as_str().unwrap().to_owned();

    let active = introspect(&app, "/oauth/introspect", (&sa, &secret), &token).await;
    assert_eq!(active["active"], true, "{active}");
    assert_eq!(active["client_id"], sa.as_str());
    assert_eq!(active["sub"], sa.as_str());
    assert_eq!(active["scope"], "jobs:run");
    assert_eq!(active["token_type"], "Bearer");
    assert_eq!(active["token_use"], "client_credentials");
    assert_eq!(active["service_account_name"], "billing-worker");
    assert_eq!(active["iss"], format!("http://localhost:8080/t/{slug}"));
    assert!(active["exp"].as_i64().is_some() && active["jti"].is_string());
    assert_eq!(
        introspect(
            &app,
            &format!("/t/{slug}/introspect"),
            (&sa, &secret),
            &token
        )
        .await["active"],
        true
    );
    assert_eq!(
        introspect(&app, "/oauth/introspect", (&sa, &secret), "garbage").await,
        json!({"active": false})
    );

    // A user token of the same tenant is active; after logout it is not.
    let key = key_of(&client);
    let user = signup(&app, &key, "introspected@example.com").await;
    let user_token = user["access_token"].as_str().unwrap();
    let answer = introspect(&app, "/oauth/introspect", (&sa, &secret), user_token).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["username"], "introspected@example.com");
    assert_eq!(answer["token_use"], "access");
    let res = app
        .http
        .post(app.url("/api/auth/logout"))
        .header("X-API-Key", &key)
        .bearer_auth(user_token)
        .json(&json!({"refresh_token": user["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        introspect(&app, "/oauth/introspect", (&sa, &secret), user_token).await["active"],
        false
    );

    // Another tenant's caller learns nothing about this tenant's token.
    let (_, other_sa, other_secret) = machine(&app, json!(["jobs:run"]), None).await;
    assert_eq!(
        introspect(
            &app,
            "/oauth/introspect",
            (&other_sa, &other_secret),
            &token
        )
        .await,
        json!({"active": false})
    );
    // ... and may not revoke it.
    let (status, _, body) = form(
        &app,
        "/oauth/revoke",
        Some((&other_sa, &other_secret)),
        &[("token", &token)],
    )
    .await;
    assert_eq!(
        status, 200,
        "a token of another tenant does not verify: nothing happens ({body})"
    );
    assert_eq!(
        introspect(&app, "/oauth/introspect", (&sa, &secret), &token).await["active"],
        true
    );
    // No caller, no answer.
    let (status, headers, body) = form(&app, "/oauth/introspect", None, &[("token", &token)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(headers.contains_key("www-authenticate"));

    // RFC 7009 at the tenant issuer: revoked at once for introspection and ValidateToken.
    let (status, headers, _) = form(
        &app,
        &format!("/t/{slug}/revoke"),
        Some((&sa, &secret)),
        &[("token", &token), ("token_type_hint", "access_token")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(
        introspect(&app, "/oauth/introspect", (&sa, &secret), &token).await["active"],
        false
    );
    assert_eq!(validate(&app, &token).await.error, "token_revoked");
    let (status, _, body) = form(
        &app,
        "/oauth/revoke",
        Some((&sa, &secret)),
        &[("token", &token), ("token_type_hint", "id_token")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_token_type"))
    );
    let (status, _, _) = form(
        &app,
        "/oauth/revoke",
        Some((&sa, &secret)),
        &[("token", "garbage")],
    )
    .await;
    assert_eq!(status, 200, "an invalid token is answered like a success");
    let revoked = app.audit_events("event_type=oauth.token_revoked").await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0]["actor_id"], sa.as_str());
}

/// An independent OAuth 2.0 client (Authlib) against the tenant issuer: it reads the RFC 8414
/// metadata, gets a token with client_secret_basic and with client_secret_post, introspects,
/// revokes, introspects again, and is refused with invalid_client for a wrong secret.
#[tokio::test(flavor = "multi_thread")]
async fn authlib_gets_introspects_and_revokes_a_machine_token() {
    let app = authservice_tests::spawn_app().await;
    let (client, sa, secret) = machine(&app, json!(["reports:read", "reports:write"]), None).await;
    let slug = client["client"]["slug"].as_str().unwrap();

    // tokio's Command: the server answers on this runtime while the peer runs.
    let output = tokio::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/peers/oauth_client.py"
        ))
        .arg("client_credentials")
        .arg(app.url(&format!("/t/{slug}")))
        .arg(&sa)
        .arg(&secret)
        .arg("reports:read")
        .arg("http://localhost:8080")
        .output()
        .await
        .expect(
            "run python3 tests/peers/oauth_client.py (pip install -r tests/peers/requirements.txt)",
        );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "Authlib: {stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["steps"]["token_basic"]["scope"], "reports:read");
    assert_eq!(
        report["steps"]["introspect_active"]["client_id"],
        sa.as_str()
    );
    assert_eq!(report["steps"]["introspect_revoked"]["active"], false);
    assert_eq!(report["steps"]["wrong_secret"]["error"], "invalid_client");
    let revoked = app.audit_events("event_type=oauth.token_revoked").await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0]["actor_id"], sa.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_key_works_until_its_overlap_ends() {
    let app = authservice_tests::spawn_app().await;
    let (client, sa, secret) = machine(
        &app,
        json!(["jobs:run", "jobs:read"]),
        Some(json!(["jobs:read"])),
    )
    .await;
    let id = client["client"]["id"].as_str().unwrap();
    let keys = format!("/api/admin/clients/{id}/service-accounts/{sa}/keys");
    let (_, listed) = admin(&app, Method::GET, &keys, None).await;
    let old = listed["keys"][0]["id"].as_str().unwrap().to_owned();

    let (status, rotated) = admin(
        &app,
        Method::POST,
        &format!("{keys}/{old}/rotate"),
        Some(json!({"overlap_hours": 2})),
    )
    .await;
    assert_eq!(status, 201, "{rotated}");
    assert_eq!(
        rotated["scopes"],
        json!(["jobs:read"]),
        "the new key keeps the scopes"
    );
    let new_secret = rotated["secret"].as_str().unwrap();
    assert_eq!(grant(&app, &sa, new_secret, None).await.0, 200);
    assert_eq!(
        grant(&app, &sa, &secret, None).await.0,
        200,
        "the old key works during the overlap"
    );
    let (_, listed) = admin(&app, Method::GET, &keys, None).await;
    let old_row = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == old.as_str())
        .unwrap()
        .clone();
    assert!(old_row["expires_at"].is_string());

    // Rotating the new key without overlap: it stops at once.
    let (status, again) = admin(
        &app,
        Method::POST,
        &format!("{keys}/{}/rotate", rotated["id"].as_str().unwrap()),
        Some(json!({"overlap_hours": 0})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(grant(&app, &sa, new_secret, None).await.0, 401);
    assert_eq!(
        grant(&app, &sa, again["secret"].as_str().unwrap(), None)
            .await
            .0,
        200
    );
    let (status, _) = admin(
        &app,
        Method::POST,
        &format!("{keys}/{}/rotate", rotated["id"].as_str().unwrap()),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 404, "an expired key is not rotated");
    let (status, _) = admin(
        &app,
        Method::POST,
        &format!("{keys}/{old}/rotate"),
        Some(json!({"overlap_hours": 100000})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        app.audit_events(&format!(
            "event_type=service_account.key_rotated&client_id={id}"
        ))
        .await
        .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tenant_issuer_publishes_its_metadata_and_only_its_own_keys() {
    let app = authservice_tests::spawn_app().await;
    let a = app.new_client().await;
    let b = app.new_client().await;
    let slug = a["client"]["slug"].as_str().unwrap();
    let issuer = format!("http://localhost:8080/t/{slug}");
    for path in [
        format!("/t/{slug}/.well-known/oauth-authorization-server"),
        format!("/.well-known/oauth-authorization-server/t/{slug}"),
    ] {
        let res = app.http.get(app.url(&path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let meta: Value = res.json().await.unwrap();
        // RFC 8414 §2/§3: the issuer is the URL the metadata was derived from; every endpoint
        // lives below it; the required members are present.
        assert_eq!(meta["issuer"], issuer.as_str());
        for endpoint in [
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "introspection_endpoint",
            "revocation_endpoint",
        ] {
            assert!(
                meta[endpoint]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{issuer}/")),
                "{endpoint}"
            );
        }
        assert!(meta["response_types_supported"].is_array());
        assert_eq!(
            meta["grant_types_supported"],
            json!(["authorization_code", "refresh_token", "client_credentials"])
        );
        assert_eq!(
            meta["token_endpoint_auth_methods_supported"],
            json!([
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
                "none"
            ])
        );
    }
    let res = app
        .http
        .get(app.url("/t/no-such-tenant/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    let jwks = |slug: String| {
        let app = &app;
        async move {
            let keys: Value = app
                .http
                .get(app.url(&format!("/t/{slug}/jwks")))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            keys["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["kid"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let kids_a = jwks(slug.to_owned()).await;
    let kids_b = jwks(b["client"]["slug"].as_str().unwrap().to_owned()).await;
    assert!(!kids_a.is_empty() && !kids_b.is_empty());
    assert!(
        kids_a.iter().all(|k| !kids_b.contains(k)),
        "only the tenant's own keys"
    );
}

fn peer(script: &str) -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg(format!("{}/peers/{script}", env!("CARGO_MANIFEST_DIR")));
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_authenticates_with_private_key_jwt_and_each_assertion_works_once() {
    let app = authservice_tests::spawn_app().await;
    let client = app.new_client().await;
    let id = client["client"]["id"].as_str().unwrap();
    let slug = client["client"]["slug"].as_str().unwrap();
    let issuer = format!("http://localhost:8080/t/{slug}");

    let keygen = peer("private_key_jwt.py").arg("keygen").output().unwrap();
    assert!(
        keygen.status.success(),
        "{}",
        String::from_utf8_lossy(&keygen.stderr)
    );
    let keys: Value = serde_json::from_slice(&keygen.stdout).unwrap();
    let pem = std::env::temp_dir().join(format!("pkjwt-{}.pem", uuid::Uuid::new_v4().simple()));
    std::fs::write(&pem, keys["private_pem"].as_str().unwrap()).unwrap();
    let (status, registered) = admin(
        &app,
        Method::POST,
        &format!("/api/admin/clients/{id}/oidc-apps"),
        Some(json!({
            "name": "Batch importer",
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [keys["public_jwk"]]},
            "scopes": ["reports:read"],
        })),
    )
    .await;
    assert_eq!(status, 201, "{registered}");
    assert!(registered.get("client_secret").is_none());
    let app_id = registered["client_id"].as_str().unwrap();

    // Authlib signs the assertion (audience: the token endpoint) and introspects with it.
    let out = peer("private_key_jwt.py")
        .args(["grant", &app.url(&format!("/t/{slug}")), app_id])
        .arg(&pem)
        .args(["reports:read", "http://localhost:8080"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "Authlib private_key_jwt: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["introspected_client_id"], app_id);
    assert_eq!(report["token_use"], "client_credentials");

    let assertion = |aud: String, expires_in: &str| {
        let out = peer("private_key_jwt.py")
            .args(["assertion", app_id])
            .arg(&pem)
            .args([aud.as_str(), expires_in])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let post = |signed: String| {
        let app = &app;
        async move {
            let (status, _, body) = form(
                app,
                "/oauth/token",
                None,
                &[
                    ("grant_type", "client_credentials"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &signed),
                ],
            )
            .await;
            (status, body)
        }
    };
    // One assertion, used twice: the replay is refused.
    let signed = assertion(format!("{issuer}/token"), "60");
    let (status, body) = post(signed.clone()).await;
    assert_eq!(status, 200, "{body}");
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], app_id);
    assert_eq!(claims["azp"], app_id);
    assert_eq!(claims["token_use"], "client_credentials");
    assert_eq!(post(signed).await.0, 401, "a replayed assertion");
    // Another tenant's issuer as audience, or a lifetime beyond an hour: refused.
    assert_eq!(
        post(assertion(
            "http://localhost:8080/t/someone-else/token".into(),
            "60"
        ))
        .await
        .0,
        401
    );
    assert_eq!(
        post(assertion(format!("{issuer}/token"), "7200")).await.0,
        401
    );
    // The app has no secret to present instead.
    let (status, _, _) = form(
        &app,
        "/oauth/token",
        Some((app_id, "oidc_guess")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, 401);
    let reasons: Vec<String> = app
        .audit_events(&format!(
            "event_type=oauth.client_auth_failed&client_id={id}"
        ))
        .await
        .iter()
        .map(|e| {
            e["metadata"]["reason"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let _ = std::fs::remove_file(&pem);
    for reason in ["assertion_replayed", "bad_assertion", "wrong_method"] {
        assert!(
            reasons.iter().any(|r| r == reason),
            "{reason} in {reasons:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_or_enormous_oauth_requests_get_rfc6749_errors() {
    let app = authservice_tests::spawn_app().await;
    let (client, sa, secret) = machine(&app, json!(["jobs:run"]), None).await;
    let id = client["client"]["id"].as_str().unwrap();
    let raw = |content_type: &'static str, body: String| {
        let app = &app;
        async move {
            let res = app
                .http
                .post(app.url("/oauth/token"))
                .header("Content-Type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    for (content_type, body) in [
        ("application/json", "{not json".to_owned()),
        ("application/json", "[1, 2]".to_owned()),
        (
            "application/json",
            json!({"grant_type": "client_credentials", "scope": ["a"]}).to_string(),
        ),
        ("text/plain", "grant_type=client_credentials".to_owned()),
    ] {
        let (status, answer) = raw(content_type, body.clone()).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some("invalid_request")),
            "{content_type} {body}: {answer}"
        );
    }
    // A malformed Basic header is a failed client authentication.
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .header("Authorization", "Basic %%%")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // An enormous client_id is refused and audited only in part (64 characters).
    let huge = "a".repeat(100_000);
    let (status, _) = raw(
        "application/json",
        json!({"grant_type": "client_credentials", "client_id": format!("app_{huge}"), "client_secret": secret}).to_string(),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = raw(
        "application/json",
        json!({"grant_type": "client_credentials", "client_id": sa, "client_secret": huge})
            .to_string(),
    )
    .await;
    assert_eq!(status, 401);
    let failures = app
        .audit_events(&format!(
            "event_type=oauth.client_auth_failed&client_id={id}"
        ))
        .await;
    assert!(failures.iter().all(|e| e.to_string().len() < 4_000));
    // Beyond the 1 MiB body limit: refused before any parsing.
    let (status, _) = raw(
        "application/x-www-form-urlencoded",
        format!(
            "grant_type=client_credentials&scope={}",
            "a".repeat(2 * 1024 * 1024)
        ),
    )
    .await;
    assert_eq!(status, 413);
}
