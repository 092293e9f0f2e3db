//! TOTP, recovery codes and the login challenge. Codes come from pyotp (tests/peers/totp.py), an
//! independent RFC 6238 implementation, never from the code under test.

use authservice_interfaces::grpc::proto::auth_service_client::AuthServiceClient;
use authservice_interfaces::grpc::proto::{LoginRequest, VerifySecondFactorRequest};
use authservice_tests::{TestApp, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tonic::Code;

use crate::auth_helpers::{PASSWORD, call, key_of, signup};

/// The code pyotp computes for `secret` at `unix_time`.
pub fn pyotp(secret: &str, unix_time: i64) -> String {
    let out = std::process::Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/peers/totp.py"))
        .arg(secret)
        .arg(unix_time.to_string())
        .output()
        .expect("run python3 tests/peers/totp.py (pip install -r tests/peers/requirements.txt)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

async fn json_of(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn login(app: &TestApp, key: &str, email: &str, password: &str) -> (StatusCode, Value) {
    json_of(
        call(
            app,
            Method::POST,
            "/api/auth/login",
            key,
            Some(json!({ "email": email, "password": password, "token_transport": "json" })),
            None,
        )
        .await,
    )
    .await
}

/// Enrols TOTP for a new user; returns (key, access token, secret, enrol time, recovery codes).
pub async fn user_with_totp(
    app: &TestApp,
    email: &str,
) -> (String, String, String, i64, Vec<String>) {
    let key = key_of(&app.new_client().await);
    let access = signup(app, &key, email).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (secret, t0, codes) = enrol_totp(app, &key, &access).await;
    (key, access, secret, t0, codes)
}

/// Enrols TOTP for the user of `access`; returns (secret, enrol time, recovery codes).
pub async fn enrol_totp(app: &TestApp, key: &str, access: &str) -> (String, i64, Vec<String>) {
    let (key, access) = (key.to_owned(), access.to_owned());
    let (status, setup) = json_of(
        call(
            app,
            Method::POST,
            "/api/auth/totp/setup",
            &key,
            None,
            Some(&access),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{setup}");
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let t0 = now();
    let (status, enabled) = json_of(
        call(
            app,
            Method::POST,
            "/api/auth/totp/enable",
            &key,
            Some(json!({ "code": pyotp(&secret, t0) })),
            Some(&access),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{enabled}");
    let codes = enabled["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, t0, codes)
}

pub async fn challenge(app: &TestApp, key: &str, email: &str) -> String {
    let (status, body) = login(app, key, email, PASSWORD).await;
    assert_eq!(status, 200);
    assert_eq!(body["requires_2fa"], true, "{body}");
    assert!(
        body.get("access_token").is_none(),
        "no tokens before the second factor"
    );
    body["two_factor_token"].as_str().unwrap().to_owned()
}

async fn verify(
    app: &TestApp,
    key: &str,
    path: &str,
    token: &str,
    code: &str,
) -> (StatusCode, Value) {
    json_of(
        call(
            app,
            Method::POST,
            path,
            key,
            Some(json!({ "two_factor_token": token, "code": code, "token_transport": "json" })),
            None,
        )
        .await,
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn totp_enrolment_and_login_challenge_with_codes_from_pyotp() {
    let app = spawn_app().await;
    let key = key_of(&app.new_client().await);
    let access = signup(&app, &key, "tina@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, setup) = json_of(
        call(
            &app,
            Method::POST,
            "/api/auth/totp/setup",
            &key,
            None,
            Some(&access),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    let secret = setup["secret"].as_str().unwrap().to_owned();
    assert!(
        setup["otpauth_url"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    assert!(
        setup["otpauth_url"]
            .as_str()
            .unwrap()
            .contains(&format!("secret={secret}"))
    );
    let qr = setup["qr_code"].as_str().unwrap();
    let png = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(qr.strip_prefix("data:image/png;base64,").unwrap())
            .unwrap()
    };
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    // A wrong code does not enable it; the right one does and returns 10 recovery codes.
    let enable = |code: String| {
        call(
            &app,
            Method::POST,
            "/api/auth/totp/enable",
            &key,
            Some(json!({ "code": code })),
            Some(&access),
        )
    };
    let (status, body) = json_of(enable("000000".into()).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_code"))
    );
    let t0 = now();
    let (status, enabled) = json_of(enable(pyotp(&secret, t0)).await).await;
    assert_eq!(status, 200);
    assert_eq!(enabled["recovery_codes"].as_array().unwrap().len(), 10);
    let me = call(&app, Method::GET, "/api/auth/me", &key, None, Some(&access)).await;
    assert_eq!(me.json::<Value>().await.unwrap()["totp_enabled"], true);
    // The secret is sealed at rest.
    let stored = app
        .query_text(
            "SELECT encode(totp_secret_sealed, 'hex') AS value FROM users WHERE totp_enabled",
        )
        .await;
    assert!(!stored[0].is_empty() && !stored[0].contains(&secret));

    // Password login now answers a challenge, not tokens.
    let token = challenge(&app, &key, "tina@example.com").await;
    let (status, body) = login(&app, &key, "tina@example.com", PASSWORD).await;
    assert_eq!(
        body["two_factor_methods"],
        json!(["totp", "recovery_code"]),
        "{status} {body}"
    );
    // The code used to enable is spent: the same code cannot be used twice in its window.
    let (status, body) = verify(
        &app,
        &key,
        "/api/auth/totp/verify",
        &token,
        &pyotp(&secret, t0),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("code_already_used"))
    );
    let next = pyotp(&secret, t0 + 30);
    let (status, body) = verify(&app, &key, "/api/auth/totp/verify", &token, &next).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].as_str().is_some());
    // The challenge is single use, and so is the code.
    let (status, body) = verify(&app, &key, "/api/auth/totp/verify", &token, &next).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_two_factor_token"))
    );
    let token = challenge(&app, &key, "tina@example.com").await;
    let (_, body) = verify(&app, &key, "/api/auth/totp/verify", &token, &next).await;
    assert_eq!(body["code"], "code_already_used");

    // A challenge dies after 5 wrong codes: even a right one is refused after that.
    let token = challenge(&app, &key, "tina@example.com").await;
    for _ in 0..5 {
        let (status, body) = verify(&app, &key, "/api/auth/totp/verify", &token, "000001").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_code"))
        );
    }
    let (status, body) = verify(
        &app,
        &key,
        "/api/auth/totp/verify",
        &token,
        &pyotp(&secret, t0 + 60),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_two_factor_token"))
    );

    // A challenge belongs to its client.
    let other = key_of(&app.new_client().await);
    let token = challenge(&app, &key, "tina@example.com").await;
    let (status, _) = verify(
        &app,
        &other,
        "/api/auth/totp/verify",
        &token,
        &pyotp(&secret, t0 + 60),
    )
    .await;
    assert_eq!(status, 401);

    for event in [
        "mfa.totp_enabled",
        "user.login_2fa_required",
        "mfa.challenge_failed",
    ] {
        assert!(
            !app.audit_events(&format!("event_type={event}"))
                .await
                .is_empty(),
            "{event}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn recovery_codes_are_single_use_and_regenerating_voids_the_old_ones() {
    let app = spawn_app().await;
    let (key, access, _secret, _t0, codes) = user_with_totp(&app, "rick@example.com").await;
    let status = |access: String| {
        let app = &app;
        let key = key.clone();
        async move {
            let res = call(
                app,
                Method::GET,
                "/api/auth/recovery-codes",
                &key,
                None,
                Some(&access),
            )
            .await;
            res.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(
        status(access.clone()).await,
        json!({ "remaining": 10, "total": 10 })
    );

    let token = challenge(&app, &key, "rick@example.com").await;
    let (code, body) = verify(
        &app,
        &key,
        "/api/auth/recovery-codes/verify",
        &token,
        &codes[0].to_uppercase(),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(status(access.clone()).await["remaining"], 9);
    let token = challenge(&app, &key, "rick@example.com").await;
    let (code, body) = verify(
        &app,
        &key,
        "/api/auth/recovery-codes/verify",
        &token,
        &codes[0],
    )
    .await;
    assert_eq!(
        (code, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_code"))
    );

    let res = call(
        &app,
        Method::POST,
        "/api/auth/recovery-codes",
        &key,
        None,
        Some(&access),
    )
    .await;
    assert_eq!(res.status(), 200);
    let fresh: Vec<String> = res.json::<Value>().await.unwrap()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fresh.len(), 10);
    let (code, _) = verify(
        &app,
        &key,
        "/api/auth/recovery-codes/verify",
        &token,
        &codes[1],
    )
    .await;
    assert_eq!(code, 401, "old codes stop working");
    let (code, _) = verify(
        &app,
        &key,
        "/api/auth/recovery-codes/verify",
        &token,
        &fresh[3],
    )
    .await;
    assert_eq!(code, 200);
    let hashes = app
        .query_text("SELECT encode(code_hash, 'hex') AS value FROM recovery_codes")
        .await;
    assert!(
        hashes
            .iter()
            .all(|h| !fresh.iter().any(|c| h.contains(&c.replace('-', ""))))
    );
    assert!(
        !app.audit_events("event_type=mfa.recovery_codes_regenerated")
            .await
            .is_empty()
    );
    assert!(
        !app.audit_events("event_type=mfa.recovery_code_used")
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn disabling_totp_needs_a_code_or_the_password() {
    let app = spawn_app().await;
    let (key, access, secret, t0, _codes) = user_with_totp(&app, "dan@example.com").await;
    let disable = |body: Value| {
        call(
            &app,
            Method::POST,
            "/api/auth/totp/disable",
            &key,
            Some(body),
            Some(&access),
        )
    };
    let (status, body) = json_of(disable(json!({})).await).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = json_of(disable(json!({ "password": "wrong-Password-11" })).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_current_password"))
    );
    let (status, _) = json_of(disable(json!({ "code": pyotp(&secret, t0 + 30) })).await).await;
    assert_eq!(status, 200);
    assert!(
        !app.audit_events("event_type=mfa.totp_disabled")
            .await
            .is_empty()
    );
    // Logins get tokens directly again; recovery codes are gone.
    let (status, body) = login(&app, &key, "dan@example.com", PASSWORD).await;
    assert_eq!(status, 200);
    assert!(body["access_token"].as_str().is_some());
    let left = app
        .query_text("SELECT count(*)::text AS value FROM recovery_codes")
        .await;
    assert_eq!(left, ["0"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_login_challenge_over_grpc() {
    let app = spawn_app().await;
    let (key, _access, secret, t0, codes) = user_with_totp(&app, "gia@example.com").await;
    let mut grpc = AuthServiceClient::connect(app.grpc_address.clone())
        .await
        .unwrap();
    let login = || LoginRequest {
        email: "gia@example.com".into(),
        password: PASSWORD.into(),
        api_key: key.clone(),
        ..Default::default()
    };
    let answer = grpc.login(login()).await.unwrap().into_inner();
    assert!(answer.requires_2fa);
    assert!(answer.access_token.is_empty() && answer.refresh_token.is_empty());
    assert_eq!(answer.two_factor_methods, ["totp", "recovery_code"]);
    let err = grpc
        .verify_totp(VerifySecondFactorRequest {
            two_factor_token: answer.two_factor_token.clone(),
            code: "123456".into(),
            api_key: key.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let tokens = grpc
        .verify_totp(VerifySecondFactorRequest {
            two_factor_token: answer.two_factor_token,
            code: pyotp(&secret, t0 + 30),
            api_key: key.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!tokens.access_token.is_empty());
    let answer = grpc.login(login()).await.unwrap().into_inner();
    let tokens = grpc
        .verify_recovery_code(VerifySecondFactorRequest {
            two_factor_token: answer.two_factor_token,
            code: codes[0].clone(),
            api_key: key.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(tokens.user.unwrap().totp_enabled);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_magic_link_is_only_a_first_factor_when_totp_is_on() {
    let sink = authservice_tests::smtp::SmtpSink::start().await;
    let app = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: authservice_tests::smtp_env(sink.port()),
        ..Default::default()
    })
    .await;
    let (key, _access, secret, t0, _codes) = user_with_totp(&app, "mel@example.com").await;
    let res = call(
        &app,
        Method::POST,
        "/api/auth/magic-link/send",
        &key,
        Some(json!({ "email": "mel@example.com" })),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let token = sink
        .wait_for_text(
            "mel@example.com",
            "/api/auth/magic-link/verify",
            std::time::Duration::from_secs(15),
        )
        .await
        .query_param("/api/auth/magic-link/verify", "token");
    let res = app
        .http
        .post(app.url("/api/auth/magic-link/verify"))
        .json(&serde_json::json!({ "token": token }))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(res).await;
    assert_eq!(status, 200);
    assert_eq!(body["requires_2fa"], true, "{body}");
    assert!(body.get("access_token").is_none());
    let token = body["two_factor_token"].as_str().unwrap();
    let (status, body) = verify(
        &app,
        &key,
        "/api/auth/totp/verify",
        token,
        &pyotp(&secret, t0 + 30),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].as_str().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn new_challenges_do_not_buy_more_guesses() {
    let app = spawn_app().await;
    let (key, _access, secret, t0, _codes) = user_with_totp(&app, "guess@example.com").await;
    // 10 wrong codes per user per hour, whatever the number of challenges.
    let mut wrong = 0;
    while wrong < 10 {
        let token = challenge(&app, &key, "guess@example.com").await;
        for _ in 0..4 {
            let (status, _) = verify(&app, &key, "/api/auth/totp/verify", &token, "000002").await;
            assert_eq!(status, 401);
            wrong += 1;
            if wrong == 10 {
                break;
            }
        }
    }
    let token = challenge(&app, &key, "guess@example.com").await;
    let (status, body) = verify(
        &app,
        &key,
        "/api/auth/totp/verify",
        &token,
        &pyotp(&secret, t0 + 30),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_code_hands_a_signed_in_session_to_the_app_once() {
    let app = spawn_app().await;
    let (key, access, _secret, _t0, _codes) = user_with_totp(&app, "hand@example.com").await;
    // A client without registered redirect URIs: any page on its origins or this server's.
    let back = "http://localhost:8080/app/signed-in";
    let res = call(
        &app,
        Method::POST,
        "/api/auth/redirect/code",
        &key,
        Some(json!({ "redirect_uri": back })),
        Some(&access),
    )
    .await;
    assert_eq!(res.status(), 200);
    let code = res.json::<Value>().await.unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let exchange = || {
        call(
            &app,
            Method::POST,
            "/api/auth/redirect/exchange",
            &key,
            Some(json!({ "code": code, "token_transport": "json", "redirect_uri": back })),
            None,
        )
    };
    // The user completed sign-in (with TOTP) already: no second challenge for the app.
    let (status, body) = json_of(exchange().await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["email"], "hand@example.com");
    assert!(body["refresh_token"].as_str().is_some());
    // The app's session says how the user signed in on the hosted pages (here: at signup).
    let payload = body["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let claims: Value =
        serde_json::from_slice(&crate::auth_helpers::b64url_decode(payload)).unwrap();
    assert_eq!(claims["amr"], json!(["pwd"]));
    let (status, body) = json_of(exchange().await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_redirect_code"))
    );
    // Without a signed-in user there is no code.
    let res = call(
        &app,
        Method::POST,
        "/api/auth/redirect/code",
        &key,
        Some(json!({ "redirect_uri": back })),
        None,
    )
    .await;
    assert_eq!(res.status(), 401);
}

fn auth_time_of(access: &str) -> i64 {
    let payload = access.split('.').nth(1).unwrap();
    let claims: Value =
        serde_json::from_slice(&crate::auth_helpers::b64url_decode(payload)).unwrap();
    claims["auth_time"].as_i64().expect("auth_time claim")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stolen_access_token_cannot_add_a_passkey_without_reauthentication() {
    // REAUTH_MAX_AGE of 2 s stands in for the 5 minutes an attacker waits out.
    let app = authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![("REAUTH_MAX_AGE", "2s".to_owned())],
        ..Default::default()
    })
    .await;
    let key = key_of(&app.new_client().await);
    let signed_in = signup(&app, &key, "stolen@example.com").await;
    let fresh = signed_in["access_token"].as_str().unwrap().to_owned();
    let (secret, t0, _codes) = enrol_totp(&app, &key, &fresh).await;
    assert!(auth_time_of(&fresh) > 0);
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;

    // The attacker holds a (still valid) access token, and a refresh token: refreshing does not
    // make the sign-in recent again.
    let (status, refreshed) = json_of(
        call(
            &app,
            Method::POST,
            "/api/auth/refresh",
            &key,
            Some(json!({ "refresh_token": signed_in["refresh_token"] })),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let stolen = refreshed["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        auth_time_of(&stolen),
        auth_time_of(signed_in["access_token"].as_str().unwrap())
    );
    for (method, path, body) in [
        (Method::POST, "/api/auth/passkey/register/begin", None),
        (Method::POST, "/api/auth/recovery-codes", None),
        (Method::DELETE, "/api/auth/sessions", None),
        (
            Method::POST,
            "/api/auth/redirect/code",
            Some(json!({ "redirect_uri": "https://app.example.com/cb" })),
        ),
        (
            Method::DELETE,
            "/api/auth/passkeys/00000000-0000-0000-0000-000000000000",
            None,
        ),
    ] {
        let (status, body) =
            json_of(call(&app, method, path, &key, body, Some(&stolen)).await).await;
        assert_eq!(status, 401, "{path}: {body}");
        assert_eq!(body["code"], "reauthentication_required", "{path}");
    }
    // Ordinary reads still work.
    let res = call(&app, Method::GET, "/api/auth/me", &key, None, Some(&stolen)).await;
    assert_eq!(res.status(), 200);

    // Guessing the password is limited and audited; the right one renews auth_time.
    let reauth = |body: Value| {
        call(
            &app,
            Method::POST,
            "/api/auth/reauthenticate",
            &key,
            Some(body),
            Some(&stolen),
        )
    };
    let (status, body) = json_of(reauth(json!({ "password": "not-the-password" })).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("invalid_current_password"))
    );
    let (status, body) =
        json_of(reauth(json!({ "password": PASSWORD, "code": "123456" })).await).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = json_of(reauth(json!({ "password": PASSWORD })).await).await;
    assert_eq!(status, 200, "{body}");
    let renewed = body["access_token"].as_str().unwrap().to_owned();
    assert!(auth_time_of(&renewed) >= now() - 1);
    assert_eq!(body["auth_time"], auth_time_of(&renewed));
    let res = call(
        &app,
        Method::POST,
        "/api/auth/passkey/register/begin",
        &key,
        None,
        Some(&renewed),
    )
    .await;
    assert_eq!(res.status(), 200);
    // The session remembers it: the next refresh carries the new auth_time.
    let (status, refreshed) = json_of(
        call(
            &app,
            Method::POST,
            "/api/auth/refresh",
            &key,
            Some(json!({ "refresh_token": refreshed["refresh_token"] })),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(
        auth_time_of(refreshed["access_token"].as_str().unwrap()),
        auth_time_of(&renewed)
    );

    // A TOTP code works too, once it is stale again.
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let res = call(
        &app,
        Method::POST,
        "/api/auth/recovery-codes",
        &key,
        None,
        Some(&renewed),
    )
    .await;
    assert_eq!(res.status(), 401);
    let (status, body) = json_of(
        call(
            &app,
            Method::POST,
            "/api/auth/reauthenticate",
            &key,
            Some(json!({ "code": pyotp(&secret, t0 + 30) })),
            Some(&renewed),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let res = call(
        &app,
        Method::POST,
        "/api/auth/recovery-codes",
        &key,
        None,
        Some(body["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(res.status(), 200);
    let events = app.audit_events("event_type=user.reauthenticated").await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        app.audit_events("event_type=user.reauthentication_failed")
            .await
            .len(),
        1
    );
}
