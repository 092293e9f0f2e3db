use authservice_tests::{AppOptions, TestApp, spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};

use crate::auth_helpers::{PASSWORD, key_of};

const ORIGIN: &str = "https://app.example.com";

fn refresh_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("auth_refresh="))
        .map(str::to_owned)
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("auth_refresh=")
        .to_owned()
}

async fn post(
    app: &TestApp,
    path: &str,
    key: &str,
    origin: Option<&str>,
    cookie: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut req = app
        .http
        .request(Method::POST, app.url(path))
        .header("X-API-Key", key)
        .json(&body);
    if let Some(origin) = origin {
        req = req.header("Origin", origin);
    }
    if let Some(cookie) = cookie {
        req = req.header("Cookie", format!("auth_refresh={cookie}"));
    }
    req.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn cookie_transport_is_the_default_and_rotates_through_the_cookie() {
    let app = spawn_app().await;
    let key = key_of(&app.new_client().await);

    let res = post(
        &app,
        "/api/auth/signup",
        &key,
        Some(ORIGIN),
        None,
        json!({"email": "cookie@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let set = refresh_cookie(&res).expect("auth_refresh cookie");
    for attribute in ["HttpOnly", "Path=/", "SameSite=Lax", "Max-Age=604800"] {
        assert!(set.contains(attribute), "{attribute} missing in {set}");
    }
    assert!(!set.contains("Secure"), "no Secure over http");
    let body: Value = res.json().await.unwrap();
    assert!(
        body.get("refresh_token").is_none(),
        "the token is only in the cookie"
    );
    assert_eq!(
        body["refresh"],
        json!({"transport": "cookie", "cookie_name": "auth_refresh", "expires_in": 604800})
    );
    let first = cookie_value(&set);

    // Refresh through the cookie: needs an Origin, and one the client allows.
    let res = post(
        &app,
        "/api/auth/refresh",
        &key,
        None,
        Some(&first),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "origin_not_allowed"
    );
    let res = post(
        &app,
        "/api/auth/refresh",
        &key,
        Some("https://evil.example.com"),
        Some(&first),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 403);
    let res = post(
        &app,
        "/api/auth/refresh",
        &key,
        Some(ORIGIN),
        Some(&first),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], ORIGIN);
    let second = cookie_value(&refresh_cookie(&res).expect("rotated cookie"));
    assert_ne!(first, second);
    assert_eq!(
        res.json::<Value>().await.unwrap()["refresh"]["transport"],
        "cookie"
    );

    // Replaying the old cookie is reuse.
    let res = post(
        &app,
        "/api/auth/refresh",
        &key,
        Some(ORIGIN),
        Some(&first),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "refresh_token_reused"
    );

    // Logout reads the cookie and clears it.
    let login = post(
        &app,
        "/api/auth/login",
        &key,
        Some(ORIGIN),
        None,
        json!({"email": "cookie@example.com", "password": PASSWORD}),
    )
    .await;
    let live = cookie_value(&refresh_cookie(&login).unwrap());
    let res = post(
        &app,
        "/api/auth/logout",
        &key,
        Some(ORIGIN),
        Some(&live),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let cleared = refresh_cookie(&res).expect("clearing cookie");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(res.json::<Value>().await.unwrap()["revoked"], true);
    let res = post(
        &app,
        "/api/auth/refresh",
        &key,
        Some(ORIGIN),
        Some(&live),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_transport_and_secure_cookies_over_https() {
    let app = spawn_app_with(AppOptions {
        env: vec![
            ("BASE_URL", "https://auth.example.com".to_owned()),
            ("COOKIE_DOMAIN", "example.com".to_owned()),
        ],
        ..AppOptions::default()
    })
    .await;
    let key = key_of(&app.new_client().await);
    let res = post(
        &app,
        "/api/auth/signup",
        &key,
        None,
        None,
        json!({"email": "secure@example.com", "password": PASSWORD}),
    )
    .await;
    let set = refresh_cookie(&res).unwrap();
    for attribute in ["Secure", "SameSite=None", "Domain=example.com", "HttpOnly"] {
        assert!(set.contains(attribute), "{attribute} missing in {set}");
    }
    // session_mode=token (alias of json): no cookie, token in the body.
    let res = post(
        &app,
        "/api/auth/login",
        &key,
        None,
        None,
        json!({"email": "secure@example.com", "password": PASSWORD, "session_mode": "token"}),
    )
    .await;
    assert!(refresh_cookie(&res).is_none());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["refresh"]["transport"], "json");
    assert_eq!(body["refresh_token"].as_str().unwrap().len(), 64);
    let res = post(&app, "/api/auth/login", &key, None, None, json!({"email": "secure@example.com", "password": PASSWORD, "token_transport": "carrier-pigeon"})).await;
    assert_eq!(res.status(), 400);
}
