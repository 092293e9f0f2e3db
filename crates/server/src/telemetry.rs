//! Structured logs through tracing. Secrets never reach a log line: they are `SecretString`s
//! (redacted `Debug`) and handlers log ids, not payloads.

use tracing_subscriber::EnvFilter;

use crate::settings::LogFormat;

/// Installs the global subscriber (`RUST_LOG` filters, default `info`). Safe to call twice.
///
/// # Errors
/// `RUST_LOG` is set but is not a valid filter.
pub fn init(format: LogFormat) -> Result<(), String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(raw) if !raw.trim().is_empty() => {
            EnvFilter::try_new(raw.trim()).map_err(|e| format!("RUST_LOG: {e}"))?
        }
        _ => EnvFilter::new("info"),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    Ok(())
}
