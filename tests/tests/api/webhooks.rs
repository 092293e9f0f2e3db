//! Webhooks end to end: a local receiver verifies every message with the Standard Webhooks
//! reference library (Python `standardwebhooks`); deliveries are retried while it is down,
//! logged, replayed, signed with both secrets during a rotation's overlap; the SSRF guard
//! refuses internal targets by default.

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use authservice_tests::{AppOptions, TestApp, spawn_app_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::admin_user_care::admin;
use crate::auth_helpers::{key_of, signup};

struct Receiver {
    child: Child,
    port: u16,
}

impl Receiver {
    fn start() -> Self {
        let mut child = Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/peers/webhook_receiver.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run python3 tests/peers/webhook_receiver.py (pip install -r tests/peers/requirements.txt)");
        let line = authservice_tests::first_line(&mut child, "the webhook receiver");
        Self {
            child,
            port: line.parse().expect("the receiver's port"),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    async fn control(&self, path: &str, body: Value) {
        let res = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}{path}", self.port))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }

    async fn received(&self) -> Vec<Value> {
        reqwest::get(format!("http://127.0.0.1:{}/_received", self.port))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits until `pred` holds for what was received.
    async fn wait_for(&self, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.received().await;
            if pred(&got) {
                return got;
            }
            assert!(std::time::Instant::now() < deadline, "{what}: {got:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stdin) = self.child.stdin.as_mut() {
            let _ = stdin.write_all(b"");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn deliveries(app: &TestApp, hooks: &str, query: &str) -> Vec<Value> {
    let (status, body) = admin(
        app,
        Method::GET,
        &format!("{hooks}/deliveries?{query}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn webhooks_are_signed_retried_logged_and_replayed() {
    let receiver = Receiver::start();
    let app = spawn_app_with(AppOptions {
        env: vec![
            ("WEBHOOK_ALLOW_PRIVATE", "true".to_owned()),
            ("WEBHOOK_RETRY_BASE", "300ms".to_owned()),
            ("WEBHOOK_POLL_INTERVAL", "100ms".to_owned()),
            ("SIGNUP_RATE_LIMIT", "100".to_owned()),
        ],
        ..Default::default()
    })
    .await;
    let created = app.new_client().await;
    let key = key_of(&created);
    let client = created["client"]["id"].as_str().unwrap().to_owned();
    let base = format!("/api/admin/clients/{client}/webhooks");

    // An unknown event type is refused, naming it.
    let (status, body) = admin(
        &app,
        Method::POST,
        &base,
        Some(json!({ "url": receiver.url(), "event_types": ["user.nope"] })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, hook) = admin(
        &app,
        Method::POST,
        &base,
        Some(json!({ "url": receiver.url(), "event_types": ["user.signed_up"] })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let hooks = format!("{base}/{}", hook["id"].as_str().unwrap());
    let (_, shown) = admin(&app, Method::GET, &hooks, None).await;
    assert!(shown.get("secret").is_none(), "the secret is shown once");
    receiver
        .control("/_secret", json!({ "secret": secret }))
        .await;

    // A signup reaches the receiver, signed: the reference library verifies it.
    signup(&app, &key, "ada@example.com").await;
    let got = receiver
        .wait_for("the first message", |r| !r.is_empty())
        .await;
    assert_eq!(got.len(), 1, "only the subscribed type: {got:?}");
    assert_eq!(got[0]["verified"], true);
    assert_eq!(got[0]["type"], "user.signed_up");
    let first_id = got[0]["id"].as_str().unwrap().to_owned();

    // The receiver is down: the delivery is retried (logged with its answers) until it is up.
    receiver.control("/_status", json!({ "status": 503 })).await;
    signup(&app, &key, "bob@example.com").await;
    receiver
        .wait_for("two failed attempts", |r| {
            r.iter().filter(|m| m["answered"] == 503).count() >= 2
        })
        .await;
    let log = deliveries(&app, &hooks, "status=pending").await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["response_status"], 503);
    assert!(log[0]["attempts"].as_u64().unwrap() >= 2);
    receiver.control("/_status", json!({ "status": 204 })).await;
    let got = receiver
        .wait_for("the retried message", |r| {
            r.iter()
                .any(|m| m["answered"] == 204 && m["id"] != json!(first_id))
        })
        .await;
    let retried: Vec<&Value> = got.iter().filter(|m| m["id"] != json!(first_id)).collect();
    assert!(
        retried.iter().all(|m| m["id"] == retried[0]["id"]),
        "one message id across retries"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let log = loop {
        let log = deliveries(&app, &hooks, "").await;
        if log.iter().all(|d| d["status"] == "succeeded") || std::time::Instant::now() > deadline {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|d| d["status"] == "succeeded"), "{log:?}");
    assert!(log[0]["latency_ms"].is_number());

    // One delivery replayed: the same message again.
    let delivered = log.iter().find(|d| d["attempts"] == 1).unwrap();
    let (status, replay) = admin(
        &app,
        Method::POST,
        &format!(
            "{hooks}/deliveries/{}/replay",
            delivered["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{replay}");
    assert_eq!(replay["replay_of"], delivered["id"]);
    let before = receiver.received().await.len();
    receiver
        .wait_for("the replay", |r| {
            r.len() > before && r.last().unwrap()["id"] == json!(first_id)
        })
        .await;
    // A time range replayed: both signups again.
    let (status, range) = admin(
        &app,
        Method::POST,
        &format!("{hooks}/replay"),
        Some(json!({ "from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z" })),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{range}");
    assert_eq!(range["queued"], 2);

    // A rotated secret: during the overlap both sign, so a receiver with either verifies.
    let (status, rotated) = admin(
        &app,
        Method::POST,
        &format!("{hooks}/rotate-secret"),
        Some(json!({ "overlap_hours": 1 })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    signup(&app, &key, "carol@example.com").await;
    let got = receiver
        .wait_for("a message signed twice", |r| {
            r.iter().any(|m| m["signatures"] == 2)
        })
        .await;
    assert!(
        got.iter()
            .filter(|m| m["signatures"] == 2)
            .all(|m| m["verified"] == true),
        "old secret still verifies"
    );
    receiver
        .control("/_secret", json!({ "secret": new_secret }))
        .await;
    signup(&app, &key, "dan@example.com").await;
    let got = receiver
        .wait_for("verified with the new secret", |r| {
            r.iter().filter(|m| m["signatures"] == 2).count() >= 2
        })
        .await;
    assert!(got.iter().all(|m| m["verified"] == true), "{got:?}");

    // Disabled: nothing more is sent; the operator's changes are audited.
    let (status, _) = admin(
        &app,
        Method::PATCH,
        &hooks,
        Some(json!({ "enabled": false })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let count = receiver.received().await.len();
    signup(&app, &key, "eve@example.com").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.received().await.len(), count);
    let trail = app.audit_events(&format!("client_id={client}&event_type=webhook.created,webhook.updated,webhook.secret_rotated,webhook.replayed")).await;
    assert_eq!(trail.len(), 5, "{trail:?}");
    assert!(
        !trail.iter().any(|e| e.to_string().contains("whsec_")),
        "no secret in the trail"
    );
    let (status, _) = admin(&app, Method::DELETE, &hooks, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = admin(&app, Method::GET, &hooks, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("webhook_not_found"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ssrf_guard_refuses_internal_targets_by_default() {
    let app = authservice_tests::spawn_app().await;
    let client = app.new_client().await["client"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let base = format!("/api/admin/clients/{client}/webhooks");
    for url in [
        "http://127.0.0.1:9/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.0.0.7/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "http://hooks.example.com/plain-http",
        "https://user:pass@hooks.example.com/",
    ] {
        let (status, body) = admin(
            &app,
            Method::POST,
            &base,
            Some(json!({ "url": url, "event_types": ["*"] })),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
        assert!(
            body["message"].as_str().unwrap().starts_with("url:"),
            "{url}: {body}"
        );
    }
    let (status, body) = admin(
        &app,
        Method::POST,
        &base,
        Some(json!({ "url": "https://hooks.example.com/in", "event_types": ["*"] })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Changing it to an internal address is refused the same way.
    let (status, _) = admin(
        &app,
        Method::PATCH,
        &format!("{base}/{}", body["id"].as_str().unwrap()),
        Some(json!({ "url": "https://192.168.1.1/" })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_manage_webhooks_and_replay_deliveries_in_the_portal() {
    use crate::pages::{click, fill, ok, pages_app_with, sees};
    let receiver = Receiver::start();
    let (app, _sink, key) = pages_app_with(vec![
        ("WEBHOOK_ALLOW_PRIVATE", "true".to_owned()),
        ("WEBHOOK_POLL_INTERVAL", "100ms".to_owned()),
    ])
    .await;
    let mut b = authservice_tests::browser::Browser::launch(&app.localhost_base()).await;
    ok(
        &mut b,
        json!({ "op": "goto", "url": "/portal.html?locale=en" }),
    )
    .await;
    fill(&mut b, "Admin key", &app.admin_key).await;
    click(&mut b, "Sign in with the admin key").await;
    click(&mut b, "Open: Acme").await;
    sees(&mut b, "Webhooks").await;
    fill(&mut b, "Endpoint URL (https)", &receiver.url()).await;
    fill(
        &mut b,
        "Event types (space-separated; * for all)",
        "user.signed_up",
    )
    .await;
    click(&mut b, "Add endpoint").await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "#new-webhook-secret" }),
    )
    .await;
    let secret = ok(
        &mut b,
        json!({ "op": "text", "selector": "#new-webhook-secret" }),
    )
    .await["text"][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(secret.starts_with("whsec_"));
    receiver
        .control("/_secret", json!({ "secret": secret }))
        .await;

    signup(&app, &key, "portal-hook@example.com").await;
    receiver
        .wait_for("the signup", |r| r.iter().any(|m| m["verified"] == true))
        .await;
    click(&mut b, &format!("Deliveries: {}", receiver.url())).await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "tr[data-delivery][data-status='succeeded']" }),
    )
    .await;
    ok(
        &mut b,
        json!({ "op": "click", "name": "Replay: user.signed_up", "exact": false }),
    )
    .await;
    sees(&mut b, "Queued again: user.signed_up").await;
    receiver
        .wait_for("the replay", |r| {
            r.iter().filter(|m| m["verified"] == true).count() >= 2
        })
        .await;

    crate::pages::accessible(&mut b, "portal webhooks").await;

    // Disabled from the portal: the endpoint says so.
    click(&mut b, &format!("Disable: {}", receiver.url())).await;
    ok(
        &mut b,
        json!({ "op": "wait_selector", "selector": "li[data-webhook][data-enabled='false']" }),
    )
    .await;
}
