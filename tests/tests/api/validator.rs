//! The authservice-validator crate against a live server.

use std::process::Command;
use std::time::Duration;

use authservice_tests::{TcpProxy, TestApp, spawn_app};
use authservice_validator::{JwksOptions, ValidationError, Validator, ValidatorOptions};
use reqwest::Method;
use serde_json::{Value, json};

use crate::auth_helpers::{PASSWORD, call, key_of, signup};

const ISSUER: &str = "http://localhost:8080";

fn options(client_id: &str) -> ValidatorOptions {
    ValidatorOptions {
        issuer: Some(ISSUER.to_owned()),
        audience: Some(client_id.to_owned()),
        client_id: Some(client_id.to_owned()),
        ..ValidatorOptions::default()
    }
}

async fn jwks_fetches(app: &TestApp) -> u64 {
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("http_requests_total{") && l.contains(r#"route="/.well-known/jwks.json""#)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

async fn login(app: &TestApp, key: &str, email: &str) -> String {
    let res = call(
        app,
        Method::POST,
        "/api/auth/login",
        key,
        Some(json!({"email": email, "password": PASSWORD, "token_transport": "json"})),
        None,
    )
    .await;
    res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn with_kid(token: &str, kid: &str) -> String {
    use base64_like::encode;
    let mut parts = token.split('.');
    let (_, payload, sig) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    format!(
        "{}.{payload}.{sig}",
        encode(format!(r#"{{"alg":"ES256","typ":"JWT","kid":"{kid}"}}"#).as_bytes())
    )
}

mod base64_like {
    pub fn encode(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
                << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn validates_live_tokens_refetches_unknown_kids_and_limits_refetches() {
    let app = spawn_app().await;
    let created = app.new_client().await;
    let key = key_of(&created);
    let id = created["client"]["id"].as_str().unwrap().to_owned();
    let first = signup(&app, &key, "validator@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = app.url(&format!("/.well-known/jwks.json?client_id={id}"));
    let validator = Validator::jwks(
        &url,
        options(&id),
        JwksOptions {
            min_refetch_interval: Duration::from_millis(300),
            ..JwksOptions::default()
        },
    );

    let claims = validator.validate(&first).await.expect("valid");
    assert_eq!(claims.client_id, id);
    assert_eq!(claims.email, "validator@example.com");
    assert_eq!(jwks_fetches(&app).await, 1);
    // Cached: no more fetches.
    for _ in 0..5 {
        validator.validate(&first).await.unwrap();
    }
    assert_eq!(jwks_fetches(&app).await, 1);

    // Wrong audience / client, tampered signature.
    let strict = Validator::jwks(&url, options("someone-else"), JwksOptions::default());
    assert_eq!(
        strict.validate(&first).await.unwrap_err(),
        ValidationError::WrongAudience
    );
    let (signed, signature) = first.rsplit_once('.').unwrap();
    let mut sig: Vec<char> = signature.chars().collect();
    let mid = sig.len() / 2;
    sig[mid] = if sig[mid] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{signed}.{}", sig.into_iter().collect::<String>());
    assert_eq!(
        validator.validate(&tampered).await.unwrap_err(),
        ValidationError::BadSignature
    );

    // Unknown kids inside the refetch interval: refused without hammering the endpoint.
    let before = jwks_fetches(&app).await;
    for i in 0..20 {
        let forged = with_kid(&first, &format!("forged-{i}"));
        assert_eq!(
            validator.validate(&forged).await.unwrap_err(),
            ValidationError::UnknownKey
        );
    }
    assert!(
        jwks_fetches(&app).await - before <= 1,
        "at most one refetch within the interval"
    );

    // A rotation: the new kid is fetched on first sight (once the interval has passed).
    app.admin(
        Method::POST,
        &format!("/api/admin/clients/{id}/signing-keys/rotate"),
        Some(json!({})),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    let second = login(&app, &key, "validator@example.com").await;
    validator.validate(&second).await.expect("new key fetched");
    validator
        .validate(&first)
        .await
        .expect("old key still published");
}

#[tokio::test(flavor = "multi_thread")]
async fn cached_keys_keep_working_while_the_jwks_endpoint_is_down() {
    let app = spawn_app().await;
    let created = app.new_client().await;
    let key = key_of(&created);
    let id = created["client"]["id"].as_str().unwrap().to_owned();
    let token = signup(&app, &key, "offline@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let upstream = app.address.trim_start_matches("http://").to_owned();
    let proxy = TcpProxy::start(&upstream).await;
    let url = format!("http://127.0.0.1:{}/.well-known/jwks.json", proxy.port);
    let validator = Validator::jwks(
        &url,
        options(&id),
        JwksOptions {
            ttl: Duration::from_millis(100),
            min_refetch_interval: Duration::from_millis(50),
            timeout: Duration::from_millis(500),
            ..JwksOptions::default()
        },
    );
    validator
        .validate(&token)
        .await
        .expect("valid while the endpoint is up");
    proxy.disable();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Past the TTL, the refetch fails, the stale keys are still used.
    validator
        .validate(&token)
        .await
        .expect("stale keys used while the endpoint is down");
    // A validator that never reached the endpoint cannot validate.
    let cold = Validator::jwks(
        &url,
        options(&id),
        JwksOptions {
            timeout: Duration::from_millis(300),
            ..JwksOptions::default()
        },
    );
    assert_eq!(
        cold.validate(&token).await.unwrap_err(),
        ValidationError::KeysUnavailable
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn validator_and_pyjwt_agree_on_a_corpus() {
    let app = spawn_app().await;
    let created = app.new_client().await;
    let key = key_of(&created);
    let id = created["client"]["id"].as_str().unwrap().to_owned();
    let other = app.new_client().await;
    let good = signup(&app, &key, "corpus@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let foreign = signup(&app, &key_of(&other), "corpus@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (signed, signature) = good.rsplit_once('.').unwrap();
    let mut sig: Vec<char> = signature.chars().collect();
    let mid = sig.len() / 2;
    sig[mid] = if sig[mid] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{signed}.{}", sig.into_iter().collect::<String>());
    let payload = good.split('.').nth(1).unwrap();
    let none = format!(
        "{}.{payload}.",
        base64_like::encode(br#"{"alg":"none","typ":"JWT"}"#)
    );
    let corpus = [
        ("good", good.clone(), true),
        ("tampered", tampered, false),
        ("alg none", none, false),
        ("unknown kid", with_kid(&good, "nope"), false),
        ("other client", foreign, false),
        ("garbage", "not.a.jwt".to_owned(), false),
    ];
    let jwks = app.url("/.well-known/jwks.json");
    let validator = Validator::jwks(
        &jwks,
        options(&id),
        JwksOptions {
            min_refetch_interval: Duration::ZERO,
            ..JwksOptions::default()
        },
    );
    for (name, token, expected) in corpus {
        let ours = validator.validate(&token).await.is_ok();
        let theirs = Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/peers/verify_jwt.py"))
            .arg(&jwks)
            .arg(&token)
            .arg(ISSUER)
            .arg(&id)
            .output()
            .unwrap()
            .status
            .success();
        assert_eq!(ours, expected, "validator on {name}");
        assert_eq!(theirs, expected, "PyJWT on {name}");
    }
}
