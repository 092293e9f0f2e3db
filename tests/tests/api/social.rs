//! Social sign-in against a real OpenID Connect provider (node `oidc-provider`) standing in for
//! the generic `oidc` provider and for Google (its issuer overridden): operators configure a
//! client's providers; a browser signs in and lands at the app with an `auth_code`. A new,
//! provider-verified address makes a user; an existing account is never taken over by an
//! asserted address; an unverified one is refused; a domain that enforces SSO is refused.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::auth_helpers::{call, key_of};
use super::domains::{admin, send};
use super::sso::{
    APP_CALLBACK, Browser, CONNECTIONS, Idp, Setup, account, acme, query, urlencoding,
    verified_signup,
};

async fn put_provider(s: &Setup, provider: &str, body: Value) -> (u16, Value) {
    admin(
        &s.app,
        Method::PUT,
        &format!(
            "/api/admin/clients/{}/social-providers/{provider}",
            s.client_id
        ),
        Some(body),
    )
    .await
}

async fn sign_in(s: &Setup, provider: &str, hint: &str) -> String {
    let start = format!(
        "{}/api/auth/oauth/{provider}?api_key={}&email={}&redirect_uri={}&state=app-state",
        s.app.address,
        s.key,
        urlencoding(hint),
        urlencoding(APP_CALLBACK)
    );
    Browser::new().follow(&start, "https://").await
}

