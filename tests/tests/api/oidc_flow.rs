//! The OpenID Connect provider of a tenant's issuer: authorization code + PKCE with the hosted
//! pages' session cookie, the hosted login round trip by request handle, consent remembered and
//! revocable, ID tokens, userinfo, refresh rotation, revocation, RP-initiated logout, the
//! negative matrix of authorize and token requests, and third-party relying parties (Authlib,
//! openid-client in Chromium).

use std::process::Command;
use std::time::Duration;

use authservice_tests::{AppOptions, TestApp, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

use crate::auth_helpers::{PASSWORD, b64url_decode, key_of, signup};
use crate::mfa::{enrol_totp, pyotp};

const REDIRECT: &str = "https://rp.example/cb";
const POST_LOGOUT: &str = "https://rp.example/bye";
/// A PKCE pair (RFC 7636 appendix B).
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

async fn oidc_app() -> TestApp {
    oidc_app_with(Vec::new()).await
}

async fn oidc_app_with(env: Vec<(&'static str, String)>) -> TestApp {
    spawn_app_with(AppOptions {
        env,
        real_base_url: true,
        ..Default::default()
    })
    .await
}

/// A tenant: (client id, slug, API key).
async fn tenant(app: &TestApp, extra: Value) -> (String, String, String) {
    let mut body = json!({ "name": "Acme" });
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    let created = app.create_client(body).await;
    (
        created["client"]["id"].as_str().unwrap().to_owned(),
        created["client"]["slug"].as_str().unwrap().to_owned(),
        key_of(&created),
    )
}

/// Registers an OIDC app; returns its answer (`client_id`, `client_secret` once).
async fn register(app: &TestApp, client: &str, body: Value) -> Value {
    let mut full = json!({
        "name": "Acme CRM",
        "type": "confidential",
        "redirect_uris": [REDIRECT],
        "post_logout_redirect_uris": [POST_LOGOUT],
        "scopes": ["openid", "profile", "email", "offline_access", "crm.read"],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "client_secret_basic",
        "first_party": true,
    });
    if let (Value::Object(b), Value::Object(e)) = (&mut full, body) {
        b.extend(e);
    }
    let res = app
        .admin(
            Method::POST,
            &format!("/api/admin/clients/{client}/oidc-apps"),
            Some(full),
        )
        .await;
    assert_eq!(res.status().as_u16(), 201);
    res.json().await.unwrap()
}

/// Signs `email` up and in through the REST API; returns the `auth_refresh` cookie.
async fn browser_session(app: &TestApp, key: &str, email: &str) -> String {
    signup(app, key, email).await;
    sign_in(app, &[("X-API-Key", key)], email).await
}

async fn sign_in(app: &TestApp, headers: &[(&str, &str)], email: &str) -> String {
    let mut req = app.http.post(app.url("/api/auth/login")).json(&json!({
        "email": email, "password": PASSWORD, "token_transport": "cookie",
    }));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    refresh_cookie(&res)
}

/// The `auth_refresh` cookie a sign-in answer sets.
fn refresh_cookie(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("auth_refresh="))
        .and_then(|v| v.split(';').next())
        .filter(|v| !v.is_empty())
        .expect("auth_refresh cookie")
        .to_owned()
}

/// GET `/t/{slug}/authorize` with `params` and the session `cookie`: (status, Location, body).
async fn authorize(
    app: &TestApp,
    slug: &str,
    params: &[(&str, &str)],
    cookie: Option<&str>,
) -> (u16, Option<Url>, String) {
    let (status, location, body, _) = authorize_binding(app, slug, params, cookie).await;
    (status, location, body)
}

/// [`authorize`], with the `name=value` of the cookie that binds a parked request to the
/// browser (set when the request goes to a hosted page).
async fn authorize_binding(
    app: &TestApp,
    slug: &str,
    params: &[(&str, &str)],
    cookie: Option<&str>,
) -> (u16, Option<Url>, String, Option<String>) {
    let mut url = Url::parse(&app.url(&format!("/t/{slug}/authorize"))).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    let mut req = app.http.get(url);
    if let Some(cookie) = cookie {
        req = req.header("Cookie", format!("auth_refresh={cookie}"));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .map(|l| app_url(app, l.to_str().unwrap()));
    let binding = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("oauth_req_"))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    (
        status,
        location,
        res.text().await.unwrap_or_default(),
        binding,
    )
}

fn app_url(app: &TestApp, location: &str) -> Url {
    Url::parse(location).unwrap_or_else(|_| Url::parse(&app.url(location)).unwrap())
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The usual request parameters of `client_id`.
fn code_request<'a>(client_id: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", "openid email profile offline_access"),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        params.retain(|(name, _)| name != k);
        if !v.is_empty() {
            params.push((k, v));
        }
    }
    params
}

