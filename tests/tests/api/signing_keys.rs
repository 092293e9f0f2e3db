use authservice_tests::spawn_app;
use reqwest::Method;
use serde_json::{Value, json};

use crate::auth_helpers::{PASSWORD, call, key_of, signup};

async fn keys(app: &authservice_tests::TestApp, id: &str) -> Vec<Value> {
    let res = app
        .admin(
            Method::GET,
            &format!("/api/admin/clients/{id}/signing-keys"),
            None,
        )
        .await;
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["keys"]
        .as_array()
        .unwrap()
        .clone()
}

async fn jwks_count(app: &authservice_tests::TestApp, key: &str) -> usize {
    let jwks: Value = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .header("X-API-Key", key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"].as_array().unwrap().len()
}

async fn login(app: &authservice_tests::TestApp, key: &str) -> String {
    let res = call(
        app,
        Method::POST,
        "/api/auth/login",
        key,
        Some(json!({"email": "keys@example.com", "password": PASSWORD, "token_transport": "json"})),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_with_overlap_keeps_old_tokens_valid_until_the_key_retires() {
    let app = spawn_app().await;
    let created = app.new_client().await;
    let key = key_of(&created);
    let id = created["client"]["id"].as_str().unwrap();
    let first_token = signup(&app, &key, "keys@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let initial = keys(&app, id).await;
    assert_eq!(initial.len(), 1);
    assert_eq!(initial[0]["status"], "active");
    assert_eq!(initial[0]["alg"], "ES256");
    assert!(initial[0]["retires_at"].is_null());

    // Rotate to EdDSA with the default 24 h overlap.
    let res = app
        .admin(
            Method::POST,
            &format!("/api/admin/clients/{id}/signing-keys/rotate"),
            Some(json!({"algorithm": "EdDSA"})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let after: Vec<Value> = res.json::<Value>().await.unwrap()["keys"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(after.len(), 2);
    assert_eq!(after[0]["status"], "active");
    assert_eq!(after[0]["alg"], "EdDSA");
    assert_eq!(after[1]["kid"], initial[0]["kid"]);
    assert_eq!(after[1]["status"], "published");
    assert!(after[1]["retires_at"].is_string());
    assert_eq!(
        jwks_count(&app, &key).await,
        2,
        "the old key stays published"
    );

    // Old tokens still validate; new ones are signed by the new key.
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/api/auth/me",
            &key,
            None,
            Some(&first_token)
        )
        .await
        .status(),
        200
    );
    let second_token = login(&app, &key).await;
    assert_ne!(
        second_token.split('.').next(),
        first_token.split('.').next(),
        "new header (kid, alg)"
    );
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/api/auth/me",
            &key,
            None,
            Some(&second_token)
        )
        .await
        .status(),
        200
    );

    // Rotate again with no overlap: the EdDSA key is retired at once and its tokens fail.
    let res = app
        .admin(
            Method::POST,
            &format!("/api/admin/clients/{id}/signing-keys/rotate"),
            Some(json!({"overlap_hours": 0})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let statuses: Vec<String> = keys(&app, id)
        .await
        .iter()
        .map(|k| k["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, vec!["active", "retired", "published"]);
    let res = call(
        &app,
        Method::GET,
        "/api/auth/me",
        &key,
        None,
        Some(&second_token),
    )
    .await;
    assert_eq!(res.status(), 401, "a retired key's tokens fail");
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/api/auth/me",
            &key,
            None,
            Some(&first_token)
        )
        .await
        .status(),
        200,
        "the first key is still in its overlap"
    );
    assert_eq!(
        jwks_count(&app, &key).await,
        2,
        "retired keys leave the JWKS"
    );
    let third_token = login(&app, &key).await;
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/api/auth/me",
            &key,
            None,
            Some(&third_token)
        )
        .await
        .status(),
        200
    );

    assert_eq!(
        app.audit_events(&format!("event_type=signing_key.rotated&client_id={id}"))
            .await
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rotation_input_is_validated() {
    let app = spawn_app().await;
    let created = app.new_client().await;
    let id = created["client"]["id"].as_str().unwrap();
    for body in [
        json!({"overlap_hours": 1000}),
        json!({"overlap_hours": -1}),
        json!({"algorithm": "HS256"}),
    ] {
        let res = app
            .admin(
                Method::POST,
                &format!("/api/admin/clients/{id}/signing-keys/rotate"),
                Some(body),
            )
            .await;
        assert_eq!(res.status(), 400);
    }
    let res = app
        .admin(
            Method::POST,
            "/api/admin/clients/0190a7c4-0000-7000-8000-000000000000/signing-keys/rotate",
            None,
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = app
        .http
        .get(app.url(&format!("/api/admin/clients/{id}/signing-keys")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}
