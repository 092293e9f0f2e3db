//! Legal holds and retention of the audit trail. Events older than `AUDIT_RETENTION_DAYS`
//! (default 2555, seven years) are purged on request — a dry run unless told otherwise — and
//! never while a standing legal hold covers them. Placing or releasing a hold needs
//! `audit:hold`; purging needs `audit:purge` and scope `all` (super admins).

use std::time::Duration;

use authservice_domain::{AdminScope, ClientId, EventType, Permission, ValidationError};
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::audit::record_quietly;
use crate::context::{Forbidden, RequestCtx};
use crate::error::{ErrorKind, UseCaseError};
use crate::ports::{LegalHold, Ports, PurgeCount};

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("no standing legal hold with that id")]
    NotFound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for RetentionError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::Invalid(_) => ErrorKind::InvalidRequest,
            Self::NotFound => ErrorKind::LegalHoldNotFound,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}

/// `POST /api/admin/audit-events/legal-hold`.
#[derive(Debug, Clone, Default)]
pub struct HoldInput {
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub reason: String,
}

/// What a purge did, and the cutoff it used.
#[derive(Debug, Clone, Copy)]
pub struct PurgeReport {
    pub dry_run: bool,
    pub cutoff: DateTime<Utc>,
    pub count: PurgeCount,
}

pub struct ManageRetention {
    ports: Ports,
    retention: Duration,
}

impl ManageRetention {
    #[must_use]
    pub fn new(ports: &Ports, retention: Duration) -> Self {
        Self {
            ports: ports.clone(),
            retention,
        }
    }

    /// Places a hold on the events of a client (or every client), a user, a time range.
    pub async fn hold(
        &self,
        ctx: &RequestCtx,
        input: HoldInput,
    ) -> Result<LegalHold, RetentionError> {
        let admin = ctx.require(Permission::AuditHold)?;
        let client_id = input
            .client_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(ClientId::parse)
            .transpose()?;
        match client_id {
            Some(c) => {
                ctx.require_for_client(Permission::AuditHold, c)?;
            }
            None if admin.scope != AdminScope::All => {
                return Err(Forbidden("audit:hold for every client").into());
            }
            None => {}
        }
        let user_id = input
            .user_id
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|u| {
                Uuid::parse_str(u).map_err(|_| ValidationError::new("user_id", "must be a UUID"))
            })
            .transpose()?;
        let reason = input.reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > 1000 {
            return Err(
                ValidationError::new("reason", "is required, at most 1000 characters").into(),
            );
        }
        if let (Some(from), Some(to)) = (input.from, input.to)
            && from >= to
        {
            return Err(ValidationError::new("to", "must be after from").into());
        }
        let now = self.ports.clock.now();
        let hold = LegalHold {
            id: Uuid::now_v7(),
            client_id,
            user_id,
            from: input.from,
            to: input.to,
            reason,
            created_by: admin.actor_id.clone(),
            created_at: now,
        };
        self.ports.audit_retention.add_hold(&hold).await?;
        let mut event = ctx
            .audit(EventType::AuditLegalHoldPlaced)
            .target("legal_hold", hold.id)
            .metadata(json!({
                "client_id": client_id.map(|c| c.to_string()),
                "user_id": user_id,
                "from": hold.from,
                "to": hold.to,
                "reason": hold.reason,
            }))
            .at(now);
        event.client_id = client_id;
        record_quietly(&self.ports, &event).await;
        Ok(hold)
    }

    /// Standing holds (`audit:hold`): those of the caller's client, or all with scope `all`.
    pub async fn holds(&self, ctx: &RequestCtx) -> Result<Vec<LegalHold>, RetentionError> {
        let admin = ctx.require(Permission::AuditHold)?;
        let holds = self.ports.audit_retention.holds().await?;
        Ok(holds
            .into_iter()
            .filter(|h| match h.client_id {
                Some(c) => admin.can_access_client(c),
                None => admin.scope == AdminScope::All,
            })
            .collect())
    }

    /// Releases a standing hold (`audit:hold` over its client).
    pub async fn release(&self, ctx: &RequestCtx, id: &str) -> Result<(), RetentionError> {
        let id = Uuid::parse_str(id.trim()).map_err(|_| RetentionError::NotFound)?;
        let hold = self
            .holds(ctx)
            .await?
            .into_iter()
            .find(|h| h.id == id)
            .ok_or(RetentionError::NotFound)?;
        let now = self.ports.clock.now();
        if !self
            .ports
            .audit_retention
            .release_hold(hold.id, now)
            .await?
        {
            return Err(RetentionError::NotFound);
        }
        let mut event = ctx
            .audit(EventType::AuditLegalHoldReleased)
            .target("legal_hold", hold.id)
            .at(now);
        event.client_id = hold.client_id;
        record_quietly(&self.ports, &event).await;
        Ok(())
    }

    /// `POST /api/admin/audit-events/retention/purge`: events older than the retention (or
    /// `before`, if earlier), except those under a standing hold. A dry run by default.
    pub async fn purge(
        &self,
        ctx: &RequestCtx,
        before: Option<DateTime<Utc>>,
        dry_run: bool,
    ) -> Result<PurgeReport, RetentionError> {
        let admin = ctx.require(Permission::AuditPurge)?;
        if admin.scope != AdminScope::All {
            return Err(Forbidden("audit:purge with scope all").into());
        }
        let now = self.ports.clock.now();
        let retained =
            now - chrono::Duration::from_std(self.retention).map_err(anyhow::Error::new)?;
        let cutoff = before.map_or(retained, |b| b.min(retained));
        let overrides = self.client_cutoffs(now, before).await?;
        let count = self
            .ports
            .audit_retention
            .purge(cutoff, &overrides, dry_run)
            .await?;
        let event = ctx
            .audit(EventType::AuditPurged)
            .metadata(json!({
                "dry_run": dry_run,
                "cutoff": cutoff,
                "client_cutoffs": overrides.len(),
                "older": count.older,
                "held": count.held,
                "deleted": count.deleted,
            }))
            .at(now);
        record_quietly(&self.ports, &event).await;
        Ok(PurgeReport {
            dry_run,
            cutoff,
            count,
        })
    }

    /// The cutoffs of clients whose settings name their own `audit_retention_days`.
    async fn client_cutoffs(
        &self,
        now: DateTime<Utc>,
        before: Option<DateTime<Utc>>,
    ) -> anyhow::Result<Vec<(ClientId, DateTime<Utc>)>> {
        const PAGE: usize = 500;
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self.ports.clients.list(after, PAGE).await?;
            for client in &page {
                if let Some(days) = client.policy().audit_retention_days {
                    let retained = now - chrono::Duration::days(i64::from(days));
                    out.push((client.id, before.map_or(retained, |b| b.min(retained))));
                }
            }
            match page.last() {
                Some(last) if page.len() == PAGE => after = Some(last.id.as_uuid()),
                _ => return Ok(out),
            }
        }
    }
}
