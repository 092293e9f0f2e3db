//! The audit trail's hash chain: sealing events into links in the background, and
//! `GET /api/admin/audit-events/chain/verify`, which walks one scope's links a page at a time
//! and reports the first one that does not verify.

use std::sync::Arc;

use authservice_domain::audit_chain::{ChainReport, GLOBAL_SCOPE};
use authservice_domain::{AdminScope, ClientId, EventType, Permission};
use serde_json::json;

use crate::audit::record_quietly;
use crate::context::{Forbidden, RequestCtx};
use crate::error::{ErrorKind, UseCaseError};
use crate::ports::{AuditChain, Clock, Ports};

/// Links read per query while verifying (the walk holds one page in memory).
const VERIFY_PAGE: usize = 2000;

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error(transparent)]
    Invalid(#[from] authservice_domain::ValidationError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for ChainError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::Invalid(_) => ErrorKind::InvalidRequest,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}

/// A verification's report, with the events still waiting to be sealed.
#[derive(Debug, Clone)]
pub struct ChainVerdict {
    pub client_id: Option<ClientId>,
    pub report: ChainReport,
    pub unsealed_events: u64,
}

/// Seals new events into their scopes' chains (run by a background task on every replica;
/// the store lets one seal at a time).
pub struct SealAuditChain {
    chain: Arc<dyn AuditChain>,
    clock: Arc<dyn Clock>,
}

impl SealAuditChain {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            chain: ports.audit_chain.clone(),
            clock: ports.clock.clone(),
        }
    }

    /// Seals up to `limit` events; how many were sealed.
    ///
    /// # Errors
    /// The store failed.
    #[tracing::instrument(name = "seal_audit_chain", level = "debug", skip_all)]
    pub async fn run_once(&self, limit: usize) -> anyhow::Result<usize> {
        self.chain.seal(limit, self.clock.now()).await
    }
}

pub struct VerifyAuditChain {
    ports: Ports,
}

impl VerifyAuditChain {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    /// Verifies the chain of `client_id` (`audit:read` over it), or with none the chain of
    /// events outside any client (`audit:read` with scope `all`); a client-scoped operator
    /// naming no client verifies its own client's.
    #[tracing::instrument(name = "verify_audit_chain", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        client_id: Option<&str>,
    ) -> Result<ChainVerdict, ChainError> {
        let admin = ctx.require(Permission::AuditRead)?;
        let mut client = client_id
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(ClientId::parse)
            .transpose()?;
        if client.is_none()
            && let AdminScope::Clients(ids) = &admin.scope
            && let [only] = ids.as_slice()
        {
            client = Some(*only);
        }
        match client {
            Some(c) => {
                ctx.require_for_client(Permission::AuditRead, c)?;
            }
            None if admin.scope != AdminScope::All => {
                return Err(Forbidden("audit:read for events outside any client").into());
            }
            None => {}
        }
        let scope = client.map_or(GLOBAL_SCOPE, |c| c.as_uuid());
        let chain = &self.ports.audit_chain;
        let report = chain.verify(scope, VERIFY_PAGE).await?;
        let unsealed_events = chain.unsealed(scope).await?;
        let mut event = ctx
            .audit(EventType::AuditChainVerified)
            .metadata(json!({
                "valid": report.valid(),
                "links_verified": report.links_verified,
                "first_broken": report.first_broken.as_ref().map(|b| json!({
                    "seq": b.seq,
                    "reason": b.reason.as_str(),
                })),
            }))
            .at(self.ports.clock.now());
        event.client_id = client;
        record_quietly(&self.ports, &event).await;
        Ok(ChainVerdict {
            client_id: client,
            report,
            unsealed_events,
        })
    }
}
