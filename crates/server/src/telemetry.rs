//! Structured logs through tracing. Secrets never reach a log line: they are `SecretString`s
//! (redacted `Debug`) and handlers log ids, not payloads; use-case and adapter spans skip
//! their arguments.
//!
//! Every request runs in a span (`http.request`: request id, method, route, client id,
//! status; `grpc.request`: request id, method, client id, code) and ends with an `info` line
//! `request finished` (the access log, with `latency_ms`); use cases and adapter calls run in
//! `debug` spans inside it. JSON lines carry the spans they were written in (`spans`), so each
//! line of a request names its request id.

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

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

/// The server's subscriber, writing to `writer`.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(writer);
    match format {
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(true)
                .finish(),
        ),
        LogFormat::Pretty => Box::new(builder.finish()),
    }
}

/// Installs the global subscriber (`RUST_LOG` filters, default `info`). Safe to call twice.
///
/// # Errors
/// `RUST_LOG` is set but is not a valid filter.
pub fn init(format: LogFormat) -> Result<(), String> {
    let filter = filter_from_env()?;
    // `try_init` also forwards the `log` crate's records (libraries that do not use tracing).
    let _ = subscriber(format, filter, std::io::stdout).try_init();
    Ok(())
}
