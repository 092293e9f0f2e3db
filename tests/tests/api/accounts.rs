use std::process::Command;

use authservice_tests::spawn_app;
use reqwest::Method;
use serde_json::{Value, json};

use crate::auth_helpers::{PASSWORD, b64url_decode, b64url_encode, call, key_of, signup};

#[tokio::test(flavor = "multi_thread")]
async fn signup_login_me_refresh_logout_lifecycle() {
    let app = spawn_app().await;
    let client = app.new_client().await;
    let key = key_of(&client);

    let signed_up = signup(&app, &key, "Ada@Example.com").await;
    assert_eq!(signed_up["token_type"], "Bearer");
    assert_eq!(signed_up["expires_in"], 900);
    assert_eq!(signed_up["refresh"]["transport"], "json");
    assert_eq!(signed_up["refresh"]["expires_in"], 168 * 3600);
    assert_eq!(signed_up["user"]["email"], "ada@example.com");
    assert_eq!(signed_up["user"]["email_verified"], false);
    assert_eq!(signed_up["refresh_token"].as_str().unwrap().len(), 64);

    let access = signed_up["access_token"].as_str().unwrap();
    let res = call(&app, Method::GET, "/api/auth/me", &key, None, Some(access)).await;
    assert_eq!(res.status(), 200);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["id"], signed_up["user"]["id"]);
    assert_eq!(me["display_name"], "Ada Lovelace");

    // No token, garbage token.
    let res = call(&app, Method::GET, "/api/auth/me", &key, None, None).await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "missing_token");
    let res = call(
        &app,
        Method::GET,
        "/api/auth/me",
        &key,
        None,
        Some("not.a.jwt"),
    )
    .await;
    assert_eq!(res.status(), 401);

    // Login, then rotate.
    let res = call(
        &app,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(json!({"email": "ada@example.com", "password": PASSWORD, "token_transport": "json"})),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let logged_in: Value = res.json().await.unwrap();
    let first = logged_in["refresh_token"].as_str().unwrap().to_owned();
    let res = call(
        &app,
        Method::POST,
        "/api/auth/refresh",
        &key,
        Some(json!({"refresh_token": first})),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let rotated: Value = res.json().await.unwrap();
    let second = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    assert_eq!(
        rotated["session_id"], logged_in["session_id"],
        "same family"
    );
    let res = call(
        &app,
        Method::GET,
        "/api/auth/me",
        &key,
        None,
        rotated["access_token"].as_str(),
    )
    .await;
    assert_eq!(res.status(), 200);

    // Logout ends the session; its token no longer refreshes.
    let res = call(
        &app,
        Method::POST,
        "/api/auth/logout",
        &key,
        Some(json!({"refresh_token": second})),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = call(
        &app,
        Method::POST,
        "/api/auth/refresh",
        &key,
        Some(json!({"refresh_token": second})),
        None,
    )
    .await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "invalid_refresh_token"
    );

    // Audited.
    let client_id = client["client"]["id"].as_str().unwrap();
    for event in [
        "user.signed_up",
        "user.login_succeeded",
        "session.refreshed",
        "session.logged_out",
    ] {
        let events = app
            .audit_events(&format!("client_id={client_id}&event_type={event}"))
            .await;
        assert!(!events.is_empty(), "{event} not audited");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reusing_a_refresh_token_revokes_the_family() {
    let app = spawn_app().await;
    let key = key_of(&app.new_client().await);
    let first = signup(&app, &key, "reuse@example.com").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = call(
        &app,
        Method::POST,
        "/api/auth/refresh",
        &key,
        Some(json!({"refresh_token": first})),
        None,
    )
    .await;
    let second = res.json::<Value>().await.unwrap()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // The consumed token again: reuse.
    let res = call(
        &app,
        Method::POST,
        "/api/auth/refresh",
        &key,
        Some(json!({"refresh_token": first})),
        None,
    )
    .await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "refresh_token_reused"
    );
    // The whole family is gone, including the token issued by the honest rotation.
    let res = call(
        &app,
        Method::POST,
        "/api/auth/refresh",
        &key,
        Some(json!({"refresh_token": second})),
        None,
    )
    .await;
    assert_eq!(res.status(), 401);
    let reuse = app.audit_events("event_type=session.refresh_reused").await;
    assert_eq!(reuse.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_concurrent_refreshes_of_one_token_exactly_one_succeeds() {
    let app = spawn_app().await;
    let key = key_of(&app.new_client().await);
    let token = signup(&app, &key, "race@example.com").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let req = app
                .http
                .post(app.url("/api/auth/refresh"))
                .header("X-API-Key", &key)
                .json(&json!({"refresh_token": token}))
                .send();
            tokio::spawn(req)
        })
        .collect();
    let mut ok = 0;
    for handle in handles {
        let status = handle.await.unwrap().unwrap().status();
        if status == 200 {
            ok += 1;
        } else {
            assert_eq!(status, 401);
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_of_one_client_are_refused_with_another_clients_key() {
    let app = spawn_app().await;
    let key_a = key_of(&app.new_client().await);
    let key_b = key_of(&app.new_client().await);
    let a = signup(&app, &key_a, "shared@example.com").await;
    // The same email in client B is another user.
    let b = signup(&app, &key_b, "shared@example.com").await;
    assert_ne!(a["user"]["id"], b["user"]["id"]);

    let res = call(
        &app,
        Method::GET,
        "/api/auth/me",
        &key_b,
        None,
        a["access_token"].as_str(),
    )
    .await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "token_client_mismatch"
    );
    // A's refresh token is refused with B's key, without being consumed.
    let res = call(
        &app,
        Method::POST,
        "/api/auth/refresh",
        &key_b,
        Some(json!({"refresh_token": a["refresh_token"]})),
        None,
    )
    .await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "token_client_mismatch"
    );
    let res = call(
        &app,
        Method::POST,
        "/api/auth/logout",
        &key_b,
        Some(json!({"refresh_token": a["refresh_token"]})),
        None,
    )
    .await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "token_client_mismatch"
    );
    // ... and still works for A.
    let res = call(
        &app,
        Method::POST,
        "/api/auth/refresh",
        &key_a,
        Some(json!({"refresh_token": a["refresh_token"]})),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);

    // Duplicate email within one client.
    let res = call(
        &app,
        Method::POST,
        "/api/auth/signup",
        &key_a,
        Some(json!({"email": "SHARED@example.com", "password": PASSWORD})),
        None,
    )
    .await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "email_taken");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_email_and_wrong_password_answer_identically() {
    let app = spawn_app().await;
    let key = key_of(&app.new_client().await);
    signup(&app, &key, "known@example.com").await;
    let mut answers = Vec::new();
    for email in ["known@example.com", "nobody@example.com"] {
        let res = call(
            &app,
            Method::POST,
            "/api/auth/login",
            &key,
            Some(json!({"email": email, "password": "Wrong-password-123"})),
            None,
        )
        .await;
        let status = res.status();
        let mut body: Value = res.json().await.unwrap();
        body.as_object_mut().unwrap().remove("request_id");
        answers.push((status, body));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, 401);
    assert_eq!(answers[0].1["auth_code"], "AUTH_INVALID_CREDENTIALS");
    let failed = app.audit_events("event_type=user.login_failed").await;
    let reasons: Vec<&str> = failed
        .iter()
        .map(|e| e["metadata"]["reason"].as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"unknown_email") && reasons.contains(&"wrong_password"));
    assert!(
        !serde_json::to_string(&failed)
            .unwrap()
            .contains("Wrong-password-123")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_broken_password_rule_is_listed() {
    let app = spawn_app().await;
    let key = key_of(&app.new_client().await);
    let cases = [
        ("aA1!", vec!["too_short"]),
        ("password123", vec!["common_password"]),
        ("aaaaaaaaaaaa", vec!["too_few_unique_characters"]),
        ("Jonathan-Harbor-88", vec!["contains_user_info"]),
    ];
    for (password, expected) in cases {
        let res = call(
            &app,
            Method::POST,
            "/api/auth/signup",
            &key,
            Some(json!({"email": "jonathan@example.com", "password": password})),
            None,
        )
        .await;
        assert_eq!(res.status(), 422, "{password}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "password_policy");
        let rules: Vec<&str> = body["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["rule"].as_str().unwrap())
            .collect();
        for rule in expected {
            assert!(rules.contains(&rule), "{password}: {rules:?}");
        }
    }
    let long = "Zq9!".repeat(19);
    let res = call(
        &app,
        Method::POST,
        "/api/auth/signup",
        &key,
        Some(json!({"email": "long@example.com", "password": long})),
        None,
    )
    .await;
    let body: Value = res.json().await.unwrap();
    assert!(body["details"].to_string().contains("too_long"));
}

#[tokio::test(flavor = "multi_thread")]
async fn disposable_email_domains_are_blocked_and_audited() {
    let app = spawn_app().await;
    let key = key_of(&app.new_client().await);
    let res = call(
        &app,
        Method::POST,
        "/api/auth/signup",
        &key,
        Some(json!({"email": "temp@mailinator.com", "password": PASSWORD})),
        None,
    )
    .await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "email_domain_blocked"
    );
    let blocked = app.audit_events("event_type=user.signup_blocked").await;
    assert_eq!(blocked.len(), 1);
    assert_eq!(blocked[0]["metadata"]["domain"], "mailinator.com");
}

#[tokio::test(flavor = "multi_thread")]
async fn signup_and_login_are_rate_limited_per_ip() {
    let app = spawn_app().await;
    let key = key_of(&app.new_client().await);
    for i in 0..5 {
        signup(&app, &key, &format!("user{i}@example.com")).await;
    }
    let res = call(
        &app,
        Method::POST,
        "/api/auth/signup",
        &key,
        Some(json!({"email": "user5@example.com", "password": PASSWORD})),
        None,
    )
    .await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("retry-after").is_some());
    for _ in 0..10 {
        let res = call(
            &app,
            Method::POST,
            "/api/auth/login",
            &key,
            Some(json!({"email": "user0@example.com", "password": "nope-nope-nope"})),
            None,
        )
        .await;
        assert_eq!(res.status(), 401);
    }
    let res = call(
        &app,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(json!({"email": "user0@example.com", "password": PASSWORD})),
        None,
    )
    .await;
    assert_eq!(res.status(), 429);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_rate_limit_takes_a_count_and_a_window_from_its_setting() {
    let app = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![
            ("LOGIN_RATE_LIMIT", "2/2s".to_owned()),
            ("PASSKEY_BEGIN_RATE_LIMIT", "1".to_owned()),
        ],
        ..Default::default()
    })
    .await;
    let key = key_of(&app.new_client().await);
    let login = || {
        call(
            &app,
            Method::POST,
            "/api/auth/login",
            &key,
            Some(json!({"email": "nobody@example.com", "password": "nope-nope-nope"})),
            None,
        )
    };
    for _ in 0..2 {
        assert_eq!(login().await.status(), 401);
    }
    let limited = login().await;
    assert_eq!(limited.status(), 429);
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    // The 2 s window slides: the limit is the configured one, not the 15-minute default.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(login().await.status(), 401);

    // A count alone keeps the default window (a minute): one ceremony, then 429.
    let begin = || {
        call(
            &app,
            Method::POST,
            "/api/auth/passkey/login/begin",
            &key,
            Some(json!({})),
            None,
        )
    };
    assert_eq!(begin().await.status(), 200);
    let limited = begin().await;
    assert_eq!(limited.status(), 429);
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((50..=60).contains(&retry), "Retry-After {retry}");
}

#[tokio::test(flavor = "multi_thread")]
async fn v1_hs256_clients_sign_with_their_secret_and_rotation_invalidates_tokens() {
    let app = spawn_app().await;
    let created = app
        .create_client(json!({"name": "Legacy", "slug": "legacy", "token_mode": "v1_hs256"}))
        .await;
    let key = key_of(&created);
    let id = created["client"]["id"].as_str().unwrap();
    let tokens = signup(&app, &key, "legacy@example.com").await;
    let access = tokens["access_token"].as_str().unwrap();
    let header: Value =
        serde_json::from_slice(&b64url_decode(access.split('.').next().unwrap())).unwrap();
    assert_eq!(header["alg"], "HS256");
    assert_eq!(
        call(&app, Method::GET, "/api/auth/me", &key, None, Some(access))
            .await
            .status(),
        200
    );

    app.admin(
        Method::POST,
        &format!("/api/admin/clients/{id}/rotate-secret"),
        None,
    )
    .await;
    let res = call(&app, Method::GET, "/api/auth/me", &key, None, Some(access)).await;
    assert_eq!(
        res.status(),
        401,
        "a token signed with the old secret must fail"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn jwks_publishes_active_keys_and_pyjwt_verifies_our_tokens() {
    // Every client's keys at the bare URL only with the setting that restores it.
    let app = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![("JWKS_PUBLISH_ALL", "true".to_owned())],
        ..Default::default()
    })
    .await;
    let a = app.new_client().await;
    let b = app.new_client().await;
    let key_a = key_of(&a);
    let id_a = a["client"]["id"].as_str().unwrap();

    let res = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=300, stale-while-revalidate=60"
    );
    let all: Value = res.json().await.unwrap();
    assert_eq!(all["keys"].as_array().unwrap().len(), 2);
    for key in all["keys"].as_array().unwrap() {
        assert_eq!(key["kty"], "EC");
        assert_eq!(key["alg"], "ES256");
        assert!(key.get("d").is_none(), "no private material");
    }
    let mine: Value = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .header("X-API-Key", &key_a)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["keys"].as_array().unwrap().len(), 1);
    let by_id: Value = app
        .http
        .get(app.url(&format!("/.well-known/jwks.json?client_id={id_a}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_id, mine);

    // A suspended client's keys are withdrawn.
    let id_b = b["client"]["id"].as_str().unwrap();
    app.admin(
        Method::PATCH,
        &format!("/api/admin/clients/{id_b}"),
        Some(json!({"status": "suspended"})),
    )
    .await;
    let all: Value = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["keys"].as_array().unwrap().len(), 1);

    // An independent implementation verifies a token against the live JWKS.
    let tokens = signup(&app, &key_a, "pyjwt@example.com").await;
    let access = tokens["access_token"].as_str().unwrap();
    let output = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/peers/verify_jwt.py"))
        .arg(app.url(&format!("/.well-known/jwks.json?client_id={id_a}")))
        .arg(access)
        .arg("http://localhost:8080")
        .arg(id_a)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "PyJWT rejected the token: {stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let claims: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(claims["sub"], tokens["user"]["id"]);
    assert_eq!(claims["client_id"], id_a);
    assert_eq!(claims["email"], "pyjwt@example.com");
    for claim in ["iat", "exp", "jti", "email_verified", "role", "iss", "aud"] {
        assert!(claims.get(claim).is_some(), "{claim} missing");
    }

    // PyJWT refuses a tampered token.
    // (A character in the middle of the signature: the last one may only carry padding bits.)
    let (signed, signature) = access.rsplit_once('.').unwrap();
    let mut sig: Vec<char> = signature.chars().collect();
    let mid = sig.len() / 2;
    sig[mid] = if sig[mid] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{signed}.{}", sig.into_iter().collect::<String>());
    let output = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/peers/verify_jwt.py"))
        .arg(app.url(&format!("/.well-known/jwks.json?client_id={id_a}")))
        .arg(&tampered)
        .arg("http://localhost:8080")
        .arg(id_a)
        .output()
        .unwrap();
    assert!(!output.status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn rs256_and_eddsa_clients_are_verified_by_pyjwt_and_alg_confusion_is_refused() {
    let app = spawn_app().await;
    for (alg, kty) in [("RS256", "RSA"), ("EdDSA", "OKP"), ("ES256", "EC")] {
        let slug = format!("alg-{}", alg.to_lowercase());
        let created = app
            .create_client(json!({"name": alg, "slug": slug, "signing_algorithm": alg}))
            .await;
        let key = key_of(&created);
        let id = created["client"]["id"].as_str().unwrap();
        let jwks: Value = app
            .http
            .get(app.url("/.well-known/jwks.json"))
            .header("X-API-Key", &key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(jwks["keys"][0]["kty"], kty);
        assert_eq!(jwks["keys"][0]["alg"], alg);
        let tokens = signup(&app, &key, &format!("{}@example.com", slug)).await;
        let access = tokens["access_token"].as_str().unwrap();
        let header: Value =
            serde_json::from_slice(&b64url_decode(access.split('.').next().unwrap())).unwrap();
        assert_eq!(header["alg"], alg);
        assert_eq!(
            call(&app, Method::GET, "/api/auth/me", &key, None, Some(access))
                .await
                .status(),
            200
        );
        let output = Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/peers/verify_jwt.py"))
            .arg(app.url(&format!("/.well-known/jwks.json?client_id={id}")))
            .arg(access)
            .arg("http://localhost:8080")
            .arg(id)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{alg}: {}",
            String::from_utf8_lossy(&output.stdout)
        );

        // The same claims re-signed with alg "none", or as HS256 with the public key as the
        // secret (the classic confusion), are refused.
        let payload = access.split('.').nth(1).unwrap();
        let none = format!(
            "{}.{payload}.",
            b64url_encode(br#"{"alg":"none","typ":"JWT"}"#)
        );
        let res = call(&app, Method::GET, "/api/auth/me", &key, None, Some(&none)).await;
        assert_eq!(res.status(), 401, "{alg}: alg none accepted");
        let kid = header["kid"].as_str().unwrap();
        let hs = format!(
            "{}.{payload}.{}",
            b64url_encode(format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#).as_bytes()),
            b64url_encode(b"forged")
        );
        let res = call(&app, Method::GET, "/api/auth/me", &key, None, Some(&hs)).await;
        assert_eq!(res.status(), 401, "{alg}: HS256 confusion accepted");
        assert_eq!(
            res.json::<Value>().await.unwrap()["code"],
            "algorithm_not_allowed"
        );
    }
    let res = app
        .admin(
            Method::POST,
            "/api/admin/clients",
            Some(json!({"name": "Bad", "signing_algorithm": "HS512"})),
        )
        .await;
    assert_eq!(res.status(), 400);
}

fn claims_of(access: &str) -> Value {
    serde_json::from_slice(&b64url_decode(access.split('.').nth(1).unwrap())).unwrap()
}

async fn refresh(app: &authservice_tests::TestApp, key: &str, token: &Value) -> reqwest::Response {
    call(
        app,
        Method::POST,
        "/api/auth/refresh",
        key,
        Some(json!({"refresh_token": token})),
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stolen_refresh_chain_ends_at_the_sessions_maximum_lifetime() {
    // A client with a one-hour session lifetime (the idle timeout stays 7 days).
    let app = spawn_app().await;
    let created = app
        .create_client(json!({"name": "Short", "settings": {"session_max_lifetime": "1h"}}))
        .await;
    let key = key_of(&created);
    let signed_up = signup(&app, &key, "lifetime@example.com").await;
    let expires_in = signed_up["refresh"]["expires_in"].as_u64().unwrap();
    assert!((3590..=3600).contains(&expires_in), "{expires_in}");
    let res = refresh(&app, &key, &signed_up["refresh_token"]).await;
    assert_eq!(res.status(), 200);
    let rotated: Value = res.json().await.unwrap();
    assert!(rotated["refresh"]["expires_in"].as_u64().unwrap() <= 3600);

    // Two hours later (the session's rows moved back in time), refreshing no longer works,
    // however recently the token was issued.
    app.query_text(
        "UPDATE sessions SET started_at = started_at - interval '2 hours', \
         created_at = created_at - interval '2 hours', expires_at = expires_at - interval '2 hours' \
         RETURNING id::text AS value",
    )
    .await;
    let res = refresh(&app, &key, &rotated["refresh_token"]).await;
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "invalid_refresh_token");
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_follow_the_idle_timeout_and_never_outlive_their_lifetime() {
    let app = spawn_app().await;
    let created = app
        .create_client(json!({"name": "Idle", "settings": {
            "session_idle_timeout": 600, "session_max_lifetime": "5m"
        }}))
        .await;
    let key = key_of(&created);
    let id = created["client"]["id"].as_str().unwrap().to_owned();
    let signed_up = signup(&app, &key, "idle@example.com").await;
    // The lifetime (5 min) is shorter than the idle timeout and the access-token TTL.
    let expires_in = signed_up["refresh"]["expires_in"].as_u64().unwrap();
    assert!((290..=300).contains(&expires_in), "{expires_in}");
    let claims = claims_of(signed_up["access_token"].as_str().unwrap());
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!(
        (290..=300).contains(&lifetime),
        "access token lives {lifetime}s"
    );

    // A longer lifetime: the idle timeout (10 min) sets each refresh token's expiry.
    let res = app
        .admin(
            Method::PATCH,
            &format!("/api/admin/clients/{id}"),
            Some(json!({"settings": {"session_max_lifetime": "30d"}})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let login = call(
        &app,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(json!({"email": "idle@example.com", "password": PASSWORD, "token_transport": "json"})),
        None,
    )
    .await;
    assert_eq!(login.status(), 200);
    let login: Value = login.json().await.unwrap();
    assert_eq!(login["refresh"]["expires_in"], 600);
    let rotated: Value = refresh(&app, &key, &login["refresh_token"])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rotated["refresh"]["expires_in"], 600);
    let claims = claims_of(rotated["access_token"].as_str().unwrap());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );

    // Nonsense values are refused when the client is written, naming the key.
    for bad in [json!("5s"), json!("forever"), json!(-1), json!(true)] {
        let res = app
            .admin(
                Method::PATCH,
                &format!("/api/admin/clients/{id}"),
                Some(json!({"settings": {"session_idle_timeout": bad}})),
            )
            .await;
        assert_eq!(res.status(), 422, "{bad}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "invalid_setting", "{body}");
        assert_eq!(body["details"]["setting"], "session_idle_timeout", "{body}");
    }
}
