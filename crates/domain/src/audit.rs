//! Audit events: who did what to which target, when, from where, with before/after snapshots.
//!
//! Snapshots never contain secrets (no key hashes, no encrypted material).

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::client::ClientId;

/// Kind of actor behind an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorType {
    /// An operator: break-glass admin key today, admin users later.
    Admin,
    /// An application backend calling with its API key.
    Client,
    /// An end user.
    User,
    /// The service itself (workers, startup).
    System,
    /// An unauthenticated caller (failed authentication attempts).
    Anonymous,
}

impl ActorType {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Client => "client",
            Self::User => "user",
            Self::System => "system",
            Self::Anonymous => "anonymous",
        }
    }

    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "admin" => Self::Admin,
            "client" => Self::Client,
            "user" => Self::User,
            "system" => Self::System,
            "anonymous" => Self::Anonymous,
            _ => return None,
        })
    }
}

/// One audit record.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub client_id: Option<ClientId>,
    pub user_id: Option<Uuid>,
    /// Stable dotted or snake_case name, e.g. `client.created`, `admin.auth_failed`.
    pub event_type: String,
    pub actor_type: ActorType,
    pub actor_id: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub metadata: Value,
    pub before: Option<Value>,
    pub after: Option<Value>,
}
