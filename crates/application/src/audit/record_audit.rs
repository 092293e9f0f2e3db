//! Write an audit event that no use case wrote itself (e.g. an admin request that failed after
//! authentication). Best effort: a failure is logged, never surfaced to the caller.

use authservice_domain::AuditEvent;
use authservice_domain::EventType;
use serde_json::Value;

use crate::context::RequestCtx;
use crate::ports::Ports;

/// Appends an event; a failure is logged, never surfaced (for events that must not turn a
/// successful read or an authentication answer into an error).
pub(crate) async fn record_quietly(ports: &Ports, event: &AuditEvent) {
    record_to(ports.audit.as_ref(), event).await;
}

/// As [`record_quietly`], for use cases that hold the audit log port alone.
pub(crate) async fn record_to(log: &dyn crate::ports::AuditLog, event: &AuditEvent) {
    if let Err(err) = log.record(event).await {
        tracing::error!(error = %err, event_type = %event.event_type, "could not write audit event");
    }
}

pub struct RecordAudit {
    ports: Ports,
}

impl RecordAudit {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    #[tracing::instrument(name = "record_audit", level = "debug", skip_all)]
    pub async fn execute(&self, ctx: &RequestCtx, event_type: EventType, metadata: Value) {
        let event = ctx
            .audit(event_type)
            .metadata(metadata)
            .at(self.ports.clock.now());
        record_quietly(&self.ports, &event).await;
    }

    /// `admin.request_failed`: an authenticated operator's request failed with error `code`
    /// (authentication failures are audited by the authenticator; successes by the use cases).
    /// `call` says which request — `{method, path, status}` over REST, `{rpc, grpc_code}` over
    /// gRPC — and is merged into the metadata.
    pub async fn admin_request_failed(&self, ctx: &RequestCtx, code: &str, call: Value) {
        let mut metadata = call;
        if let Value::Object(map) = &mut metadata {
            map.insert("code".to_owned(), Value::String(code.to_owned()));
        }
        self.execute(ctx, EventType::AdminRequestFailed, metadata)
            .await;
    }
}
