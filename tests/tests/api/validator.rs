//! The authservice-validator crate against a live server.

use std::process::Command;
use std::time::Duration;

use authservice_tests::{TcpProxy, TestApp, spawn_app};
use authservice_validator::{JwksOptions, ValidationError, Validator, ValidatorOptions};
use reqwest::Method;
use serde_json::{Value, json};

use crate::auth_helpers::{PASSWORD, b64url_encode, call, key_of, signup};

const ISSUER: &str = "http://localhost:8080";

fn options(client_id: &str) -> ValidatorOptions {
    ValidatorOptions::new(ISSUER, client_id)
}

/// An app whose JWKS endpoint publishes every client's keys (`JWKS_PUBLISH_ALL=true`), so a
/// validator can see another tenant's keys and only its own checks stand in the way.
async fn app_publishing_all_keys() -> TestApp {
    authservice_tests::spawn_app_with(authservice_tests::AppOptions {
        env: vec![("JWKS_PUBLISH_ALL", "true".to_owned())],
        ..Default::default()
    })
    .await
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
    let mut parts = token.split('.');
    let (_, payload, sig) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    format!(
        "{}.{payload}.{sig}",
        b64url_encode(format!(r#"{{"alg":"ES256","typ":"JWT","kid":"{kid}"}}"#).as_bytes())
    )
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
    let url = format!(
        "http://127.0.0.1:{}/.well-known/jwks.json?client_id={id}",
        proxy.port
    );
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
    let app = app_publishing_all_keys().await;
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
        b64url_encode(br#"{"alg":"none","typ":"JWT"}"#)
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

#[tokio::test(flavor = "multi_thread")]
async fn actix_middleware_puts_claims_in_extensions_and_answers_401_403() {
    use actix_web::middleware::from_fn;
    use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer, web};
    use authservice_validator::actix::require_token;
    use authservice_validator::{Claims, Requirements};

    let app = spawn_app().await;
    let created = app.new_client().await;
    let key = key_of(&created);
    let id = created["client"]["id"].as_str().unwrap().to_owned();
    let tokens = signup(&app, &key, "actix@example.com").await;
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let validator = Validator::jwks(
        &app.url(&format!("/.well-known/jwks.json?client_id={id}")),
        options(&id),
        JwksOptions::default(),
    );

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        let (open, admin) = (validator.clone(), validator.clone());
        App::new()
            .service(
                web::scope("/open")
                    .wrap(from_fn(move |req, next| {
                        require_token(open.clone(), Requirements::default(), req, next)
                    }))
                    .route(
                        "",
                        web::get().to(|req: HttpRequest| async move {
                            let sub = req
                                .extensions()
                                .get::<Claims>()
                                .map(|c| c.sub.clone())
                                .unwrap_or_default();
                            HttpResponse::Ok().body(sub)
                        }),
                    ),
            )
            .service(
                web::scope("/admin")
                    .wrap(from_fn(move |req, next| {
                        let needs = Requirements {
                            scopes: vec!["admin".into()],
                            ..Requirements::default()
                        };
                        require_token(admin.clone(), needs, req, next)
                    }))
                    .route("", web::get().to(|| async { HttpResponse::Ok().finish() })),
            )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    let res = http.get(format!("{base}/open")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "missing_token");
    let res = http
        .get(format!("{base}/open"))
        .bearer_auth("not.a.jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = http
        .get(format!("{base}/open"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.text().await.unwrap(),
        tokens["user"]["id"].as_str().unwrap()
    );
    let res = http
        .get(format!("{base}/admin"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "insufficient_scope"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tower_layer_puts_claims_in_extensions_and_answers_401_403() {
    use authservice_validator::tower::ValidatorLayer;
    use authservice_validator::{Claims, Requirements};
    use tower::ServiceExt;
    use tower_layer::Layer;

    let app = spawn_app().await;
    let created = app.new_client().await;
    let key = key_of(&created);
    let id = created["client"]["id"].as_str().unwrap().to_owned();
    let tokens = signup(&app, &key, "tower@example.com").await;
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let validator = Validator::jwks(
        &app.url(&format!("/.well-known/jwks.json?client_id={id}")),
        options(&id),
        JwksOptions::default(),
    );
    let inner = tower::service_fn(|req: http::Request<String>| async move {
        let sub = req
            .extensions()
            .get::<Claims>()
            .map(|c| c.sub.clone())
            .unwrap_or_default();
        Ok::<_, std::convert::Infallible>(http::Response::new(sub))
    });
    let request = |auth: Option<&str>| {
        let mut builder = http::Request::builder().uri("/");
        if let Some(auth) = auth {
            builder = builder.header("authorization", auth);
        }
        builder.body(String::new()).unwrap()
    };

    let open = ValidatorLayer::new(validator.clone(), Requirements::default()).layer(inner);
    let res = open.clone().oneshot(request(None)).await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.body().contains("missing_token"));
    let res = open
        .clone()
        .oneshot(request(Some(&format!("Bearer {token}"))))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.body(), tokens["user"]["id"].as_str().unwrap());
    let strict = ValidatorLayer::new(
        validator,
        Requirements {
            token_use: Some("client_credentials".into()),
            ..Requirements::default()
        },
    )
    .layer(tower::service_fn(|_req: http::Request<String>| async {
        Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    }));
    let res = strict
        .oneshot(request(Some(&format!("Bearer {token}"))))
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.body().contains("wrong_token_use"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_validator_refuses_another_tenants_token_by_default() {
    // Even with every tenant's keys in reach, a validator built the only way the API allows
    // (issuer and audience given) refuses a token of another client of the same AuthService.
    let app = app_publishing_all_keys().await;
    let mine = app.new_client().await;
    let id = mine["client"]["id"].as_str().unwrap().to_owned();
    let theirs = app.new_client().await;
    let own = signup(&app, &key_of(&mine), "own@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let foreign = signup(&app, &key_of(&theirs), "foreign@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let jwks = app.url("/.well-known/jwks.json");
    let validator = Validator::jwks(
        &jwks,
        ValidatorOptions::new(ISSUER, &id),
        JwksOptions::default(),
    );
    assert!(validator.validate(&own).await.is_ok());
    assert_eq!(
        validator.validate(&foreign).await.unwrap_err(),
        ValidationError::WrongAudience
    );
    // The issuer is checked too.
    let elsewhere = Validator::jwks(
        &jwks,
        ValidatorOptions::new("https://auth.elsewhere.example", &id),
        JwksOptions::default(),
    );
    assert_eq!(
        elsewhere.validate(&own).await.unwrap_err(),
        ValidationError::WrongIssuer
    );
    // Accepting every tenant takes an explicit, loudly named opt-out.
    let any = Validator::jwks(
        &jwks,
        ValidatorOptions::new(ISSUER, &id).insecure_any_audience(),
        JwksOptions::default(),
    );
    assert!(any.validate(&foreign).await.is_ok());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_jwks_endpoint_does_not_publish_every_tenants_keys_by_default() {
    let app = spawn_app().await;
    let a = app.new_client().await;
    let id_a = a["client"]["id"].as_str().unwrap().to_owned();
    app.new_client().await;
    let res = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "client_required");
    for req in [
        app.http
            .get(app.url(&format!("/.well-known/jwks.json?client_id={id_a}"))),
        app.http
            .get(app.url("/.well-known/jwks.json"))
            .header("X-API-Key", key_of(&a)),
    ] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200);
        let set: Value = res.json().await.unwrap();
        assert_eq!(set["keys"].as_array().unwrap().len(), 1, "{set}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn authorize_checks_the_permissions_of_an_organization_token() {
    use authservice_validator::{AuthorizationError, Requirements, authorize};
    let app = spawn_app().await;
    let created = app.new_client().await;
    let key = key_of(&created);
    let id = created["client"]["id"].as_str().unwrap().to_owned();
    let signed_up = signup(&app, &key, "org-validator@example.com").await;
    let access = signed_up["access_token"].as_str().unwrap();
    let org = call(
        &app,
        Method::POST,
        "/api/auth/organizations",
        &key,
        Some(json!({"name": "Validated"})),
        Some(access),
    )
    .await
    .json::<Value>()
    .await
    .unwrap();
    let issued = call(
        &app,
        Method::POST,
        &format!(
            "/api/auth/organizations/{}/token",
            org["id"].as_str().unwrap()
        ),
        &key,
        None,
        Some(access),
    )
    .await
    .json::<Value>()
    .await
    .unwrap();
    let url = app.url(&format!("/.well-known/jwks.json?client_id={id}"));
    let validator = Validator::jwks(&url, options(&id), JwksOptions::default());
    let claims = validator
        .validate(issued["access_token"].as_str().unwrap())
        .await
        .expect("an organization token validates");
    assert_eq!(claims.org_id, org["id"].as_str().unwrap());
    assert_eq!(claims.org_role, "owner");
    let needs = |permission: &str| Requirements {
        org_permissions: vec![permission.to_owned()],
        ..Requirements::default()
    };
    assert!(authorize(&claims, &needs("members:invite")).is_ok());
    assert!(
        authorize(
            &claims,
            &Requirements {
                org_role: Some("admin".to_owned()),
                ..Requirements::default()
            }
        )
        .is_ok()
    );
    // The user's plain token names no organization: no organization permission.
    let plain = validator.validate(access).await.unwrap();
    assert_eq!(
        authorize(&plain, &needs("members:invite")).unwrap_err(),
        AuthorizationError::MissingPermission("members:invite".to_owned())
    );
}
