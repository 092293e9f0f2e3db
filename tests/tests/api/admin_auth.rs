use authservice_tests::{AppOptions, spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn wrong_or_missing_admin_key_is_401_and_audited() {
    let app = spawn_app().await;
    let res = app
        .http
        .get(app.url("/api/admin/clients"))
        .header("X-Admin-Key", "wrong-key")
        .header("User-Agent", "probe/1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "admin_unauthorized");
    let request_id = body["request_id"].as_str().unwrap().to_owned();

    let res = app
        .http
        .get(app.url("/api/admin/clients"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let failures = app.audit_events("event_type=admin.auth_failed").await;
    assert_eq!(failures.len(), 2);
    let invalid = failures
        .iter()
        .find(|e| e["request_id"] == request_id.as_str())
        .expect("audited");
    assert_eq!(invalid["metadata"]["reason"], "invalid");
    assert_eq!(invalid["actor_type"], "anonymous");
    assert_eq!(invalid["ip"], "127.0.0.1");
    assert_eq!(invalid["user_agent"], "probe/1.0");
    assert!(
        failures
            .iter()
            .any(|e| e["metadata"]["reason"] == "missing")
    );

    // Unknown admin paths also demand the key.
    let res = app
        .http
        .get(app.url("/api/admin/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = app
        .admin(Method::GET, "/api/admin/nothing-here", None)
        .await;
    assert_eq!(res.status(), 404);
    let failed = app.audit_events("event_type=admin.request_failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["metadata"]["status"], 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn eleventh_attempt_after_ten_failures_in_a_minute_is_429() {
    let app = spawn_app().await;
    for _ in 0..10 {
        let res = app
            .http
            .get(app.url("/api/admin/clients"))
            .header("X-Admin-Key", "nope")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    // Even the right key is refused now, from this IP.
    let res = app.admin(Method::GET, "/api/admin/clients", None).await;
    assert_eq!(res.status(), 429);
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    assert_eq!(body["retryable"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app().await;
    for i in 0..10 {
        app.http
            .get(app.url("/api/admin/clients"))
            .header("X-Admin-Key", "nope")
            .header("X-Forwarded-For", format!("198.51.100.{i}"))
            .send()
            .await
            .unwrap();
    }
    let res = app
        .http
        .get(app.url("/api/admin/clients"))
        .header("X-Admin-Key", "nope")
        .header("X-Forwarded-For", "198.51.100.77")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        429,
        "spoofing X-Forwarded-For must not evade the limit"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forwarded_for_from_a_trusted_proxy_names_the_client() {
    let app = spawn_app_with(AppOptions {
        env: vec![("TRUSTED_PROXY_CIDRS", "127.0.0.1/32".to_owned())],
        ..AppOptions::default()
    })
    .await;
    for i in 0..12 {
        let res = app
            .http
            .get(app.url("/api/admin/clients"))
            .header("X-Admin-Key", "nope")
            .header("X-Forwarded-For", format!("6.6.6.6, 198.51.100.{i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            401,
            "each forwarded client has its own budget"
        );
    }
    let events = app
        .audit_events("event_type=admin.auth_failed&limit=100")
        .await;
    assert_eq!(events.len(), 12);
    assert!(events.iter().any(|e| e["ip"] == "198.51.100.3"));
    assert!(
        events
            .iter()
            .all(|e| e["ip"] != "6.6.6.6" && e["ip"] != "127.0.0.1")
    );

    // One forwarded client exhausts its budget; the 429 is audited with its address.
    let attempt = || {
        app.http
            .get(app.url("/api/admin/clients"))
            .header("X-Admin-Key", "nope")
            .header("X-Forwarded-For", "203.0.113.5")
            .send()
    };
    for _ in 0..10 {
        assert_eq!(attempt().await.unwrap().status(), 401);
    }
    assert_eq!(attempt().await.unwrap().status(), 429);
    let limited = app.audit_events("event_type=admin.auth_rate_limited").await;
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0]["ip"], "203.0.113.5");
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_guesses_cannot_overrun_the_failure_window() {
    let app = spawn_app().await;
    let attempts = (0..30).map(|_| {
        app.http
            .get(app.url("/api/admin/clients"))
            .header("X-Admin-Key", "guess")
            .send()
    });
    let statuses: Vec<u16> = futures_join_all(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        20,
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn successful_admin_requests_do_not_use_up_the_failure_budget() {
    let app = spawn_app().await;
    for _ in 0..25 {
        assert_eq!(
            app.admin(Method::GET, "/api/admin/clients", None)
                .await
                .status(),
            200
        );
    }
    for _ in 0..9 {
        let res = app
            .http
            .get(app.url("/api/admin/clients"))
            .header("X-Admin-Key", "no")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    assert_eq!(
        app.admin(Method::GET, "/api/admin/clients", None)
            .await
            .status(),
        200
    );
}

async fn futures_join_all<F>(requests: impl Iterator<Item = F>) -> Vec<u16>
where
    F: std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
{
    let handles: Vec<_> = requests.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap().unwrap().status().as_u16());
    }
    out
}
