//! The server's JSON logs, captured from the real application: every line written while a
//! REST or gRPC request is served names the request (its id, and route/client/status or
//! method/code), so one request's lines can be found in a shared log.

use std::io::Write;
use std::sync::{Arc, Mutex};

use authservice_interfaces::grpc::proto::ValidateTokenRequest;
use authservice_interfaces::grpc::proto::token_service_client::TokenServiceClient;
use authservice_server::settings::LogFormat;
use serde_json::Value;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

struct Line(Arc<Mutex<Vec<u8>>>);

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line(self.0.clone())
    }
}

impl Captured {
    fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }

    /// Lines whose spans name `request_id`.
    fn of_request(&self, request_id: &str) -> Vec<Value> {
        self.lines()
            .into_iter()
            .filter(|l| {
                l["spans"]
                    .as_array()
                    .is_some_and(|spans| spans.iter().any(|s| s["request_id"] == request_id))
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_request_ends_with_a_log_line_naming_it_and_no_secret_is_logged() {
    let captured = Captured::default();
    let filter = EnvFilter::new(
        "warn,authservice_interfaces=debug,authservice_application=debug,authservice_infrastructure=debug",
    );
    tracing::subscriber::set_global_default(authservice_server::telemetry::subscriber(
        LogFormat::Json,
        filter,
        captured.clone(),
        None,
    ))
    .expect("the only subscriber of this test binary");
    let app = authservice_tests::spawn_app().await;
    let created = app.new_client().await;
    let key = created["api_key"].as_str().unwrap().to_owned();
    let client_id = created["client"]["id"].as_str().unwrap().to_owned();

    // REST: a refused login (401) under a request id of our choosing.
    let res = app
        .http
        .post(app.url("/api/auth/login"))
        .header("X-API-Key", &key)
        .header("X-Request-Id", "logs-rest-1")
        .json(&serde_json::json!({"email": "nobody@example.com", "password": "wrong-password-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // gRPC: a verdict for a malformed token.
    let mut grpc = TokenServiceClient::connect(app.grpc_address.clone())
        .await
        .unwrap();
    let mut request = tonic::Request::new(ValidateTokenRequest {
        access_token: "not-a-token".to_owned(),
        api_key: key.clone(),
    });
    request
        .metadata_mut()
        .insert("x-request-id", "logs-grpc-1".parse().unwrap());
    let verdict = grpc.validate_token(request).await.unwrap().into_inner();
    assert!(!verdict.valid);

    // A caller-chosen id that is not a short safe token is replaced, not logged.
    let forged = "x".repeat(300);
    let mut request = tonic::Request::new(ValidateTokenRequest {
        access_token: "still-not-a-token".to_owned(),
        api_key: key.clone(),
    });
    request
        .metadata_mut()
        .insert("x-request-id", forged.parse().unwrap());
    grpc.validate_token(request).await.unwrap();

    // Logging is synchronous, but the last line is written after the answer left.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let rest = captured.of_request("logs-rest-1");
    assert!(!rest.is_empty(), "no line names the REST request");
    let finished = rest
        .iter()
        .find(|l| l["message"] == "request finished")
        .expect("the request's closing line");
    let span = &finished["spans"][0];
    assert_eq!(span["name"], "http.request");
    assert_eq!(span["route"], "/api/auth/login");
    assert_eq!(span["status"], 401);
    assert_eq!(span["client_id"], client_id);
    assert!(finished["latency_ms"].as_f64().is_some());

    let grpc_lines = captured.of_request("logs-grpc-1");
    let finished = grpc_lines
        .iter()
        .find(|l| l["message"] == "request finished")
        .expect("the call's closing line");
    let span = &finished["spans"][0];
    assert_eq!(span["name"], "grpc.request");
    assert_eq!(span["rpc"], "/auth.v1.TokenService/ValidateToken");
    assert_eq!(span["code"], 0);
    let all_lines = captured.lines();
    assert!(
        all_lines.iter().all(|l| !l.to_string().contains(&forged)),
        "an oversized request id reached the logs"
    );
    assert!(
        all_lines
            .iter()
            .filter(
                |l| l["message"] == "request finished" && l["spans"][0]["name"] == "grpc.request"
            )
            .count()
            >= 2,
        "the call with the replaced id is logged under a new id"
    );
    // No line anywhere carries the presented secrets.
    let all = captured
        .lines()
        .iter()
        .map(Value::to_string)
        .collect::<String>();
    assert!(!all.contains("wrong-password-1"));
    assert!(!all.contains(&key));
}
