//! An organization's own audit trail, for its members holding `enterprise:read`: the events
//! about the organization (its settings, members, invitations, domains, SSO connections and
//! SCIM directories), newest first — without the IP addresses and user agents of whoever acted
//! (other people's data, which the organization's admins do not need).

use authservice_domain::organization::OrgPermission;
use authservice_domain::{AuditEvent, EventType};
use serde_json::json;

use super::{OrgError, access};
use crate::audit::record_quietly;
use crate::auth::AuthenticatedUser;
use crate::context::RequestCtx;
use crate::pagination::{Page, PageRequest};
use crate::ports::{AuditFilter, Ports};

pub struct OrgAuditEvents {
    ports: Ports,
}

impl OrgAuditEvents {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    /// One page of the organization's events (`enterprise:read`), optionally of some types
    /// (comma-separated; legacy names match too).
    #[tracing::instrument(name = "org_audit_events", level = "debug", skip_all)]
    pub async fn list(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
        org: &str,
        event_type: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>, OrgError> {
        let access = access(
            &self.ports,
            caller,
            org,
            Some(OrgPermission::EnterpriseRead),
        )
        .await?;
        let mut event_types: Vec<String> = Vec::new();
        for name in event_type
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .take(50)
        {
            event_types.extend(authservice_domain::audit::names_matching(name));
        }
        let filter = AuditFilter {
            client_id: Some(access.org.client_id),
            organization_id: Some(access.org.id.as_uuid()),
            event_types,
            ..AuditFilter::default()
        };
        let rows = self
            .ports
            .audit
            .list(&filter, page.after, page.limit + 1)
            .await?;
        let mut result = Page::from_overfetch(rows, page.limit, |e| e.id);
        for event in &mut result.items {
            event.ip = None;
            event.user_agent = None;
        }
        let event = ctx
            .audit(EventType::AuditRead)
            .client(access.org.client_id)
            .target("organization", access.org.id.as_uuid())
            .metadata(json!({ "count": result.items.len(), "organization_id": access.org.id.to_string() }))
            .at(self.ports.clock.now());
        let mut event = event;
        event.user_id = Some(caller.user.id.as_uuid());
        record_quietly(&self.ports, &event).await;
        Ok(result)
    }
}
