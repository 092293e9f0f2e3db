//! Passkeys end to end in headless Chromium (playwright-core, CDP virtual authenticator):
//! registration, usernameless and email-first login, passkey as a second factor, a tampered
//! signature, a credential of another client, a sign-count regression, attestation policy.

use authservice_tests::browser::Browser;
use authservice_tests::{TestApp, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

use crate::auth_helpers::{call, key_of, signup};
use crate::mfa::{challenge, enrol_totp};

/// A client whose relying party is this app on localhost.
async fn webauthn_client(app: &TestApp, extra: Value) -> String {
    let base = app.localhost_base();
    let mut settings = json!({ "webauthn_rp_id": "localhost", "webauthn_rp_origin": base });
    if let (Some(s), Some(e)) = (settings.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    let slug = format!("pk-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    key_of(
        &app.create_client(json!({
            "name": "Passkey App",
            "slug": slug,
            "allowed_origins": [base],
            "settings": settings,
        }))
        .await,
    )
}

fn code(answer: &Value) -> (u64, &str) {
    (
        answer["status"].as_u64().unwrap_or_default(),
        answer["body"]["code"].as_str().unwrap_or_default(),
    )
}

fn no_console_errors(answer: &Value) {
    let errors = answer["console_errors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    // Failed fetches the test provokes on purpose are logged by Chromium as resource errors.
    assert!(
        errors.iter().all(|e| e
            .as_str()
            .unwrap_or_default()
            .contains("Failed to load resource")),
        "console errors: {errors:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn passkeys_register_and_log_in_in_chromium() {
    let app = spawn_app().await;
    let key = webauthn_client(&app, json!({})).await;
    let access = signup(&app, &key, "pia@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut browser = Browser::launch(&app.localhost_base()).await;

    let registered = browser
        .step(json!({ "op": "register", "key": key, "access": access, "name": "Laptop" }))
        .await;
    assert_eq!(registered["status"], 201, "{registered}");
    no_console_errors(&registered);
    let passkey_id = registered["body"]["passkey"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(registered["body"]["passkey"]["attestation_format"], "none");
    // The owner is told (no SMTP here: the development folder receives the message).
    let mail_dir = std::env::temp_dir()
        .join("authservice-test-mail")
        .join(&app.database);
    let mut told = false;
    for _ in 0..100 {
        told = std::fs::read_dir(&mail_dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|f| {
                std::fs::read_to_string(f.path())
                    .is_ok_and(|m| m.contains("A new passkey can now be used to sign in"))
            });
        if told {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(told, "no 'passkey added' notice in {}", mail_dir.display());

    // Listed, renamed.
    let list = call(
        &app,
        Method::GET,
        "/api/auth/passkeys",
        &key,
        None,
        Some(&access),
    )
    .await;
    let list: Value = list.json().await.unwrap();
    assert_eq!(list["passkeys"].as_array().unwrap().len(), 1);
    let res = call(
        &app,
        Method::PATCH,
        &format!("/api/auth/passkeys/{passkey_id}"),
        &key,
        Some(json!({ "name": "Work laptop" })),
        Some(&access),
    )
    .await;
    assert_eq!(res.status(), 200);
    let list: Value = call(
        &app,
        Method::GET,
        "/api/auth/passkeys",
        &key,
        None,
        Some(&access),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(list["passkeys"][0]["name"], "Work laptop");

    // A passkey is a second factor: a password login now answers a challenge.
    let res = call(
        &app,
        Method::POST,
        "/api/auth/login",
        &key,
        Some(json!({ "email": "pia@example.com", "password": crate::auth_helpers::PASSWORD, "token_transport": "json" })),
        None,
    )
    .await;
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["requires_2fa"], true, "{answer}");
    assert_eq!(answer["two_factor_methods"], json!(["passkey"]));

    // Usernameless (discoverable) login, then email-first.
    let login = browser.step(json!({ "op": "login", "key": key })).await;
    assert_eq!(login["status"], 200, "{login}");
    assert_eq!(login["body"]["user"]["email"], "pia@example.com");
    assert!(login["body"]["access_token"].as_str().is_some());
    no_console_errors(&login);
    let login = browser
        .step(json!({ "op": "login", "key": key, "email": "pia@example.com" }))
        .await;
    assert_eq!(login["status"], 200, "{login}");
    // Email-first with another account's address: Pia's passkey does not sign in as Quinn.
    signup(&app, &key, "quinn@example.com").await;
    let mismatch = browser
        .step(json!({ "op": "login", "key": key, "email": "quinn@example.com" }))
        .await;
    assert_eq!(
        code(&mismatch),
        (401, "passkey_verification_failed"),
        "{mismatch}"
    );
    let logins = app.audit_events("event_type=user.login_succeeded").await;
    assert!(logins.iter().any(|e| e["metadata"]["method"] == "passkey"));

    // A tampered signature is refused.
    let tampered = browser
        .step(json!({ "op": "login", "key": key, "tamper": true }))
        .await;
    assert_eq!(
        code(&tampered),
        (401, "passkey_verification_failed"),
        "{tampered}"
    );
    assert!(
        tampered["body"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("assertion refused"),
        "refused for its signature: {tampered}"
    );

    // The credential of client A does not sign in to client B (same origin, same RP id).
    let other = webauthn_client(&app, json!({})).await;
    let elsewhere = browser.step(json!({ "op": "login", "key": other })).await;
    assert_eq!(
        code(&elsewhere),
        (401, "passkey_verification_failed"),
        "{elsewhere}"
    );
    assert!(
        elsewhere["body"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("unknown credential"),
        "{elsewhere}"
    );
    let elsewhere = browser
        .step(json!({ "op": "login", "key": other, "email": "pia@example.com" }))
        .await;
    assert_eq!(
        code(&elsewhere),
        (401, "passkey_verification_failed"),
        "{elsewhere}"
    );

    // A sign count that goes backwards (a cloned authenticator) is refused and audited.
    app.query_text("UPDATE passkeys SET sign_count = 1000000 RETURNING id::text AS value")
        .await;
    let cloned = browser.step(json!({ "op": "login", "key": key })).await;
    assert_eq!(
        code(&cloned),
        (401, "passkey_verification_failed"),
        "{cloned}"
    );
    assert!(
        cloned["body"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("sign count"),
        "{cloned}"
    );
    assert_eq!(
        app.audit_events("event_type=passkey.sign_count_regression")
            .await
            .len(),
        1
    );
    app.query_text("UPDATE passkeys SET sign_count = 0 RETURNING id::text AS value")
        .await;

    // Removed (the reference's ?id= form): it no longer signs in.
    let res = call(
        &app,
        Method::DELETE,
        &format!("/api/auth/passkeys?id={passkey_id}"),
        &key,
        None,
        Some(&access),
    )
    .await;
    assert_eq!(res.status(), 200);
    let gone = browser.step(json!({ "op": "login", "key": key })).await;
    assert_eq!(code(&gone), (401, "passkey_verification_failed"), "{gone}");
    for event in [
        "passkey.added",
        "passkey.renamed",
        "passkey.removed",
        "passkey.login_failed",
    ] {
        assert!(
            !app.audit_events(&format!("event_type={event}"))
                .await
                .is_empty(),
            "{event}"
        );
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_passkey_completes_the_login_challenge_as_a_second_factor() {
    let app = spawn_app().await;
    let key = webauthn_client(&app, json!({})).await;
    let access = signup(&app, &key, "sam@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    enrol_totp(&app, &key, &access).await;
    let mut browser = Browser::launch(&app.localhost_base()).await;
    let registered = browser
        .step(json!({ "op": "register", "key": key, "access": access, "name": "Phone" }))
        .await;
    assert_eq!(registered["status"], 201, "{registered}");

    let (status, answer) = {
        let res = call(
            &app,
            Method::POST,
            "/api/auth/login",
            &key,
            Some(json!({ "email": "sam@example.com", "password": crate::auth_helpers::PASSWORD, "token_transport": "json" })),
            None,
        )
        .await;
        (res.status(), res.json::<Value>().await.unwrap())
    };
    assert_eq!(status, 200);
    assert_eq!(
        answer["two_factor_methods"],
        json!(["totp", "recovery_code", "passkey"])
    );
    let token = answer["two_factor_token"].as_str().unwrap().to_owned();
    let done = browser
        .step(json!({ "op": "login", "key": key, "two_factor_token": token }))
        .await;
    assert_eq!(done["status"], 200, "{done}");
    assert!(done["body"]["access_token"].as_str().is_some());
    // The challenge is spent.
    let again = call(
        &app,
        Method::POST,
        "/api/auth/totp/verify",
        &key,
        Some(json!({ "two_factor_token": token, "code": "123456" })),
        None,
    )
    .await;
    assert_eq!(
        again.json::<Value>().await.unwrap()["code"],
        "invalid_two_factor_token"
    );
    let logins = app.audit_events("event_type=user.login_succeeded").await;
    assert!(
        logins
            .iter()
            .any(|e| e["metadata"]["method"] == "password+passkey")
    );
    // A fresh challenge still works with a passkey of the same user only.
    let token = challenge(&app, &key, "sam@example.com").await;
    assert!(!token.is_empty());
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_clients_attestation_policy_applies_to_registration() {
    let app = spawn_app().await;
    let strict = webauthn_client(&app, json!({ "webauthn_require_attestation": true })).await;
    let access = signup(&app, &strict, "ada@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut browser = Browser::launch(&app.localhost_base()).await;
    let refused = browser
        .step(json!({ "op": "register", "key": strict, "access": access, "name": "Key" }))
        .await;
    assert_eq!(
        code(&refused),
        (400, "attestation_not_allowed"),
        "{refused}"
    );
    assert!(
        !app.audit_events("event_type=passkey.registration_failed")
            .await
            .is_empty()
    );

    // Asking for direct attestation gets a packed statement, which this client allows.
    let direct = webauthn_client(
        &app,
        json!({
            "webauthn_attestation": "direct",
            "webauthn_require_attestation": true,
            "webauthn_allowed_attestation_formats": ["packed"],
        }),
    )
    .await;
    let access = signup(&app, &direct, "bea@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let accepted = browser
        .step(json!({ "op": "register", "key": direct, "access": access, "name": "Key" }))
        .await;
    assert_eq!(accepted["status"], 201, "{accepted}");
    assert_eq!(accepted["body"]["passkey"]["attestation_format"], "packed");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_passkey_renews_a_stale_sign_in_before_a_sensitive_change() {
    // REAUTH_MAX_AGE of 5 s stands in for the 5 minutes an attacker waits out (long enough for
    // the registration on a busy box; the browser starts before the sign-up).
    let app = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![("REAUTH_MAX_AGE", "5s".to_owned())],
        ..Default::default()
    })
    .await;
    let key = webauthn_client(&app, json!({})).await;
    let mut browser = Browser::launch(&app.localhost_base()).await;
    let access = signup(&app, &key, "renew@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let registered = browser
        .step(json!({ "op": "register", "key": key, "access": access, "name": "Laptop" }))
        .await;
    assert_eq!(registered["status"], 201, "{registered}");
    let passkey_id = registered["body"]["passkey"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(6500)).await;
    let path = format!("/api/auth/passkeys/{passkey_id}");
    let res = call(&app, Method::DELETE, &path, &key, None, Some(&access)).await;
    assert_eq!(res.status(), 401);

    // Someone else's session cannot use this authenticator to renew theirs.
    let other = signup(&app, &key, "other@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = browser
        .step(json!({ "op": "reauth", "key": key, "access": other }))
        .await;
    assert_eq!(refused["status"], 404, "{refused}");

    let renewed = browser
        .step(json!({ "op": "reauth", "key": key, "access": access }))
        .await;
    assert_eq!(renewed["status"], 200, "{renewed}");
    let token = renewed["body"]["access_token"].as_str().unwrap().to_owned();
    let res = call(&app, Method::DELETE, &path, &key, None, Some(&token)).await;
    assert_eq!(res.status(), 200);
    let events = app.audit_events("event_type=user.reauthenticated").await;
    assert_eq!(events[0]["metadata"]["method"], "passkey");
}

#[tokio::test(flavor = "multi_thread")]
async fn passkey_login_begin_looks_the_same_with_and_without_passkeys() {
    let app = spawn_app().await;
    let key = webauthn_client(&app, json!({})).await;
    let access = signup(&app, &key, "haskey@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    signup(&app, &key, "nokey@example.com").await;
    let mut browser = Browser::launch(&app.localhost_base()).await;
    let registered = browser
        .step(json!({ "op": "register", "key": key, "access": access, "name": "Laptop" }))
        .await;
    assert_eq!(registered["status"], 201, "{registered}");
    // The shape of an answer: every key, with values replaced by their kind (challenges and
    // ids differ every time; nothing else may).
    fn shape(v: &Value) -> Value {
        match v {
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
            Value::String(_) => json!("string"),
            Value::Number(_) => json!("number"),
            other => other.clone(),
        }
    }
    let mut shapes = Vec::new();
    for email in [
        "haskey@example.com",
        "nokey@example.com",
        "nobody@example.com",
    ] {
        let res = call(
            &app,
            Method::POST,
            "/api/auth/passkey/login/begin",
            &key,
            Some(json!({ "email": email })),
            None,
        )
        .await;
        assert_eq!(res.status(), 200, "{email}");
        let body: Value = res.json().await.unwrap();
        let allowed = &body["options"]["publicKey"]["allowCredentials"];
        assert!(
            allowed.is_null() || allowed == &json!([]),
            "{email}: {body}"
        );
        shapes.push(shape(&body));
    }
    assert_eq!(shapes[0], shapes[1]);
    assert_eq!(shapes[0], shapes[2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn passkeys_on_a_server_addressed_by_ip_say_they_are_not_configured() {
    let app = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![("BASE_URL", "http://127.0.0.1:8080".to_owned())],
        ..Default::default()
    })
    .await;
    // No webauthn_rp_id: the relying party would be an IP address, which WebAuthn refuses.
    let key = key_of(&app.new_client().await);
    let access = signup(&app, &key, "ip@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for (path, bearer) in [
        ("/api/auth/passkey/login/begin", None),
        ("/api/auth/passkey/register/begin", Some(access.as_str())),
    ] {
        let res = call(&app, Method::POST, path, &key, Some(json!({})), bearer).await;
        assert_eq!(res.status(), 409, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "passkeys_not_configured", "{path}: {body}");
    }
    // With a domain name as relying party id it works.
    let named = webauthn_client(&app, json!({})).await;
    let res = call(
        &app,
        Method::POST,
        "/api/auth/passkey/login/begin",
        &named,
        Some(json!({})),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
}