/// Exchanges at `/t/{slug}/token` with HTTP Basic (when `secret`): (status, body).
async fn token(
    app: &TestApp,
    slug: &str,
    basic: Option<(&str, &str)>,
    params: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = app
        .http
        .post(app.url(&format!("/t/{slug}/token")))
        .form(params);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let res = req.send().await.unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

async fn exchange(app: &TestApp, slug: &str, id: &str, secret: &str, code: &str) -> (u16, Value) {
    token(
        app,
        slug,
        Some((id, secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

async fn userinfo(app: &TestApp, slug: &str, access: &str) -> (u16, Value) {
    let res = app
        .http
        .get(app.url(&format!("/t/{slug}/userinfo")))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

fn claims_of(jwt: &str) -> Value {
    serde_json::from_slice(&b64url_decode(jwt.split('.').nth(1).unwrap())).unwrap()
}

/// A code for the first-party app: (code, the redirect).
async fn code_for(app: &TestApp, slug: &str, client_id: &str, cookie: &str) -> String {
    let (status, location, body) =
        authorize(app, slug, &code_request(client_id, &[]), Some(cookie)).await;
    assert_eq!(status, 302, "{body}");
    let location = location.unwrap();
    assert!(location.as_str().starts_with(REDIRECT), "{location}");
    param(&location, "code").expect("a code")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_party_app_gets_a_code_tokens_an_id_token_userinfo_refresh_and_logout() {
    let app = oidc_app().await;
    let (client, slug, key) = tenant(&app, json!({})).await;
    let registered = register(&app, &client, json!({})).await;
    let (id, secret) = (
        registered["client_id"].as_str().unwrap(),
        registered["client_secret"].as_str().unwrap(),
    );
    let cookie = browser_session(&app, &key, "ada@example.com").await;
    let issuer = app.url(&format!("/t/{slug}"));

    let (status, location, _) = authorize(&app, &slug, &code_request(id, &[]), Some(&cookie)).await;
    assert_eq!(status, 302);
    let location = location.unwrap();
    assert_eq!(param(&location, "state").as_deref(), Some("st-123"));
    assert_eq!(
        param(&location, "iss").as_deref(),
        Some(issuer.as_str()),
        "RFC 9207"
    );
    let code = param(&location, "code").unwrap();

    let (status, tokens) = exchange(&app, &slug, id, secret, &code).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "openid email profile offline_access");
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let id_token = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["iss"], issuer);
    assert_eq!(id_token["aud"], id);
    assert_eq!(id_token["azp"], id);
    assert_eq!(id_token["nonce"], "n-456");
    assert_eq!(id_token["email"], "ada@example.com");
    assert_eq!(id_token["name"], "Ada Lovelace");
    assert_eq!(id_token["acr"], "urn:authservice:acr:loa1");
    assert_eq!(id_token["amr"], json!(["pwd"]), "a password sign-in");
    for claim in ["sub", "exp", "iat", "auth_time", "sid", "at_hash"] {
        assert!(
            id_token.get(claim).is_some(),
            "ID token lacks {claim}: {id_token}"
        );
    }
    let access_claims = claims_of(access);
    assert_eq!(access_claims["iss"], issuer);
    assert_eq!(access_claims["azp"], id);
    assert_eq!(access_claims["token_use"], "access");
    assert_eq!(
        access_claims["scope"],
        "openid email profile offline_access"
    );

    let (status, info) = userinfo(&app, &slug, access).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["sub"], id_token["sub"]);
    assert_eq!(info["email"], "ada@example.com");
    assert_eq!(info["email_verified"], false);

    // The app's token is no key to the account routes.
    let res = app
        .http
        .get(app.url("/api/auth/me"))
        .header("X-API-Key", &key)
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    // Its refresh token works only at the issuer, for the app.
    let res = app
        .http
        .post(app.url("/api/auth/refresh"))
        .header("X-API-Key", &key)
        .json(&json!({ "refresh_token": refresh, "token_transport": "json" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);

    let (status, refreshed) = token(
        &app,
        &slug,
        Some((id, secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let rotated = refreshed["refresh_token"].as_str().unwrap();
    assert_ne!(rotated, refresh);
    assert!(
        claims_of(refreshed["id_token"].as_str().unwrap())
            .get("nonce")
            .is_none()
    );
    assert_eq!(
        claims_of(refreshed["access_token"].as_str().unwrap())["scope"],
        "openid email profile offline_access"
    );

    // Without offline_access: no refresh token.
    let (_, location, _) = authorize(
        &app,
        &slug,
        &code_request(id, &[("scope", "openid email")]),
        Some(&cookie),
    )
    .await;
    let (status, online) = exchange(
        &app,
        &slug,
        id,
        secret,
        &param(&location.unwrap(), "code").unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(online.get("refresh_token").is_none(), "{online}");
    assert!(online["id_token"].is_string());

    // RP-initiated logout: the browser's and the app's sessions end.
    let hint = refreshed["id_token"].as_str().unwrap();
    let mut url = Url::parse(&app.url(&format!("/t/{slug}/logout"))).unwrap();
    url.query_pairs_mut()
        .append_pair("id_token_hint", hint)
        .append_pair("post_logout_redirect_uri", POST_LOGOUT)
        .append_pair("state", "bye-1");
    let res = app
        .http
        .get(url)
        .header("Cookie", format!("auth_refresh={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 302);
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        format!("{POST_LOGOUT}?state=bye-1")
    );
    let (status, _) = token(
        &app,
        &slug,
        Some((id, secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", rotated)],
    )
    .await;
    assert_eq!(status, 400, "the app's session ended");
    let (status, _) = userinfo(&app, &slug, refreshed["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 401, "its access token stops at once");
    let (status, location, _) = authorize(
        &app,
        &slug,
        &code_request(id, &[("prompt", "none")]),
        Some(&cookie),
    )
    .await;
    assert_eq!(status, 302);
    assert_eq!(
        param(&location.unwrap(), "error").as_deref(),
        Some("login_required"),
        "the browser's session ended"
    );

    // A logout of an unregistered address is shown, not followed.
    let mut url = Url::parse(&app.url(&format!("/t/{slug}/logout"))).unwrap();
    url.query_pairs_mut()
        .append_pair("id_token_hint", hint)
        .append_pair("post_logout_redirect_uri", "https://evil.example/");
    let res = app.http.get(url).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 400);
    assert!(res.headers().get("location").is_none());
    // Without a hint nothing ends unless the user confirms on this server's page.
    let res = app
        .http
        .get(app.url(&format!("/t/{slug}/logout")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.text().await.unwrap().contains("logout-confirm"));
}

#[tokio::test(flavor = "multi_thread")]
async fn authorize_shows_client_errors_and_redirects_the_others_with_state_and_iss() {
    let app = oidc_app().await;
    let (client, slug, key) = tenant(&app, json!({})).await;
    let (other, other_slug, other_key) = tenant(&app, json!({"name": "Globex"})).await;
    let registered = register(&app, &client, json!({})).await;
    let id = registered["client_id"].as_str().unwrap();
    let public = register(
        &app,
        &client,
        json!({"name": "SPA", "type": "public", "token_endpoint_auth_method": "none"}),
    )
    .await;
    let public_id = public["client_id"].as_str().unwrap();
    let foreign = register(&app, &other, json!({"name": "Globex app"})).await;
    let foreign_id = foreign["client_id"].as_str().unwrap();
    let issuer = app.url(&format!("/t/{slug}"));

    // Shown, never redirected.
    for (name, params) in [
        ("unknown client", code_request("app_nope", &[])),
        ("app of another tenant", code_request(foreign_id, &[])),
        (
            "wrong redirect_uri",
            code_request(id, &[("redirect_uri", "https://evil.example/cb")]),
        ),
        (
            "extra path on redirect_uri",
            code_request(id, &[("redirect_uri", "https://rp.example/cb/x")]),
        ),
        (
            "extra query on redirect_uri",
            code_request(id, &[("redirect_uri", "https://rp.example/cb?x=1")]),
        ),
        (
            "missing redirect_uri",
            code_request(id, &[("redirect_uri", "")]),
        ),
        ("missing client_id", code_request("", &[])),
    ] {
        let (status, location, body) = authorize(&app, &slug, &params, None).await;
        assert_eq!(status, 400, "{name}");
        assert!(location.is_none(), "{name}: never redirected");
        assert!(body.contains("oauth-error"), "{name}: {body}");
    }

    // Answered at the redirect URI with state and iss.
    for (name, params, error) in [
        (
            "prompt=none without a session",
            code_request(id, &[("prompt", "none")]),
            "login_required",
        ),
        (
            "response_type=token",
            code_request(id, &[("response_type", "token")]),
            "unsupported_response_type",
        ),
        (
            "scope not allowed",
            code_request(id, &[("scope", "openid admin")]),
            "invalid_scope",
        ),
        (
            "no scope",
            code_request(id, &[("scope", "")]),
            "invalid_scope",
        ),
        (
            "plain PKCE",
            code_request(id, &[("code_challenge_method", "plain")]),
            "invalid_request",
        ),
        (
            "PKCE without method",
            code_request(id, &[("code_challenge_method", "")]),
            "invalid_request",
        ),
        (
            "public app without PKCE",
            code_request(
                public_id,
                &[("code_challenge", ""), ("code_challenge_method", "")],
            ),
            "invalid_request",
        ),
        (
            "prompt none with login",
            code_request(id, &[("prompt", "none login")]),
            "invalid_request",
        ),
        (
            "bad max_age",
            code_request(id, &[("max_age", "soon")]),
            "invalid_request",
        ),
        (
            "request object",
            code_request(id, &[("request", "eyJ.x.y")]),
            "request_not_supported",
        ),
    ] {
        let (status, location, body) = authorize(&app, &slug, &params, None).await;
        assert_eq!(status, 302, "{name}: {body}");
        let location = location.unwrap();
        assert!(
            location.as_str().starts_with(REDIRECT),
            "{name}: {location}"
        );
        assert_eq!(param(&location, "error").as_deref(), Some(error), "{name}");
        assert_eq!(
            param(&location, "state").as_deref(),
            Some("st-123"),
            "{name}"
        );
        assert_eq!(
            param(&location, "iss").as_deref(),
            Some(issuer.as_str()),
            "{name}"
        );
        assert!(param(&location, "code").is_none(), "{name}");
    }

    // A user of tenant A never completes a flow at B's issuer: A's session is not found there.
    let cookie = browser_session(&app, &key, "ada@example.com").await;
    let (status, location, _) = authorize(
        &app,
        &other_slug,
        &code_request(foreign_id, &[]),
        Some(&cookie),
    )
    .await;
    assert_eq!(status, 302);
    assert_eq!(
        location.unwrap().path(),
        "/login.html",
        "sent to sign in at B"
    );
    let _ = other_key;
    // Unknown issuer.
    let (status, _, _) = authorize(&app, "no-such-tenant", &code_request(id, &[]), None).await;
    assert_eq!(status, 404);
    // prompt=login with a session: back to the login page.
    let (_, location, _) = authorize(
        &app,
        &slug,
        &code_request(id, &[("prompt", "login")]),
        Some(&cookie),
    )
    .await;
    assert_eq!(location.unwrap().path(), "/login.html");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_endpoint_refuses_replayed_foreign_and_unverified_codes() {
    let app = oidc_app_with(vec![("OIDC_CODE_TTL", "1s".to_owned())]).await;
    let (client, slug, key) = tenant(&app, json!({})).await;
    let registered = register(&app, &client, json!({})).await;
    let (id, secret) = (
        registered["client_id"].as_str().unwrap(),
        registered["client_secret"].as_str().unwrap(),
    );
    let second = register(&app, &client, json!({"name": "Other app"})).await;
    let (id2, secret2) = (
        second["client_id"].as_str().unwrap(),
        second["client_secret"].as_str().unwrap(),
    );
    let cookie = browser_session(&app, &key, "ada@example.com").await;
    let exchange_with = |code: String, redirect: &'static str, verifier: Option<&'static str>| {
        let (app, slug) = (&app, &slug);
        async move {
            let mut params = vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect),
            ];
            if let Some(v) = verifier {
                params.push(("code_verifier", v));
            }
            token(app, slug, Some((id, secret)), &params).await
        }
    };

    let code = code_for(&app, &slug, id, &cookie).await;
    let (status, body) = exchange_with(code, REDIRECT, Some("x".repeat(43).leak())).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "PKCE verifier mismatch"
    );
    let code = code_for(&app, &slug, id, &cookie).await;
    let (status, body) = exchange_with(code, REDIRECT, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "PKCE verifier missing"
    );
    let code = code_for(&app, &slug, id, &cookie).await;
    let (status, body) = exchange_with(code, "https://rp.example/other", Some(VERIFIER)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "another redirect_uri"
    );
    let code = code_for(&app, &slug, id, &cookie).await;
    let (status, body) = exchange(&app, &slug, id2, secret2, &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "code of another app"
    );
    let code = code_for(&app, &slug, id, &cookie).await;
    let (status, body) = exchange(&app, &slug, id, "wrong-secret", &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "bad client secret"
    );
    let (status, _) = exchange(&app, &slug, id, secret, &code).await;
    assert_eq!(
        status, 200,
        "a failed client authentication does not spend the code"
    );

    // Expired code.
    let code = code_for(&app, &slug, id, &cookie).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = exchange(&app, &slug, id, secret, &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "expired code"
    );

    // Replay: the second presentation fails and revokes what the first one issued.
    let code = code_for(&app, &slug, id, &cookie).await;
    let (status, first) = exchange(&app, &slug, id, secret, &code).await;
    assert_eq!(status, 200);
    let (status, _) = userinfo(&app, &slug, first["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    let (status, body) = exchange(&app, &slug, id, secret, &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "code replay"
    );
    let (status, _) = userinfo(&app, &slug, first["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 401, "the replay revoked the access token");
    let (status, body) = token(
        &app,
        &slug,
        Some((id, secret)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", first["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "and the refresh token"
    );
    assert!(
        !app.audit_events("event_type=oauth.code_replayed")
            .await
            .is_empty(),
        "the replay is audited"
    );

    // An app's refresh token is refused to another app of the tenant.
    let code = code_for(&app, &slug, id, &cookie).await;
    let (_, fresh) = exchange(&app, &slug, id, secret, &code).await;
    let (status, body) = token(
        &app,
        &slug,
        Some((id2, secret2)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", fresh["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // Revoking the refresh token (RFC 7009) ends the app's session.
    let res = app
        .http
        .post(app.url(&format!("/t/{slug}/revoke")))
        .basic_auth(id, Some(secret))
        .form(&[
            ("token", fresh["refresh_token"].as_str().unwrap()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let (status, _) = userinfo(&app, &slug, fresh["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hosted_login_serves_the_request_by_its_handle_and_consent_is_remembered_and_revocable()
{
    let app = oidc_app().await;
    let (client, slug, key) = tenant(&app, json!({})).await;
    let registered = register(
        &app,
        &client,
        json!({"name": "Partner portal", "first_party": false}),
    )
    .await;
    let (id, secret) = (
        registered["client_id"].as_str().unwrap(),
        registered["client_secret"].as_str().unwrap(),
    );
    signup(&app, &key, "ada@example.com").await;

    // No session: to the hosted login page with a handle (and the login hint), the request
    // bound to this browser by a cookie.
    let (status, location, _, binding) = authorize_binding(
        &app,
        &slug,
        &code_request(id, &[("login_hint", "ada@example.com")]),
        None,
    )
    .await;
    assert_eq!(status, 302);
    let binding = binding.expect("the request's browser cookie");
    let location = location.unwrap();
    assert_eq!(location.path(), "/login.html");
    assert_eq!(
        param(&location, "email").as_deref(),
        Some("ada@example.com")
    );
    let handle = param(&location, "oauth_request").unwrap();

    let res = app
        .http
        .get(app.url(&format!("/api/auth/oauth-requests/{handle}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let info: Value = res.json().await.unwrap();
    assert_eq!(info["app"]["name"], "Partner portal");
    assert_eq!(info["user"], Value::Null);
    let continue_url = info["continue_url"].as_str().unwrap().to_owned();
    assert!(continue_url.starts_with(&format!("/t/{slug}/authorize/continue")));

    // The page signs in with the handle in place of an API key.
    let cookie = sign_in(
        &app,
        &[("X-OAuth-Request", handle.as_str())],
        "ada@example.com",
    )
    .await;
    let res = app
        .http
        .post(app.url("/api/auth/login"))
        .header("X-OAuth-Request", "not-a-handle")
        .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404, "an unknown handle is no client");
    let res = app
        .http
        .post(app.url("/api/auth/login"))
        .header("X-OAuth-Request", &handle)
        .header("Origin", "https://evil.example")
        .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403, "only this server's own pages");

    // Another browser with the handle (leaked from the address bar) and its own session gets
    // nowhere: neither the way back nor the consent.
    let res = app
        .http
        .get(app.url(&continue_url))
        .header("Cookie", format!("auth_refresh={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400, "continued in another browser");
    assert!(res.headers().get("location").is_none());
    let res = app
        .http
        .get(app.url(&continue_url))
        .header(
            "Cookie",
            format!(
                "auth_refresh={cookie}; {}x",
                binding.trim_end_matches(|c| c != '=')
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400, "a wrong binding");

    // Back at the issuer in the browser that began: a third-party app needs consent.
    let res = app
        .http
        .get(app.url(&continue_url))
        .header("Cookie", format!("auth_refresh={cookie}; {binding}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 302);
    let to = app_url(&app, res.headers()["location"].to_str().unwrap());
    assert_eq!(to.path(), "/consent.html");
    let res = app
        .http
        .post(app.url(&format!("/api/auth/oauth-requests/{handle}/consent")))
        .header("Cookie", format!("auth_refresh={cookie}"))
        .json(&json!({ "approve": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404, "consent from another browser");
    let consent = |approve: bool| {
        let (app, handle, cookie) = (&app, handle.clone(), cookie.clone());
        let binding = binding.clone();
        async move {
            app.http
                .post(app.url(&format!("/api/auth/oauth-requests/{handle}/consent")))
                .header("Cookie", format!("auth_refresh={cookie}; {binding}"))
                .header("X-OAuth-Request", &handle)
                .json(&json!({ "approve": approve }))
                .send()
                .await
                .unwrap()
        }
    };
    let res = app
        .http
        .post(app.url(&format!("/api/auth/oauth-requests/{handle}/consent")))
        .header("Cookie", format!("auth_refresh={cookie}"))
        .header("Origin", "https://evil.example")
        .json(&json!({ "approve": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status().as_u16(),
        403,
        "a cross-site consent is refused"
    );
    let res = consent(true).await;
    assert_eq!(res.status().as_u16(), 200);
    let answer: Value = res.json().await.unwrap();
    let to = Url::parse(answer["redirect_to"].as_str().unwrap()).unwrap();
    assert!(to.as_str().starts_with(REDIRECT));
    let (status, tokens) = exchange(&app, &slug, id, secret, &param(&to, "code").unwrap()).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        consent(true).await.status().as_u16(),
        404,
        "a request is answered once"
    );

    // Remembered: the next authorization comes straight back.
    let code = code_for(&app, &slug, id, &cookie).await;
    assert!(!code.is_empty());
    // ... unless the app asks for more, or prompt=consent.
    let (_, location, _) = authorize(
        &app,
        &slug,
        &code_request(id, &[("scope", "openid crm.read")]),
        Some(&cookie),
    )
    .await;
    assert_eq!(location.unwrap().path(), "/consent.html");
    let (_, location, _) = authorize(
        &app,
        &slug,
        &code_request(id, &[("prompt", "none consent")]),
        Some(&cookie),
    )
    .await;
    assert_eq!(
        param(&location.unwrap(), "error").as_deref(),
        Some("invalid_request")
    );

    // The account page lists the app and disconnects it: its sessions end.
    let login: Value = app
        .http
        .post(app.url("/api/auth/login"))
        .header("X-API-Key", &key)
        .json(&json!({"email": "ada@example.com", "password": PASSWORD, "token_transport": "json"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let me = login["access_token"].as_str().unwrap();
    let res = app
        .http
        .get(app.url("/api/auth/consents"))
        .header("X-API-Key", &key)
        .bearer_auth(me)
        .send()
        .await
        .unwrap();
    let listed: Value = res.json().await.unwrap();
    assert_eq!(listed["data"][0]["app_id"], id);
    assert_eq!(listed["data"][0]["name"], "Partner portal");
    let res = app
        .http
        .delete(app.url(&format!("/api/auth/consents/{id}")))
        .header("X-API-Key", &key)
        .bearer_auth(me)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 204);
    // Once: a second disconnect finds nothing and records nothing (the unit is refused).
    let res = app
        .http
        .delete(app.url(&format!("/api/auth/consents/{id}")))
        .header("X-API-Key", &key)
        .bearer_auth(me)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    assert_eq!(
        app.audit_events("event_type=oauth.consent_revoked")
            .await
            .len(),
        1
    );
    let (status, body) = token(
        &app,
        &slug,
        Some((id, secret)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let (_, location, _) = authorize(&app, &slug, &code_request(id, &[]), Some(&cookie)).await;
    assert_eq!(location.unwrap().path(), "/consent.html", "asked again");
    for event in ["oauth.consent_granted", "oauth.consent_revoked"] {
        assert!(
            !app.audit_events(&format!("event_type={event}"))
                .await
                .is_empty(),
            "{event}"
        );
    }

    // Denying sends access_denied to the app.
    let (_, location, _, binding) =
        authorize_binding(&app, &slug, &code_request(id, &[]), Some(&cookie)).await;
    let handle = param(&location.unwrap(), "oauth_request").unwrap();
    let res = app
        .http
        .post(app.url(&format!("/api/auth/oauth-requests/{handle}/consent")))
        .header(
            "Cookie",
            format!("auth_refresh={cookie}; {}", binding.unwrap()),
        )
        .json(&json!({ "approve": false }))
        .send()
        .await
        .unwrap();
    let answer: Value = res.json().await.unwrap();
    let to = Url::parse(answer["redirect_to"].as_str().unwrap()).unwrap();
    assert_eq!(param(&to, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&to, "state").as_deref(), Some("st-123"));
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_metadata_has_every_required_field() {
    let app = oidc_app().await;
    let (_, slug, _) = tenant(&app, json!({})).await;
    let issuer = app.url(&format!("/t/{slug}"));
    let meta: Value = app
        .http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], issuer);
    for (field, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks"),
        ("revocation_endpoint", "/revoke"),
        ("introspection_endpoint", "/introspect"),
        ("end_session_endpoint", "/logout"),
    ] {
        assert_eq!(meta[field], format!("{issuer}{path}"), "{field}");
    }
    // OpenID Connect Discovery 1.0 §3: the required fields.
    for field in [
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
    ] {
        assert!(
            meta[field].as_array().is_some_and(|a| !a.is_empty()),
            "{field}"
        );
    }
    assert_eq!(meta["response_types_supported"], json!(["code"]));
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    for claim in ["auth_time", "acr", "amr", "sid", "at_hash", "nonce"] {
        assert!(
            meta["claims_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(claim)),
            "claims_supported lacks {claim}"
        );
    }
    assert_eq!(
        meta["acr_values_supported"],
        json!(["urn:authservice:acr:loa1", "urn:authservice:acr:loa2"])
    );
    assert!(
        meta["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("openid"))
    );
    assert!(
        meta["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a != "none" && a != "HS256")
    );
    // Every advertised endpoint exists.
    let jwks: Value = app
        .http
        .get(format!("{issuer}/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let alg = &meta["id_token_signing_alg_values_supported"][0];
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| &k["alg"] == alg)
    );

    // A v1_hs256 tenant offers no ID tokens.
    let (_, hs_slug, _) = tenant(&app, json!({"name": "Legacy", "token_mode": "v1_hs256"})).await;
    let meta: Value = app
        .http
        .get(app.url(&format!("/t/{hs_slug}/.well-known/openid-configuration")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(meta.get("id_token_signing_alg_values_supported").is_none());
    assert!(
        !meta["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("openid"))
    );
}

fn python_peer(script: &str) -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg(format!("{}/peers/{script}", env!("CARGO_MANIFEST_DIR")));
    cmd
}

fn run_json(mut cmd: Command, what: &str) -> Value {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{what}: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim().lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{what} printed no JSON ({e}): {stdout}"))
}

fn assert_authlib_flow(out: &Value, email: &str) {
    assert_eq!(out["discovery_ok"], true, "{out}");
    assert_eq!(out["authorize_status"], 302, "{out}");
    assert_eq!(out["iss_param_ok"], true, "{out}");
    assert_eq!(out["state_ok"], true, "{out}");
    assert_eq!(out["id_token_valid"], true, "{out}");
    assert_eq!(out["at_hash_checked"], true, "{out}");
    assert_eq!(out["userinfo_status"], 200, "{out}");
    assert_eq!(out["userinfo_sub_matches"], true, "{out}");
    assert_eq!(out["userinfo_email"], email, "{out}");
    assert_eq!(out["replay_status"], 400, "{out}");
    assert_eq!(out["replay_error"], "invalid_grant", "{out}");
    assert_eq!(out["userinfo_after_replay"], 401, "{out}");
    assert_eq!(out["refresh_after_replay_error"], "invalid_grant", "{out}");
    assert_eq!(out["refresh_rotated"], true, "{out}");
    assert_eq!(out["old_refresh_error"], "invalid_grant", "{out}");
    assert_eq!(out["revoke_status"], 200, "{out}");
    assert_eq!(out["revoked_refresh_error"], "invalid_grant", "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn authlib_runs_the_code_flow_with_client_secret_basic_and_private_key_jwt() {
    let app = oidc_app().await;
    let (client, slug, key) = tenant(&app, json!({})).await;
    let issuer = app.url(&format!("/t/{slug}"));
    signup(&app, &key, "ada@example.com").await;

    let registered = register(&app, &client, json!({})).await;
    let mut cmd = python_peer("oidc_code_flow.py");
    cmd.args([
        "--issuer",
        &issuer,
        "--api-key",
        &key,
        "--email",
        "ada@example.com",
    ])
    .args(["--password", PASSWORD, "--redirect-uri", REDIRECT])
    .args(["--client-id", registered["client_id"].as_str().unwrap()])
    .args([
        "--client-secret",
        registered["client_secret"].as_str().unwrap(),
    ])
    .args(["--auth-method", "client_secret_basic"]);
    let out = run_json(cmd, "Authlib client_secret_basic");
    assert_authlib_flow(&out, "ada@example.com");

    let keygen = run_json(
        {
            let mut c = python_peer("private_key_jwt.py");
            c.arg("keygen");
            c
        },
        "keygen",
    );
    let jwk_file =
        std::env::temp_dir().join(format!("oidc-jwk-{}.json", uuid::Uuid::new_v4().simple()));
    std::fs::write(&jwk_file, keygen["private_jwk"].to_string()).unwrap();
    let registered = register(
        &app,
        &client,
        json!({
            "name": "Signed app",
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [keygen["public_jwk"]]},
        }),
    )
    .await;
    let mut cmd = python_peer("oidc_code_flow.py");
    cmd.args([
        "--issuer",
        &issuer,
        "--api-key",
        &key,
        "--email",
        "ada@example.com",
    ])
    .args(["--password", PASSWORD, "--redirect-uri", REDIRECT])
    .args(["--client-id", registered["client_id"].as_str().unwrap()])
    .arg("--private-key-jwk")
    .arg(&jwk_file);
    let out = run_json(cmd, "Authlib private_key_jwt");
    assert_eq!(out["auth_method"], "private_key_jwt");
    assert_authlib_flow(&out, "ada@example.com");
    let _ = std::fs::remove_file(jwk_file);
}

#[tokio::test(flavor = "multi_thread")]
async fn openid_client_signs_a_user_in_through_the_hosted_pages_in_chromium() {
    let app = oidc_app().await;
    let (client, slug, key) = tenant(&app, json!({})).await;
    signup(&app, &key, "ada@example.com").await;
    let registered = register(
        &app,
        &client,
        json!({
            "name": "Partner SPA",
            "type": "public",
            "token_endpoint_auth_method": "none",
            "first_party": false,
        }),
    )
    .await;
    let issuer = app.url(&format!("/t/{slug}"));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/browser/oidc_rp.mjs");
    let mut cmd = Command::new("node");
    cmd.arg(script)
        .args([
            &issuer,
            registered["client_id"].as_str().unwrap(),
            REDIRECT,
            POST_LOGOUT,
        ])
        .args(["ada@example.com", PASSWORD]);
    let out = tokio::task::spawn_blocking(move || run_json(cmd, "openid-client"))
        .await
        .unwrap();
    assert_eq!(out["login_page_shown"], true, "{out}");
    assert_eq!(out["consent_shown"], true, "{out}");
    assert_eq!(out["id_token_email"], "ada@example.com", "{out}");
    assert_eq!(out["userinfo_email"], "ada@example.com", "{out}");
    assert_eq!(out["userinfo_sub"], out["sub"], "{out}");
    assert_eq!(out["has_refresh_token"], true, "{out}");
    assert_eq!(out["refresh_rotated"], true, "{out}");
    assert_eq!(out["revoke_ok"], true, "{out}");
    assert_eq!(out["revoked_refresh_error"], "invalid_grant", "{out}");
    assert_eq!(out["silent_second_login"], true, "{out}");
    assert_eq!(out["prompt_none_ok"], true, "{out}");
    assert_eq!(out["logout_redirect_ok"], true, "{out}");
    assert_eq!(out["logout_state_ok"], true, "{out}");
    assert_eq!(out["after_logout_error"], "login_required", "{out}");
    assert_eq!(out["console_errors"], json!([]), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_users_id_token_signs_nobody_out_and_app_tokens_show_only_what_was_granted() {
    let app = oidc_app().await;
    let (client, slug, key) = tenant(&app, json!({})).await;
    let registered = register(&app, &client, json!({})).await;
    let (id, secret) = (
        registered["client_id"].as_str().unwrap(),
        registered["client_secret"].as_str().unwrap(),
    );
    let victim = browser_session(&app, &key, "victim@example.com").await;
    let attacker = browser_session(&app, &key, "mallory@example.com").await;

    // The attacker's own ID token, replayed at the victim's browser.
    let (_, location, _) = authorize(
        &app,
        &slug,
        &code_request(id, &[("scope", "openid")]),
        Some(&attacker),
    )
    .await;
    let (status, tokens) = exchange(
        &app,
        &slug,
        id,
        secret,
        &param(&location.unwrap(), "code").unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let access = claims_of(tokens["access_token"].as_str().unwrap());
    assert!(
        access.get("email").is_none_or(|e| e == ""),
        "no email scope, no address: {access}"
    );
    assert!(
        access.get("role").is_none_or(|r| r == ""),
        "an app never sees the role: {access}"
    );
    let mut url = Url::parse(&app.url(&format!("/t/{slug}/logout"))).unwrap();
    url.query_pairs_mut()
        .append_pair("id_token_hint", tokens["id_token"].as_str().unwrap());
    let res = app
        .http
        .get(url)
        .header("Cookie", format!("auth_refresh={victim}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        !res.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("auth_refresh=;")),
        "the victim's cookie is not cleared"
    );
    let (status, location, _) = authorize(
        &app,
        &slug,
        &code_request(id, &[("prompt", "none")]),
        Some(&victim),
    )
    .await;
    assert_eq!(status, 302);
    assert!(
        param(&location.unwrap(), "code").is_some(),
        "the victim is still signed in"
    );

    // A request parked at the login page cannot be decided on the consent endpoint.
    let third = register(
        &app,
        &client,
        json!({"name": "Partner", "first_party": false}),
    )
    .await;
    let (_, location, _, binding) = authorize_binding(
        &app,
        &slug,
        &code_request(third["client_id"].as_str().unwrap(), &[("prompt", "login")]),
        Some(&victim),
    )
    .await;
    let location = location.unwrap();
    assert_eq!(location.path(), "/login.html");
    let handle = param(&location, "oauth_request").unwrap();
    let res = app
        .http
        .post(app.url(&format!("/api/auth/oauth-requests/{handle}/consent")))
        .header(
            "Cookie",
            format!("auth_refresh={victim}; {}", binding.unwrap()),
        )
        .json(&json!({ "approve": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404, "prompt=login is not skipped");
}

#[tokio::test(flavor = "multi_thread")]
async fn enormous_and_malformed_oidc_input_is_refused_cleanly() {
    let app = oidc_app().await;
    let (client, slug, _) = tenant(&app, json!({})).await;
    let registered = register(&app, &client, json!({})).await;
    let (id, secret) = (
        registered["client_id"].as_str().unwrap(),
        registered["client_secret"].as_str().unwrap(),
    );
    let big = "x".repeat(5000);
    let (status, location, _) = authorize(&app, &slug, &code_request(&big, &[]), None).await;
    assert_eq!(
        (status, location),
        (400, None),
        "enormous client_id is shown"
    );
    let (status, location, _) =
        authorize(&app, &slug, &code_request(id, &[("state", &big)]), None).await;
    assert_eq!(status, 302);
    assert_eq!(
        param(&location.unwrap(), "error").as_deref(),
        Some("invalid_request")
    );
    let (status, location, _) =
        authorize(&app, &slug, &code_request(id, &[("nonce", &big)]), None).await;
    assert_eq!(status, 302);
    assert_eq!(
        param(&location.unwrap(), "error").as_deref(),
        Some("invalid_request")
    );
    // A repeated parameter is shown, not guessed at.
    let url = format!(
        "{}?client_id={id}&client_id={id}&response_type=code",
        app.url(&format!("/t/{slug}/authorize"))
    );
    let res = app.http.get(url).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 400);
    // Token endpoint: an enormous or garbage code is invalid_grant.
    for code in [big.as_str(), "%%%", ""] {
        let (status, body) = exchange(&app, &slug, id, secret, code).await;
        assert_eq!(status, 400, "{body}");
        assert!(matches!(
            body["error"].as_str(),
            Some("invalid_grant" | "invalid_request")
        ));
    }
    // Logout: enormous state or a garbage hint is shown, never followed.
    for (k, v) in [("state", big.as_str()), ("id_token_hint", "not.a.jwt")] {
        let mut url = Url::parse(&app.url(&format!("/t/{slug}/logout"))).unwrap();
        url.query_pairs_mut().append_pair(k, v);
        let res = app.http.get(url).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 400, "{k}");
        assert!(res.headers().get("location").is_none());
    }
    // Userinfo with a garbage token, and the consent API with an enormous handle.
    let (status, _) = userinfo(&app, &slug, "garbage").await;
    assert_eq!(status, 401);
    let res = app
        .http
        .get(app.url(&format!("/api/auth/oauth-requests/{big}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
}

/// Starts an authorization without a session: the hosted login's request handle and the URL
/// the pages continue at once signed in (with the browser's binding cookie in its query, for
/// [`continue_with`]).
async fn pending_request(app: &TestApp, slug: &str, client_id: &str) -> (String, String) {
    let (status, location, _, binding) =
        authorize_binding(app, slug, &code_request(client_id, &[]), None).await;
    assert_eq!(status, 302);
    let handle = param(&location.unwrap(), "oauth_request").expect("a handle");
    let info: Value = app
        .http
        .get(app.url(&format!("/api/auth/oauth-requests/{handle}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let continue_url = info["continue_url"].as_str().unwrap().to_owned();
    (handle, format!("{continue_url}#{}", binding.unwrap()))
}

/// Follows the hosted pages' way back to the issuer with the new session `cookie`; returns
/// the code the app receives.
async fn continue_with(app: &TestApp, continue_url: &str, cookie: &str) -> String {
    let (continue_url, binding) = continue_url.split_once('#').unwrap();
    let res = app
        .http
        .get(app.url(continue_url))
        .header("Cookie", format!("auth_refresh={cookie}; {binding}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 302);
    // Answered: the browser forgets the binding.
    let name = binding.split('=').next().unwrap();
    assert!(
        res.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.starts_with(&format!("{name}=;")) && v.contains("Max-Age=0")),
        "the binding cookie is cleared"
    );
    let to = app_url(app, res.headers()["location"].to_str().unwrap());
    assert!(to.as_str().starts_with(REDIRECT), "{to}");
    param(&to, "code").expect("a code")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_factor_or_a_magic_link_in_the_middle_of_the_flow_shows_in_amr_and_acr() {
    let sink = authservice_tests::smtp::SmtpSink::start().await;
    let app = oidc_app_with(authservice_tests::smtp_env(sink.port())).await;
    let (client, slug, key) = tenant(&app, json!({})).await;
    let registered = register(&app, &client, json!({})).await;
    let (id, secret) = (
        registered["client_id"].as_str().unwrap(),
        registered["client_secret"].as_str().unwrap(),
    );

    // Password, then TOTP, on the hosted login page (by the request's handle).
    let access = signup(&app, &key, "tia@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (totp_secret, t0, _) = enrol_totp(&app, &key, &access).await;
    let (handle, continue_url) = pending_request(&app, &slug, id).await;
    let res = app
        .http
        .post(app.url("/api/auth/login"))
        .header("X-OAuth-Request", &handle)
        .json(
            &json!({"email": "tia@example.com", "password": PASSWORD, "token_transport": "cookie"}),
        )
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["requires_2fa"], true, "{body}");
    let res = app
        .http
        .post(app.url("/api/auth/totp/verify"))
        .header("X-OAuth-Request", &handle)
        .json(&json!({
            "two_factor_token": body["two_factor_token"],
            "code": pyotp(&totp_secret, t0 + 30),
            "token_transport": "cookie",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let cookie = refresh_cookie(&res);
    let code = continue_with(&app, &continue_url, &cookie).await;
    let (status, tokens) = exchange(&app, &slug, id, secret, &code).await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["amr"], json!(["pwd", "otp", "mfa"]), "{id_token}");
    assert_eq!(id_token["acr"], "urn:authservice:acr:loa2");
    let access_claims = claims_of(tokens["access_token"].as_str().unwrap());
    assert_eq!(access_claims["amr"], json!(["pwd", "otp", "mfa"]));
    // Introspection tells resource servers too, and a refresh keeps it.
    let res = app
        .http
        .post(app.url(&format!("/t/{slug}/introspect")))
        .basic_auth(id, Some(secret))
        .form(&[("token", tokens["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    let introspected: Value = res.json().await.unwrap();
    assert_eq!(introspected["active"], true, "{introspected}");
    assert_eq!(introspected["amr"], json!(["pwd", "otp", "mfa"]));
    let (status, refreshed) = token(
        &app,
        &slug,
        Some((id, secret)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let id_token = claims_of(refreshed["id_token"].as_str().unwrap());
    assert_eq!(id_token["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(id_token["acr"], "urn:authservice:acr:loa2");
    assert_eq!(
        claims_of(refreshed["access_token"].as_str().unwrap())["amr"],
        json!(["pwd", "otp", "mfa"])
    );

    // A magic link opened from the inbox.
    signup(&app, &key, "mo@example.com").await;
    let (handle, continue_url) = pending_request(&app, &slug, id).await;
    let res = app
        .http
        .post(app.url("/api/auth/magic-link/send"))
        .header("X-OAuth-Request", &handle)
        .json(&json!({"email": "mo@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let link_token = sink
        .wait_for_text(
            "mo@example.com",
            "/api/auth/magic-link/verify",
            Duration::from_secs(15),
        )
        .await
        .query_param("/api/auth/magic-link/verify", "token");
    let res = app
        .http
        .post(app.url("/api/auth/magic-link/verify"))
        .json(&json!({"token": link_token, "token_transport": "cookie"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let cookie = refresh_cookie(&res);
    let code = continue_with(&app, &continue_url, &cookie).await;
    let (status, tokens) = exchange(&app, &slug, id, secret, &code).await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["amr"], json!(["email"]), "{id_token}");
    assert_eq!(id_token["acr"], "urn:authservice:acr:loa1");
    assert_eq!(id_token["email"], "mo@example.com");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_passkey_on_the_hosted_login_page_completes_the_flow_in_chromium() {
    let app = oidc_app().await;
    let base = app.localhost_base();
    let (client, slug, key) = tenant(
        &app,
        json!({
            "allowed_origins": [base],
            "settings": {"webauthn_rp_id": "localhost", "webauthn_rp_origin": base},
        }),
    )
    .await;
    // The app's redirect URI is a page of this server, so the browser really lands there.
    let back = format!("{base}/healthz");
    let registered = register(&app, &client, json!({"redirect_uris": [back]})).await;
    let (id, secret) = (
        registered["client_id"].as_str().unwrap(),
        registered["client_secret"].as_str().unwrap(),
    );
    let access = signup(&app, &key, "pia@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut browser = authservice_tests::browser::Browser::launch(&base).await;
    let registered = browser
        .step(json!({ "op": "register", "key": key, "access": access, "name": "Laptop" }))
        .await;
    assert_eq!(registered["status"], 201, "{registered}");

    let mut url = Url::parse(&format!("{base}/t/{slug}/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs(code_request(
        id,
        &[
            ("redirect_uri", back.as_str()),
            ("scope", "openid email"),
            ("login_hint", "pia@example.com"),
        ],
    ));
    let landed = browser
        .step(json!({ "op": "goto", "url": url.as_str() }))
        .await;
    let landed = Url::parse(landed["url"].as_str().expect("a page")).unwrap();
    assert_eq!(landed.path(), "/login.html", "{landed}");
    // The page offers the passkey in the email field's autofill (conditional mediation), which
    // the virtual authenticator answers at once; where the browser has no autofill for
    // passkeys, the button is the way in.
    let mut done = browser
        .step(json!({ "op": "wait_url", "path": "/healthz", "timeout": 5000 }))
        .await;
    if done.get("error").is_some() {
        let clicked = browser
            .step(json!({ "op": "click", "name": "Sign in with a passkey" }))
            .await;
        assert!(clicked.get("error").is_none(), "{clicked}");
        done = browser
            .step(json!({ "op": "wait_url", "path": "/healthz" }))
            .await;
    }
    let done = Url::parse(done["url"].as_str().unwrap_or_else(|| panic!("{done}"))).unwrap();
    assert_eq!(param(&done, "state").as_deref(), Some("st-123"));
    let code = param(&done, "code").expect("a code");
    browser.close().await;

    let (status, tokens) = token(
        &app,
        &slug,
        Some((id, secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &back),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["email"], "pia@example.com");
    assert_eq!(id_token["amr"], json!(["hwk", "user", "mfa"]), "{id_token}");
    assert_eq!(id_token["acr"], "urn:authservice:acr:loa2");
}

#[tokio::test(flavor = "multi_thread")]
async fn authorization_requests_are_limited_per_address() {
    let app = oidc_app_with(vec![("OAUTH_AUTHORIZE_RATE_LIMIT", "3/1m".to_owned())]).await;
    let (client, slug, _key) = tenant(&app, json!({})).await;
    let registered = register(&app, &client, json!({})).await;
    let id = registered["client_id"].as_str().unwrap();
    for _ in 0..3 {
        let (status, location, _) = authorize(&app, &slug, &code_request(id, &[]), None).await;
        assert_eq!(status, 302);
        assert_eq!(location.unwrap().path(), "/login.html");
    }
    let mut url = Url::parse(&app.url(&format!("/t/{slug}/authorize"))).unwrap();
    url.query_pairs_mut().extend_pairs(code_request(id, &[]));
    let res = app.http.get(url).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 429);
    assert!(
        res.headers().get("location").is_none(),
        "shown, not redirected"
    );
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("data-error=\"temporarily_unavailable\"")
    );
}