#[tokio::test(flavor = "multi_thread")]
async fn social_sign_in_creates_provider_verified_users_and_never_takes_accounts_over() {
    let idp = Idp::start();
    let s = acme().await;
    let oidc = json!({
        "client_id": "authservice", "client_secret": "idp-secret", "issuer": idp.issuer,
        "scopes": ["email", "profile"],
    });
    let (status, provider) = put_provider(&s, "oidc", oidc.clone()).await;
    assert_eq!(status, 200, "{provider}");
    assert!(!provider.to_string().contains("idp-secret"));
    let oidc_callback = provider["redirect_uri"].as_str().unwrap().to_owned();
    assert!(oidc_callback.ends_with("/api/auth/oauth/oidc/callback"));
    // Google, pointed at the same IdP for the test (its issuer is overridable).
    let (status, google) = put_provider(&s, "google", oidc.clone()).await;
    assert_eq!(status, 200, "{google}");
    let google_callback = google["redirect_uri"].as_str().unwrap().to_owned();
    let mut unverified = account("u-uv", "uv@gmail.test", &[]);
    unverified["email_verified"] = json!(false);
    idp.configure_many(
        &[&oidc_callback, &google_callback],
        json!([
            account("u-zoe", "zoe@gmail.test", &[]),
            account("u-bob", "bob@gmail.test", &[]),
            account("u-carl", "carl@acme.test", &[]),
            account("u-gail", "gail@gmail.test", &[]),
            unverified,
        ]),
    );

    // A new address the provider verified: a user, signed in at the app.
    let landed = sign_in(&s, "oidc", "zoe@gmail.test").await;
    assert_eq!(query(&landed, "state").as_deref(), Some("app-state"));
    let (status, tokens) = s
        .exchange(&query(&landed, "auth_code").expect(&landed), APP_CALLBACK)
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let me = s.me(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(me["email"], "zoe@gmail.test");
    assert_eq!(me["email_verified"], true);
    // Again: the same user, by the identity.
    let landed = sign_in(&s, "oidc", "zoe@gmail.test").await;
    let (_, tokens) = s
        .exchange(&query(&landed, "auth_code").unwrap(), APP_CALLBACK)
        .await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(s.me(&access).await["id"], me["id"]);
    // Zoe adds a second factor: the provider is her first factor only from now on.
    super::mfa::enrol_totp(&s.app, &s.key, &access).await;
    let landed = sign_in(&s, "oidc", "zoe@gmail.test").await;
    let (status, answer) = s
        .exchange(&query(&landed, "auth_code").unwrap(), APP_CALLBACK)
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["requires_2fa"], true, "{answer}");
    assert!(answer.get("access_token").is_none_or(Value::is_null));
    // Through "Google" the same person is another identity, of the same address: refused,
    // like any existing account.
    let landed = sign_in(&s, "google", "zoe@gmail.test").await;
    assert_eq!(
        query(&landed, "error").as_deref(),
        Some("sso_account_conflict")
    );

    // A named provider (Google, its issuer pointed at the same IdP) signs a new person in.
    let landed = sign_in(&s, "google", "gail@gmail.test").await;
    let (status, tokens) = s
        .exchange(&query(&landed, "auth_code").expect(&landed), APP_CALLBACK)
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let gail = s.me(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(
        (gail["email"].as_str(), gail["email_verified"].as_bool()),
        (Some("gail@gmail.test"), Some(true))
    );

    // An existing account is not taken over by a provider asserting its address.
    verified_signup(&s, "bob@gmail.test").await;
    let landed = sign_in(&s, "oidc", "bob@gmail.test").await;
    assert_eq!(
        query(&landed, "error").as_deref(),
        Some("sso_account_conflict")
    );
    // An address the provider did not verify makes nobody.
    let landed = sign_in(&s, "oidc", "uv@gmail.test").await;
    assert_eq!(
        query(&landed, "error").as_deref(),
        Some("sso_user_not_provisioned")
    );

    // A domain whose organization enforces SSO: not through a social provider either.
    let (status, connection) = send(
        &s.app,
        Method::POST,
        CONNECTIONS,
        &s.key,
        &s.owner,
        Some(json!({
            "organization_id": s.org, "name": "Acme", "protocol": "oidc",
            "domains": ["acme.test"], "enforce_for_domains": true,
            "oidc": { "issuer": idp.issuer, "client_id": "authservice", "client_secret": "x" },
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{connection}");
    let landed = sign_in(&s, "oidc", "carl@acme.test").await;
    assert_eq!(query(&landed, "error").as_deref(), Some("sso_required"));

    let events = |t: &'static str| s.app.audit_events(t);
    assert_eq!(events("event_type=social.user_created").await.len(), 2);
    assert_eq!(events("event_type=social.login").await.len(), 2);
    assert_eq!(events("event_type=social.login_failed").await.len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn social_providers_are_configured_by_operators_only() {
    let idp = Idp::start();
    let s = acme().await;
    let path = format!("/api/admin/clients/{}/social-providers", s.client_id);
    for (provider, body, expected) in [
        (
            "myspace",
            json!({ "client_id": "x", "client_secret": "y" }),
            400,
        ),
        (
            "apple",
            json!({ "client_id": "x", "client_secret": "y", "team_id": "T", "key_id": "K" }),
            400,
        ),
        (
            "oidc",
            json!({ "client_id": "x", "client_secret": "y" }),
            400,
        ),
        (
            "oidc",
            json!({ "client_id": "x", "client_secret": "y", "issuer": "ftp://x" }),
            400,
        ),
        (
            "oidc",
            json!({ "client_id": "x", "issuer": idp.issuer }),
            400,
        ),
    ] {
        let (status, answer) = admin(
            &s.app,
            Method::PUT,
            &format!("{path}/{provider}"),
            Some(body),
        )
        .await;
        assert_eq!(status, expected, "{provider}: {answer}");
    }
    let good = json!({ "client_id": "x", "client_secret": "y", "issuer": idp.issuer });
    let (status, _) = admin(&s.app, Method::PUT, &format!("{path}/oidc"), Some(good)).await;
    assert_eq!(status, 200);
    // The secret may be left out while the provider stays the same.
    let (status, answer) = admin(
        &s.app,
        Method::PUT,
        &format!("{path}/oidc"),
        Some(json!({ "client_id": "x", "issuer": idp.issuer, "enabled": false })),
    )
    .await;
    assert_eq!(
        (status, answer["enabled"].as_bool()),
        (200, Some(false)),
        "{answer}"
    );
    let (status, list) = admin(&s.app, Method::GET, &path, None).await;
    assert_eq!(status, 200);
    assert_eq!(list["providers"].as_array().unwrap().len(), 1);
    // A disabled provider signs nobody in.
    let landed = Browser::new()
        .follow(
            &format!(
                "{}/api/auth/oauth/oidc?api_key={}&redirect_uri={}",
                s.app.address,
                s.key,
                urlencoding(APP_CALLBACK)
            ),
            "https://",
        )
        .await;
    assert_eq!(
        query(&landed, "error").as_deref(),
        Some("social_provider_not_found")
    );
    // Not an app's business, nor another client's.
    let res = call(&s.app, Method::GET, &path, &s.key, None, None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let other = key_of(&s.app.new_client().await);
    let landed = Browser::new()
        .follow(
            &format!(
                "{}/api/auth/oauth/oidc?api_key={other}&state=s",
                s.app.address
            ),
            &format!("{}/login.html", s.app.address),
        )
        .await;
    assert!(
        landed.contains("error=social_provider_not_found"),
        "{landed}"
    );
    let (status, _) = admin(&s.app, Method::DELETE, &format!("{path}/oidc"), None).await;
    assert_eq!(status, 204);
    let (status, _) = admin(&s.app, Method::DELETE, &format!("{path}/oidc"), None).await;
    assert_eq!(status, 404);
    assert_eq!(
        s.app
            .audit_events("event_type=social_provider.updated")
            .await
            .len(),
        2
    );
}

/// A throwaway P-256 key in the shape Apple hands a team (PKCS#8 PEM).
const APPLE_TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgwwNkn5YxfNQJYP7d
1RgLwYiWEU7GCJDfBIYGM5YKLWyhRANCAARLLdWuHfPTjFArehIcvGWguUgQv8qp
eYvpaSo6k6bFa9WIVwsPG4SXgsPtLs68pO+gzwFiSJnIdKX95SYmf22c
-----END PRIVATE KEY-----";

#[tokio::test(flavor = "multi_thread")]
async fn the_portal_configures_a_social_provider_in_chromium() {
    use super::pages::{click, fill, ok, sees};
    let idp = Idp::start();
    let s = acme().await;
    let mut b = authservice_tests::browser::Browser::launch(&s.app.address).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": "/portal.html?locale=en" }),
    )
    .await;
    fill(&mut b, "Admin key", &s.app.admin_key).await;
    click(&mut b, "Sign in with the admin key").await;
    click(&mut b, "Open: Test App").await;
    sees(&mut b, "No social providers yet.").await;
    ok(
        &mut b,
        json!({ "op": "select", "label": "Provider", "value": "oidc" }),
    )
    .await;
    // (Two forms name the client id at the provider: the social one is the second.)
    ok(
        &mut b,
        json!({ "op": "fill", "label": "Client ID at the identity provider", "nth": 1, "value": "portal-app" }),
    )
    .await;
    ok(
        &mut b,
        json!({ "op": "fill", "label": "Client secret at the identity provider", "nth": 1, "value": "portal-secret" }),
    )
    .await;
    fill(
        &mut b,
        "Issuer URL (empty: the provider's own; required for OpenID Connect)",
        &idp.issuer,
    )
    .await;
    click(&mut b, "Save provider").await;
    sees(&mut b, "/api/auth/oauth/oidc/callback").await;
    let label = format!("Disable: OpenID Connect ({})", idp.issuer);
    click(&mut b, &label).await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": format!("[aria-label='Enable: OpenID Connect ({})']", idp.issuer) }),
    )
    .await;
    // Apple: the team's key pasted whole (a PEM keeps its line breaks) with its ids.
    ok(
        &mut b,
        json!({ "op": "select", "label": "Provider", "value": "apple" }),
    )
    .await;
    ok(
        &mut b,
        json!({ "op": "fill", "label": "Client ID at the identity provider", "nth": 1, "value": "com.example.portal" }),
    )
    .await;
    fill(&mut b, "Private key (.p8 file contents)", APPLE_TEST_KEY).await;
    fill(&mut b, "Apple team ID", "TEAM42").await;
    fill(&mut b, "Apple key ID", "KEY42").await;
    click(&mut b, "Save provider").await;
    sees(&mut b, "/api/auth/oauth/apple/callback").await;
    let axe = ok(&mut b, json!({ "op": "axe" })).await;
    assert_eq!(axe["violations"], json!([]), "accessibility: {axe}");
    let (_, list) = admin(
        &s.app,
        Method::GET,
        &format!("/api/admin/clients/{}/social-providers", s.client_id),
        None,
    )
    .await;
    let apple = &list["providers"][0];
    assert_eq!(
        (&apple["provider"], &apple["team_id"], &apple["key_id"]),
        (&json!("apple"), &json!("TEAM42"), &json!("KEY42")),
        "{list}"
    );
    assert!(!list.to_string().contains("PRIVATE KEY"));
    let p = &list["providers"][1];
    assert_eq!(p["provider"], "oidc", "{list}");
    assert_eq!(p["client_id"], "portal-app");
    assert_eq!(p["enabled"], false);
    assert!(!list.to_string().contains("portal-secret"));
    b.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_is_connected_from_the_signed_in_account_and_never_the_last_way_in_is_removed() {
    let idp = Idp::start();
    let s = acme().await;
    let (status, provider) = put_provider(
        &s,
        "oidc",
        json!({ "client_id": "authservice", "client_secret": "idp-secret", "issuer": idp.issuer }),
    )
    .await;
    assert_eq!(status, 200, "{provider}");
    let callback = provider["redirect_uri"].as_str().unwrap().to_owned();
    idp.configure(
        &callback,
        json!([
            account("u-bob-elsewhere", "bob.other@gmail.test", &[]),
            account("u-zoe", "zoe@gmail.test", &[]),
        ]),
    );
    let bob = verified_signup(&s, "bob@gmail.test").await;
    let bob_token = bob["access_token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {bob_token}");
    let headers = [
        ("X-API-Key", s.key.as_str()),
        ("Authorization", bearer.as_str()),
    ];

    // Bob, signed in, connects his account at the provider (another address there: the
    // connection rests on both sign-ins, not on an address).
    let mut browser = Browser::new();
    let res = browser
        .post(&s.app.url("/api/auth/oauth/oidc/link"), &headers, json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let url = res.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let account_page = format!("{}/account.html", s.app.address);
    let landed = browser
        .follow(
            &format!("{url}&login_hint=bob.other@gmail.test"),
            &account_page,
        )
        .await;
    assert!(landed.ends_with("/account.html?connected=oidc"), "{landed}");
    let res = call(
        &s.app,
        Method::GET,
        "/api/auth/me/identities",
        &s.key,
        None,
        Some(&bob_token),
    )
    .await;
    let listed: Value = res.json().await.unwrap();
    assert_eq!(listed["identities"][0]["provider"], "oidc", "{listed}");
    // That identity now signs in as Bob.
    let landed = sign_in(&s, "oidc", "bob.other@gmail.test").await;
    let (status, tokens) = s
        .exchange(&query(&landed, "auth_code").expect(&landed), APP_CALLBACK)
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(
        s.me(tokens["access_token"].as_str().unwrap()).await["email"],
        "bob@gmail.test"
    );
    // Nobody else can connect the same identity.
    let carol = verified_signup(&s, "carol@gmail.test").await;
    let carol_bearer = format!("Bearer {}", carol["access_token"].as_str().unwrap());
    let mut other = Browser::new();
    let res = other
        .post(
            &s.app.url("/api/auth/oauth/oidc/link"),
            &[
                ("X-API-Key", s.key.as_str()),
                ("Authorization", carol_bearer.as_str()),
            ],
            json!({}),
        )
        .await;
    let url = res.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let landed = other
        .follow(
            &format!("{url}&login_hint=bob.other@gmail.test"),
            &format!("{}/login.html", s.app.address),
        )
        .await;
    assert!(landed.contains("error=sso_account_conflict"), "{landed}");

    // Bob disconnects it (he has a password); the identity no longer signs in as him.
    let res = call(
        &s.app,
        Method::DELETE,
        "/api/auth/me/identities/oidc",
        &s.key,
        None,
        Some(&bob_token),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // Zoe's only way in is the provider: it stays.
    let landed = sign_in(&s, "oidc", "zoe@gmail.test").await;
    let (_, tokens) = s
        .exchange(&query(&landed, "auth_code").unwrap(), APP_CALLBACK)
        .await;
    let res = call(
        &s.app,
        Method::DELETE,
        "/api/auth/me/identities/oidc",
        &s.key,
        None,
        tokens["access_token"].as_str(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "last_sign_in_method");
    assert_eq!(
        s.app
            .audit_events("event_type=social.identity_linked")
            .await
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_account_page_connects_and_disconnects_a_provider_in_chromium() {
    use super::pages::{click, fill, lands_on, ok, sees};
    let idp = Idp::start();
    let s = acme().await;
    let (status, provider) = put_provider(
        &s,
        "oidc",
        json!({ "client_id": "authservice", "client_secret": "idp-secret", "issuer": idp.issuer }),
    )
    .await;
    assert_eq!(status, 200, "{provider}");
    // The IdP signs in its default user, whose address there differs from Bob's here.
    idp.configure(
        provider["redirect_uri"].as_str().unwrap(),
        json!([account("u-ann", "bob.other@gmail.test", &[])]),
    );
    let bob = verified_signup(&s, "bob@gmail.test").await;
    let mut b = authservice_tests::browser::Browser::launch(&s.app.address).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": format!("/login.html?api_key={}&locale=en", s.key) }),
    )
    .await;
    fill(&mut b, "Email", "bob@gmail.test").await;
    fill(&mut b, "Password", super::auth_helpers::PASSWORD).await;
    click(&mut b, "Sign in").await;
    lands_on(&mut b, "/account.html").await;
    sees(&mut b, "Connected accounts").await;
    sees(&mut b, "Not connected.").await;
    click(&mut b, "Connect: OpenID Connect").await;
    // Through the provider and back, connected.
    sees(&mut b, "Connected to your account.").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "[aria-label='Disconnect: OpenID Connect']" }),
    )
    .await;
    let token = bob["access_token"].as_str().unwrap();
    let res = call(
        &s.app,
        Method::GET,
        "/api/auth/me/identities",
        &s.key,
        None,
        Some(token),
    )
    .await;
    let listed: Value = res.json().await.unwrap();
    assert_eq!(listed["identities"][0]["provider"], "oidc", "{listed}");
    click(&mut b, "Disconnect: OpenID Connect").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "[aria-label='Connect: OpenID Connect']" }),
    )
    .await;
    let res = call(
        &s.app,
        Method::GET,
        "/api/auth/me/identities",
        &s.key,
        None,
        Some(token),
    )
    .await;
    let listed: Value = res.json().await.unwrap();
    assert_eq!(listed["identities"], json!([]), "{listed}");
    b.close().await;
}
