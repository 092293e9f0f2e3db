//! The first argument of every use case: who is calling, for which tenant, from where.

use std::net::IpAddr;

use authservice_domain::{
    ActorType, AdminPrincipal, AuditEvent, Client, ClientId, EventType, Permission, Principal,
    UserId,
};
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

/// Request-scoped facts, built by the interfaces layer before calling a use case.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    pub request_id: String,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub principal: Principal,
    /// The tenant resolved from `X-API-Key`, on app routes.
    pub client: Option<Client>,
}

/// The caller lacks a permission (or the target is outside its scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not allowed: {0}")]
pub struct Forbidden(pub &'static str);

impl RequestCtx {
    /// A context with no principal (used before authentication and by background work).
    #[must_use]
    pub fn anonymous(request_id: impl Into<String>) -> Self {
        Self {
            request_id: request_id.into(),
            ip: None,
            user_agent: None,
            principal: Principal::Anonymous,
            client: None,
        }
    }

    #[must_use]
    pub fn with_principal(mut self, principal: Principal) -> Self {
        self.principal = principal;
        self
    }

    /// The one authorization helper: returns the admin principal if it holds `permission`.
    pub fn require(&self, permission: Permission) -> Result<&AdminPrincipal, Forbidden> {
        match &self.principal {
            Principal::Admin(admin) if admin.has(permission) => Ok(admin),
            _ => Err(Forbidden(permission.as_str())),
        }
    }

    /// As [`RequestCtx::require`], and the admin's scope must include `client`.
    pub fn require_for_client(
        &self,
        permission: Permission,
        client: ClientId,
    ) -> Result<&AdminPrincipal, Forbidden> {
        let admin = self.require(permission)?;
        if admin.can_access_client(client) {
            Ok(admin)
        } else {
            Err(Forbidden(permission.as_str()))
        }
    }

    /// Starts an audit event carrying this request's actor, request id, IP and user agent.
    #[must_use]
    pub fn audit(&self, event_type: EventType) -> AuditDraft {
        let (actor_type, actor_id) = match &self.principal {
            Principal::Admin(admin) => (ActorType::Admin, Some(admin.actor_id.clone())),
            Principal::Client(id) => (ActorType::Client, Some(id.to_string())),
            Principal::Anonymous => (ActorType::Anonymous, None),
        };
        AuditDraft(AuditEvent {
            id: Uuid::nil(),
            occurred_at: DateTime::<Utc>::UNIX_EPOCH,
            client_id: self.client.as_ref().map(|c| c.id),
            user_id: None,
            event_type: event_type.as_str().to_owned(),
            actor_type,
            actor_id,
            target_type: None,
            target_id: None,
            request_id: Some(self.request_id.clone()),
            ip: self.ip.map(|ip| ip.to_string()),
            user_agent: self.user_agent.clone(),
            metadata: Value::Object(serde_json::Map::new()),
            before: None,
            after: None,
        })
    }
}

/// The rate-limit key part for a client IP: the address for IPv4, the /64 for IPv6 (one host
/// usually owns a whole /64), `unknown` without one.
#[must_use]
pub fn ip_bucket(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => "unknown".to_owned(),
    }
}

/// An audit event under construction.
#[derive(Debug, Clone)]
pub struct AuditDraft(AuditEvent);

impl AuditDraft {
    /// An event of the service's own background work (`worker` names it), outside any
    /// request.
    #[must_use]
    pub fn system(event_type: EventType, worker: &str) -> Self {
        Self(AuditEvent {
            id: Uuid::nil(),
            occurred_at: DateTime::<Utc>::UNIX_EPOCH,
            client_id: None,
            user_id: None,
            event_type: event_type.as_str().to_owned(),
            actor_type: ActorType::System,
            actor_id: Some(worker.to_owned()),
            target_type: None,
            target_id: None,
            request_id: None,
            ip: None,
            user_agent: None,
            metadata: Value::Object(serde_json::Map::new()),
            before: None,
            after: None,
        })
    }

    #[must_use]
    pub fn client(mut self, client: ClientId) -> Self {
        self.0.client_id = Some(client);
        self
    }

    /// The signed-in user who acts (the event's user and actor).
    #[must_use]
    pub fn by_user(mut self, user: UserId) -> Self {
        self.0.user_id = Some(user.as_uuid());
        self.0.actor_type = ActorType::User;
        self.0.actor_id = Some(user.to_string());
        self
    }

    /// An app or service account acting at the OAuth endpoints (its public id).
    #[must_use]
    pub fn by_oauth_client(mut self, id: &str) -> Self {
        self.0.actor_type = ActorType::Client;
        self.0.actor_id = Some(id.to_owned());
        self
    }

    /// A SCIM directory's identity provider acting with the directory's token.
    #[must_use]
    pub fn by_directory(mut self, directory: uuid::Uuid) -> Self {
        self.0.actor_type = ActorType::Client;
        self.0.actor_id = Some(format!("scim_directory:{directory}"));
        self
    }

    #[must_use]
    pub fn target(mut self, target_type: &str, target_id: impl ToString) -> Self {
        self.0.target_type = Some(target_type.to_owned());
        self.0.target_id = Some(target_id.to_string());
        self
    }

    #[must_use]
    pub fn before(mut self, snapshot: Value) -> Self {
        self.0.before = Some(snapshot);
        self
    }

    #[must_use]
    pub fn after(mut self, snapshot: Value) -> Self {
        self.0.after = Some(snapshot);
        self
    }

    #[must_use]
    pub fn metadata(mut self, metadata: Value) -> Self {
        self.0.metadata = metadata;
        self
    }

    /// Finishes the event with a fresh time-ordered id.
    #[must_use]
    pub fn at(mut self, now: DateTime<Utc>) -> AuditEvent {
        self.0.id = Uuid::now_v7();
        self.0.occurred_at = now;
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_is_forbidden_and_admin_is_allowed() {
        let ctx = RequestCtx::anonymous("r1");
        assert!(ctx.require(Permission::ClientsRead).is_err());
        let admin = ctx.with_principal(Principal::Admin(AdminPrincipal::break_glass()));
        assert!(admin.require(Permission::ClientsRead).is_ok());
        let event = admin
            .audit(EventType::ClientRead)
            .target("client", "x")
            .at(Utc::now());
        assert_eq!(event.actor_type, ActorType::Admin);
        assert_eq!(event.actor_id.as_deref(), Some("break-glass"));
        assert_eq!(event.request_id.as_deref(), Some("r1"));
        assert_ne!(event.id, Uuid::nil());
    }
}
