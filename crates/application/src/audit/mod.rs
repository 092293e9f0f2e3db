//! Reading and writing the audit trail.

mod list_audit_events;
mod record_audit;

pub use list_audit_events::{ListAuditEvents, ListAuditEventsError, ListAuditEventsInput};
pub use record_audit::RecordAudit;
pub(crate) use record_audit::{record_quietly, record_to};
