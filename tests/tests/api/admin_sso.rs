//! Operators signing in through their OpenID Connect provider (node `oidc-provider` on
//! loopback): the ID token really verified, the address a verified one of an existing
//! operator, the attempt bound to its browser and used once, and the authenticator still
//! required after the IdP.

use authservice_tests::{AppOptions, TestApp, spawn_app_with};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::admin_accounts::create_admin;
use crate::mfa::{now, pyotp};
use crate::sso::{Browser, Idp, account};

async fn app(idp: &Idp) -> TestApp {
    spawn_app_with(AppOptions {
        env: vec![
            ("ALLOW_INSECURE_IDP_URLS", "true".to_owned()),
            ("ADMIN_OIDC_ISSUER", idp.issuer.clone()),
            ("ADMIN_OIDC_CLIENT_ID", "authservice".to_owned()),
            ("ADMIN_OIDC_CLIENT_SECRET", "idp-secret".to_owned()),
        ],
        real_base_url: true,
        ..Default::default()
    })
    .await
}

/// Begins an attempt in `browser` and follows the IdP back to our callback: the callback URL.
async fn to_callback(app: &TestApp, browser: &mut Browser) -> String {
    let res = browser
        .post(&app.url("/api/admin/auth/sso/start"), &[], json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let started: Value = res.json().await.unwrap();
    let url = started["authorization_url"].as_str().unwrap().to_owned();
    browser
        .follow(&url, &app.url("/api/admin/auth/sso/callback"))
        .await
}

/// What the callback puts in the portal's fragment: (`sso_token` or `sso_error`, value).
async fn land(app: &TestApp, browser: &mut Browser, callback: &str) -> (String, String) {
    let res = browser.get(callback).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let fragment = location
        .strip_prefix("/portal.html#")
        .unwrap_or_else(|| panic!("{location}"));
    let (name, value) = fragment.split_once('=').unwrap();
    let _ = app;
    (name.to_owned(), value.to_owned())
}

async fn complete(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(app.url("/api/admin/auth/sso/complete"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_sign_in_through_their_idp_and_still_need_their_authenticator() {
    let idp = Idp::start();
    let app = app(&idp).await;
    let callback = app.url("/api/admin/auth/sso/callback");
    idp.configure(&callback, json!([account("u-ann", "ann@ops.test", &[])]));
    let (_, setup) = create_admin(
        &app,
        "ann@ops.test",
        &["super_admin"],
        json!({ "type": "all" }),
    )
    .await;
    let res = reqwest::get(app.url("/api/admin/auth/sso")).await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["enabled"], true);

    // The callback opened in another browser (no binding cookie) is refused.
    let mut browser = Browser::new();
    let url = to_callback(&app, &mut browser).await;
    let mut other = Browser::new();
    assert_eq!(
        land(&app, &mut other, &url).await,
        ("sso_error".into(), "sso_state_invalid".into())
    );
    // … and the attempt is spent: its own browser cannot use it after that either.
    assert_eq!(land(&app, &mut browser, &url).await.1, "sso_state_invalid");

    // Ann, a verified address of an operator: a one-time token; her first sign-in still needs
    // the account's setup code, then enrols her authenticator.
    let mut browser = Browser::new();
    let url = to_callback(&app, &mut browser).await;
    let (kind, token) = land(&app, &mut browser, &url).await;
    assert_eq!(kind, "sso_token", "{token}");
    assert!(token.starts_with("adm_sso_"));
    // The callback cannot be replayed.
    assert_eq!(land(&app, &mut browser, &url).await.1, "sso_state_invalid");
    let (status, body) = complete(&app, json!({ "sso_token": token })).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("setup_token_required"))
    );
    let (status, body) = complete(&app, json!({ "sso_token": token, "setup_token": setup })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["mfa_enrollment_required"], true);
    let secret = body["secret"].as_str().unwrap().to_owned();
    let res = reqwest::Client::new()
        .post(app.url("/api/admin/auth/totp/enable"))
        .json(
            &json!({ "enrollment_token": body["enrollment_token"], "code": pyotp(&secret, now()) }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Later: the IdP, then her authenticator — a wrong code is refused, the right one signs in
    // once, and the token is spent.
    let mut browser = Browser::new();
    let url = to_callback(&app, &mut browser).await;
    let (_, token) = land(&app, &mut browser, &url).await;
    let (status, body) = complete(&app, json!({ "sso_token": token })).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("totp_required"))
    );
    let (status, _) = complete(&app, json!({ "sso_token": token, "totp_code": "000000" })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, tokens) = complete(
        &app,
        json!({ "sso_token": token, "totp_code": pyotp(&secret, now() + 30) }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["admin"]["email"], "ann@ops.test");
    assert!(
        tokens["access_token"]
            .as_str()
            .unwrap()
            .starts_with("adm_at_")
    );
    let (status, body) = complete(
        &app,
        json!({ "sso_token": token, "totp_code": pyotp(&secret, now() + 60) }),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("sso_state_invalid")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unverified_or_unknown_address_gets_no_operator_session() {
    let idp = Idp::start();
    let app = app(&idp).await;
    let callback = app.url("/api/admin/auth/sso/callback");
    create_admin(&app, "eve@ops.test", &["auditor"], json!({ "type": "all" })).await;
    // The IdP signs in its default account (`u-ann`): once with an operator's address it has
    // not verified, once with an address no operator has.
    let mut unverified = account("u-ann", "eve@ops.test", &[]);
    unverified["email_verified"] = json!(false);
    for (who, account) in [
        ("unverified", unverified),
        ("unknown", account("u-ann", "bob@elsewhere.test", &[])),
    ] {
        idp.configure(&callback, json!([account]));
        let mut browser = Browser::new();
        let url = to_callback(&app, &mut browser).await;
        let landed = land(&app, &mut browser, &url).await;
        assert_eq!(landed, ("sso_error".into(), "sso_failed".into()), "{who}");
    }
    let failures = app.audit_events("event_type=admin.sign_in_failed").await;
    let reasons: Vec<&str> = failures
        .iter()
        .filter_map(|e| e["metadata"]["reason"].as_str())
        .collect();
    assert!(reasons.contains(&"sso_unverified_email"), "{reasons:?}");
    assert!(reasons.contains(&"sso_unknown_operator"), "{reasons:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_portal_signs_an_operator_in_through_the_idp_then_the_authenticator() {
    use crate::pages::{click, fill, ok, sees};
    let idp = Idp::start();
    let app = spawn_app_with(AppOptions {
        env: vec![
            ("ALLOW_INSECURE_IDP_URLS", "true".to_owned()),
            ("ADMIN_OIDC_ISSUER", idp.issuer.clone()),
            ("ADMIN_OIDC_CLIENT_ID", "authservice".to_owned()),
            ("ADMIN_OIDC_CLIENT_SECRET", "idp-secret".to_owned()),
            ("SERVE_FRONTEND", "true".to_owned()),
            (
                "PUBLIC_DIR",
                concat!(env!("CARGO_MANIFEST_DIR"), "/../public").to_owned(),
            ),
        ],
        real_base_url: true,
        ..Default::default()
    })
    .await;
    idp.configure(
        &app.url("/api/admin/auth/sso/callback"),
        json!([account("u-ann", "ann@ops.test", &[])]),
    );
    let (_, setup) = create_admin(
        &app,
        "ann@ops.test",
        &["super_admin"],
        json!({ "type": "all" }),
    )
    .await;
    let (_, secret) = crate::admin_accounts::enrol(
        &app,
        "ann@ops.test",
        crate::admin_accounts::ADMIN_PASSWORD,
        &setup,
    )
    .await;

    let mut b = authservice_tests::browser::Browser::launch(&app.localhost_base()).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": "/portal.html?locale=en" }),
    )
    .await;
    click(&mut b, "Sign in with your identity provider").await;
    sees(&mut b, "Signed in at your identity provider.").await;
    let url = ok(&mut b, json!({ "op": "url" })).await["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !url.contains("sso_token"),
        "the token left the address bar: {url}"
    );
    fill(&mut b, "Authenticator code", &pyotp(&secret, now() + 30)).await;
    click(&mut b, "Finish signing in").await;
    sees(&mut b, "Signed in as ann@ops.test").await;
}
