use std::time::Duration;

use authservice_tests::{AppOptions, spawn_app, spawn_app_with};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn healthz_answers_ok() {
    let app = spawn_app().await;
    let res = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        serde_json::json!({"status": "ok"})
    );
}

async fn readyz(app: &authservice_tests::TestApp) -> (u16, Value) {
    let res = app.http.get(app.url("/readyz")).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_follows_redis_without_a_restart() {
    let app = spawn_app_with(AppOptions {
        redis_proxy: true,
        ..AppOptions::default()
    })
    .await;
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["postgres"]["status"], "ok");
    assert_eq!(body["checks"]["redis"]["status"], "ok");

    let proxy = app.redis_proxy.as_ref().unwrap();
    proxy.disable();
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["unavailable"], serde_json::json!(["redis"]));
    assert_eq!(body["checks"]["postgres"]["status"], "ok");
    assert_eq!(body["code"], "service_unavailable");
    assert_eq!(body["retryable"], true);
    assert!(body["message"].as_str().unwrap().contains("redis"));

    proxy.enable();
    let mut last = (0, Value::Null);
    for _ in 0..50 {
        last = readyz(&app).await;
        if last.0 == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last.0, 200, "ready again after Redis returns: {}", last.1);
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_names_postgres_when_it_is_gone() {
    let app = spawn_app().await;
    app.drop_database().await;
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503);
    assert_eq!(body["unavailable"], serde_json::json!(["postgres"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_need_the_token_and_count_requests_by_route_template() {
    let app = spawn_app_with(AppOptions {
        env: vec![("METRICS_TOKEN", "metrics-secret".to_owned())],
        ..AppOptions::default()
    })
    .await;
    app.http.get(app.url("/healthz")).send().await.unwrap();
    let created = app.new_client().await;
    let id = created["client"]["id"].as_str().unwrap();
    app.admin(
        reqwest::Method::GET,
        &format!("/api/admin/clients/{id}"),
        None,
    )
    .await;
    // gRPC calls are counted like REST ones: a verdict (OK) and an unknown method.
    let mut tokens =
        authservice_interfaces::grpc::proto::token_service_client::TokenServiceClient::connect(
            app.grpc_address.clone(),
        )
        .await
        .unwrap();
    tokens
        .validate_token(authservice_interfaces::grpc::proto::ValidateTokenRequest {
            access_token: "x".to_owned(),
            api_key: String::new(),
        })
        .await
        .unwrap();
    let mut channel = tonic::client::Grpc::new(
        tonic::transport::Channel::from_shared(app.grpc_address.clone())
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    channel.ready().await.unwrap();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static("/auth.v1.Nope/Random123");
    let unknown: Result<tonic::Response<()>, tonic::Status> = channel
        .unary(
            tonic::Request::new(()),
            path,
            tonic_prost::ProstCodec::<(), ()>::default(),
        )
        .await;
    assert_eq!(unknown.unwrap_err().code(), tonic::Code::Unimplemented);

    let res = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth("metrics-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/healthz",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/admin/clients/{id}""#),
        "route templates, not raw paths"
    );
    assert!(!text.contains(id), "no raw ids in labels");
    assert!(text.contains("http_request_duration_seconds_bucket"));
    assert!(
        text.contains(r#"pool_connections{pool="postgres",state="max"} 4"#),
        "{text}"
    );
    assert!(text.contains(r#"pool_connections{pool="redis""#));
    assert!(
        text.contains(
            r#"grpc_requests_total{code="0",rpc="/auth.v1.TokenService/ValidateToken"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains("grpc_request_duration_seconds_bucket"));
    assert!(
        text.contains(r#"grpc_requests_total{code="12",rpc="unmatched"} 1"#),
        "unknown methods are one label value"
    );
    assert!(!text.contains("Random123"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_frontend_is_served_from_public_dir_when_enabled() {
    let public = concat!(env!("CARGO_MANIFEST_DIR"), "/../public").to_owned();
    let app = spawn_app_with(AppOptions {
        env: vec![
            ("SERVE_FRONTEND", "true".to_owned()),
            ("PUBLIC_DIR", public),
        ],
        ..AppOptions::default()
    })
    .await;
    let res = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(res.text().await.unwrap().contains("AuthService"));
    // Unknown files and API routes still answer with the envelope.
    let res = app.http.get(app.url("/missing.html")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "not_found");
    let res = app.http.get(app.url("/api/unknown")).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "not_found");
    assert_eq!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_redis_the_in_process_store_serves_one_instance() {
    let app = spawn_app_with(AppOptions {
        no_redis: true,
        ..AppOptions::default()
    })
    .await;
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["checks"].get("redis").is_none());
    // The admin failure limit still holds, counted in process.
    for _ in 0..10 {
        let res = app
            .http
            .get(app.url("/api/admin/clients"))
            .header("X-Admin-Key", "x")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    let res = app
        .http
        .get(app.url("/api/admin/clients"))
        .header("X-Admin-Key", "x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("retry-after").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_finishes_in_flight_requests_and_refuses_new_ones() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut app = spawn_app().await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let body = r#"{"name":"Late App","slug":"late-app"}"#;
    let head = format!(
        "POST /api/admin/clients HTTP/1.1\r\nHost: {addr}\r\nX-Admin-Key: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        app.admin_key,
        body.len()
    );
    // A request is in flight: headers and half the body sent.
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..10]).await.unwrap();
    // (Long enough for the server to have read the head and begun the request even on a busy
    // box: a connection it has not read from yet is not in flight.)
    tokio::time::sleep(Duration::from_millis(1000)).await;

    app.begin_shutdown();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // New connections are refused once shutdown began.
    assert!(app.http.get(app.url("/healthz")).send().await.is_err());

    // The in-flight request still completes.
    stream.write_all(&body.as_bytes()[10..]).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    app.stopped().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_trail_refuses_update_delete_and_truncate() {
    let app = spawn_app().await;
    app.new_client().await;
    let before = app
        .query_text("SELECT count(*)::text AS value FROM audit_events")
        .await;
    assert_ne!(before, ["0"]);
    for sql in [
        "DELETE FROM audit_events",
        "UPDATE audit_events SET event_type = 'nothing_happened'",
        "TRUNCATE audit_events",
    ] {
        let err = app.execute_sql(sql).await.expect_err(sql);
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    let after = app
        .query_text("SELECT count(*)::text AS value FROM audit_events")
        .await;
    assert_eq!(before, after);
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_server_errors_carry_no_internal_text() {
    use authservice_interfaces::grpc::proto::ValidateTokenRequest;
    use authservice_interfaces::grpc::proto::token_service_client::TokenServiceClient;
    let app = spawn_app_with(AppOptions {
        redis_proxy: true,
        ..AppOptions::default()
    })
    .await;
    let created = app.new_client().await;
    let key = created["api_key"].as_str().unwrap().to_owned();
    let res = app
        .http
        .post(app.url("/api/auth/signup"))
        .header("X-API-Key", &key)
        .json(&serde_json::json!({"email": "scrub@example.com", "password": "violet-Harbor-42-quill", "token_transport": "json"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let access = res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Redis gone: the revocation check fails inside the server.
    app.redis_proxy.as_ref().unwrap().disable();
    let mut grpc = TokenServiceClient::connect(app.grpc_address.clone())
        .await
        .unwrap();
    let status = grpc
        .validate_token(ValidateTokenRequest {
            access_token: access,
            api_key: key,
        })
        .await
        .expect_err("a dependency failure is an error, not a verdict");
    assert!(
        matches!(
            status.code(),
            tonic::Code::Internal | tonic::Code::Unavailable
        ),
        "{status:?}"
    );
    // Exactly the user-facing message REST shows for a 5xx, nothing the server said inside.
    assert!(
        [
            "The service is temporarily unavailable. Please try again.",
            "Something went wrong. Please try again.",
        ]
        .contains(&status.message()),
        "internal text in {:?}",
        status.message()
    );
    let code = status
        .metadata()
        .get("x-error-code")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        ["internal_error", "service_unavailable"].contains(&code),
        "{code}"
    );
}
