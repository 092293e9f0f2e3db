//! OpenTelemetry export: with `OTEL_EXPORTER_OTLP_ENDPOINT` the server's spans reach an OTLP
//! collector (here a real OTLP/gRPC receiver built from the protocol's definitions), with the
//! request's id, route and status, the use case's span inside the request's, and the service's
//! name.

use std::time::Duration;

use authservice_server::settings::LogFormat;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use tokio::sync::mpsc;
use tracing_subscriber::EnvFilter;

struct Collector(mpsc::UnboundedSender<ExportTraceServiceRequest>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let _ = self.0.send(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn text(value: Option<&AnyValue>) -> Option<String> {
    match value?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        other => Some(format!("{other:?}")),
    }
}

fn attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| text(kv.value.as_ref()))
}

#[tokio::test(flavor = "multi_thread")]
async fn spans_are_exported_to_the_otlp_endpoint() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Collector(tx)))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let provider =
        authservice_server::telemetry::otlp_provider(&endpoint, "authservice-under-test").unwrap();
    tracing::subscriber::set_global_default(authservice_server::telemetry::subscriber(
        LogFormat::Json,
        EnvFilter::new("info,authservice_application=debug"),
        std::io::sink,
        Some(&provider),
    ))
    .expect("the only subscriber of this test binary");

    let app = authservice_tests::spawn_app().await;
    let key = app.new_client().await["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .http
        .post(app.url("/api/auth/login"))
        .header("X-API-Key", &key)
        .header("X-Request-Id", "otlp-rest-1")
        .json(&serde_json::json!({"email": "nobody@example.com", "password": "wrong-password-2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let flushing = provider.clone();
    tokio::task::spawn_blocking(move || flushing.force_flush())
        .await
        .unwrap()
        .unwrap();

    let mut spans: Vec<Span> = Vec::new();
    let mut service_names = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !spans
        .iter()
        .any(|s| attribute(&s.attributes, "request_id").as_deref() == Some("otlp-rest-1"))
    {
        let batch = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("spans within 10 s")
            .expect("collector running");
        for resource in batch.resource_spans {
            if let Some(r) = &resource.resource {
                service_names.extend(attribute(&r.attributes, "service.name"));
            }
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
    }
    assert!(service_names.iter().any(|n| n == "authservice-under-test"));
    let request = spans
        .iter()
        .find(|s| attribute(&s.attributes, "request_id").as_deref() == Some("otlp-rest-1"))
        .unwrap();
    assert_eq!(request.name, "http.request");
    assert_eq!(
        attribute(&request.attributes, "route").as_deref(),
        Some("/api/auth/login")
    );
    assert_eq!(
        attribute(&request.attributes, "status").as_deref(),
        Some("401")
    );
    let login = spans
        .iter()
        .find(|s| s.name == "login" && s.trace_id == request.trace_id)
        .expect("the use case's span in the request's trace");
    assert_eq!(login.parent_span_id, request.span_id);
    // Arguments are never recorded.
    let everything = format!("{spans:?}");
    assert!(!everything.contains("wrong-password-2"));
    assert!(!everything.contains(&key));
}
