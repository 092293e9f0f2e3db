//! Reading and writing the audit trail.

mod chain;
mod list_audit_events;
mod record_audit;
mod retention;

pub use chain::{ChainError, ChainVerdict, SealAuditChain, VerifyAuditChain};
pub use list_audit_events::{ListAuditEvents, ListAuditEventsError, ListAuditEventsInput};
pub use record_audit::RecordAudit;
pub(crate) use record_audit::{record_quietly, record_to};
pub use retention::{HoldInput, ManageRetention, PurgeReport, RetentionError};
