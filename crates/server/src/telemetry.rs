//! Structured logs through tracing, and OpenTelemetry traces over OTLP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Secrets never reach a log line or a span: they are
//! `SecretString`s (redacted `Debug`), handlers log ids, not payloads, and use-case and adapter
//! spans skip their arguments.
//!
//! Every request runs in a span (`http.request`: request id, method, route, client id,
//! status; `grpc.request`: request id, method, client id, code) and ends with an `info` line
//! `request finished` (the access log, with `latency_ms`); use cases and adapter calls run in
//! `debug` spans inside it. JSON lines carry the spans they were written in (`spans`), so each
//! line of a request names its request id. The same spans are exported as OTLP traces.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Layered, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::settings::LogFormat;

/// The filter from `RUST_LOG` (default `info`).
///
/// # Errors
/// `RUST_LOG` is set but is not a valid filter.
pub fn filter_from_env() -> Result<EnvFilter, String> {
    match std::env::var("RUST_LOG") {
        Ok(raw) if !raw.trim().is_empty() => {
            EnvFilter::try_new(raw.trim()).map_err(|e| format!("RUST_LOG: {e}"))
        }
        _ => Ok(EnvFilter::new("info")),
    }
}

/// An OTLP trace pipeline: spans are batched and sent over gRPC to `endpoint`.
///
/// Must be called inside a tokio runtime (the exporter's channel lives there).
///
/// # Errors
/// The exporter could not be built (an invalid endpoint).
pub fn otlp_provider(endpoint: &str, service_name: &str) -> Result<SdkTracerProvider, String> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| format!("OTEL_EXPORTER_OTLP_ENDPOINT: {e}"))?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service_name.to_owned())
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

type Base = Layered<EnvFilter, Registry>;

/// The server's subscriber, writing log lines to `writer` and, with `traces`, exporting spans.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    traces: Option<&SdkTracerProvider>,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let lines: Box<dyn Layer<Base> + Send + Sync> = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .with_target(false)
            .with_writer(writer)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_writer(writer)
            .boxed(),
    };
    let otel = traces
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("authservice")));
    Box::new(Registry::default().with(filter).with(lines).with(otel))
}

/// What [`init`] started; [`Telemetry::shutdown`] flushes the spans still batched.
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    pub fn shutdown(self) {
        if let Some(provider) = self.traces
            && let Err(err) = provider.shutdown()
        {
            eprintln!("could not flush traces: {err}");
        }
    }
}

/// Installs the global subscriber (`RUST_LOG` filters, default `info`), exporting traces to
/// `otlp_endpoint` when given. Call inside the tokio runtime.
///
/// # Errors
/// `RUST_LOG` is not a valid filter, or the OTLP exporter could not be built.
pub fn init(
    format: LogFormat,
    otlp_endpoint: Option<&str>,
    service_name: &str,
) -> Result<Telemetry, String> {
    let filter = filter_from_env()?;
    let traces = otlp_endpoint
        .map(|endpoint| otlp_provider(endpoint, service_name))
        .transpose()?;
    // `try_init` also forwards the `log` crate's records (libraries that do not use tracing).
    let _ = subscriber(format, filter, std::io::stdout, traces.as_ref()).try_init();
    Ok(Telemetry { traces })
}
