//! Domains an organization claims (enterprise onboarding): claimed by members with
//! `enterprise:write` or by operators, proven by a TXT record looked up through a real resolver,
//! verified for at most one organization of a client. Only verified domains will route SSO
//! sign-ins and enforce SSO.

use authservice_domain::organization::{OrgDomain, OrgPermission, Organization, parse_domain};
use authservice_domain::secret::hex;
use authservice_domain::{EventType, Permission};
use serde_json::json;
use uuid::Uuid;

use super::operate::{operator_client, operator_org};
use super::{OrgError, access};
use crate::auth::AuthenticatedUser;
use crate::context::RequestCtx;
use crate::pagination::{Page, PageRequest};
use crate::ports::{Ports, Write};

/// How many domains one organization may claim.
pub const MAX_DOMAINS: usize = 100;

/// Who manages a client's domains.
#[derive(Clone, Copy)]
pub enum DomainActor<'a> {
    /// An operator (`X-Admin-Key`): `users:read` to list, `clients:update` to change, for the
    /// client named in the path.
    Operator { client: &'a str },
    /// A member of the organization: `enterprise:read` to list, `enterprise:write` to change.
    Member(&'a AuthenticatedUser),
}

pub struct ManageDomains {
    ports: Ports,
}

impl ManageDomains {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    /// The claim `id` the actor may change (a member: with `enterprise:write` in its
    /// organization).
    async fn claim(
        &self,
        ctx: &RequestCtx,
        actor: DomainActor<'_>,
        id: &str,
    ) -> Result<OrgDomain, OrgError> {
        let id = Uuid::try_parse(id.trim()).map_err(|_| OrgError::DomainNotFound)?;
        let client = acting_client(ctx, actor, true)?;
        let claim = self
            .ports
            .org_domains
            .get(client, id)
            .await?
            .ok_or(OrgError::DomainNotFound)?;
        require_member_write(
            &self.ports,
            actor,
            claim.organization_id,
            OrgError::DomainNotFound,
        )
        .await?;
        Ok(claim)
    }

    fn event(
        ctx: &RequestCtx,
        event: EventType,
        claim: &OrgDomain,
        at: chrono::DateTime<chrono::Utc>,
    ) -> authservice_domain::AuditEvent {
        ctx.audit(event)
            .client(claim.client_id)
            .target("organization", claim.organization_id.as_uuid())
            .metadata(json!({
                "domain_id": claim.id.to_string(),
                "domain": claim.domain,
                "status": claim.status.as_str(),
            }))
            .at(at)
    }

    /// Claims `domain` for organization `org`: a pending claim with the TXT record to publish.
    ///
    /// # Errors
    /// `Invalid` (not a domain name), `NotFound`/`Forbidden`, `DomainTaken` (claimed by this
    /// organization already, or verified by another), a store failure.
    pub async fn add(
        &self,
        ctx: &RequestCtx,
        actor: DomainActor<'_>,
        org: &str,
        domain: &str,
    ) -> Result<OrgDomain, OrgError> {
        let domain = parse_domain(domain)?;
        let org = acting_org(&self.ports, ctx, actor, org, true).await?;
        let claimed = self.ports.org_domains.count(org.client_id, org.id).await?;
        if claimed >= MAX_DOMAINS {
            return Err(authservice_domain::ValidationError::new(
                "domain",
                format!("an organization claims at most {MAX_DOMAINS} domains"),
            )
            .into());
        }
        if self
            .ports
            .org_domains
            .verified_elsewhere(org.client_id, org.id, &domain)
            .await?
        {
            return Err(OrgError::DomainTaken);
        }
        let token = hex(&self.ports.random.bytes32());
        let claim = OrgDomain::claim(
            org.client_id,
            org.id,
            domain,
            &token,
            self.ports.clock.now(),
        );
        let event = Self::event(
            ctx,
            EventType::OrganizationDomainAdded,
            &claim,
            claim.created_at,
        );
        let writes = vec![Write::AddOrgDomain(claim.clone()), Write::Audit(event)];
        if !self.ports.uow.commit(writes).await?.is_all() {
            return Err(OrgError::DomainTaken);
        }
        Ok(claim)
    }

    /// One page of the domains of organization `org` (a member), or of the client (an
    /// operator, all of them when `org` is `None`).
    ///
    /// # Errors
    /// `NotFound`/`Forbidden`, a store failure.
    pub async fn list(
        &self,
        ctx: &RequestCtx,
        actor: DomainActor<'_>,
        org: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<OrgDomain>, OrgError> {
        let (client, org) = match (actor, org) {
            (_, Some(org)) => {
                let org = acting_org(&self.ports, ctx, actor, org, false).await?;
                (org.client_id, Some(org.id))
            }
            (DomainActor::Operator { client }, None) => {
                (operator_client(ctx, Permission::UsersRead, client)?, None)
            }
            (DomainActor::Member(_), None) => {
                return Err(authservice_domain::ValidationError::new(
                    "organization_id",
                    "is required",
                )
                .into());
            }
        };
        let rows = self.ports.org_domains.list(client, org, page).await?;
        Ok(Page::from_overfetch(rows, page.limit, |d| d.id))
    }

    /// Looks the claim's TXT record up and, when it carries the expected value, marks the
    /// claim verified.
    ///
    /// # Errors
    /// `DomainNotFound`, `DomainNotVerified` (with what was found), `DomainTaken` (verified
    /// for another organization meanwhile), `DnsUnavailable`, a store failure.
    pub async fn verify(
        &self,
        ctx: &RequestCtx,
        actor: DomainActor<'_>,
        id: &str,
    ) -> Result<OrgDomain, OrgError> {
        let mut claim = self.claim(ctx, actor, id).await?;
        if claim.status == authservice_domain::organization::DomainStatus::Verified {
            return Ok(claim);
        }
        let found = self.ports.dns.txt(&claim.txt_name).await.map_err(|e| {
            tracing::warn!(error = %e, domain = %claim.domain, "TXT lookup failed");
            OrgError::DnsUnavailable
        })?;
        if !claim.proven_by(&found) {
            return Err(OrgError::DomainNotVerified {
                txt_name: claim.txt_name,
                txt_value: claim.txt_value,
                found,
            });
        }
        let now = self.ports.clock.now();
        claim.status = authservice_domain::organization::DomainStatus::Verified;
        claim.verified_at = Some(now);
        let event = Self::event(ctx, EventType::OrganizationDomainVerified, &claim, now);
        let writes = vec![
            Write::VerifyOrgDomain {
                client: claim.client_id,
                id: claim.id,
                at: now,
            },
            Write::Audit(event),
        ];
        if !self.ports.uow.commit(writes).await?.is_all() {
            return Err(OrgError::DomainTaken);
        }
        Ok(claim)
    }

    /// Deletes a claim (verified or not).
    ///
    /// # Errors
    /// `DomainNotFound`, a store failure.
    pub async fn delete(
        &self,
        ctx: &RequestCtx,
        actor: DomainActor<'_>,
        id: &str,
    ) -> Result<(), OrgError> {
        let claim = self.claim(ctx, actor, id).await?;
        let event = Self::event(
            ctx,
            EventType::OrganizationDomainRemoved,
            &claim,
            self.ports.clock.now(),
        );
        let writes = vec![
            Write::DeleteOrgDomain {
                client: claim.client_id,
                id: claim.id,
            },
            Write::Audit(event),
        ];
        if self.ports.uow.commit(writes).await?.is_all() {
            Ok(())
        } else {
            Err(OrgError::DomainNotFound)
        }
    }
}

/// The organization `org` (id or slug) the actor may act on, with `write` or read rights
/// (`enterprise:write`/`enterprise:read` for members, `clients:update`/`users:read` for
/// operators).
pub(crate) async fn acting_org(
    ports: &Ports,
    ctx: &RequestCtx,
    actor: DomainActor<'_>,
    org: &str,
    write: bool,
) -> Result<Organization, OrgError> {
    match actor {
        DomainActor::Member(caller) => {
            let permission = if write {
                OrgPermission::EnterpriseWrite
            } else {
                OrgPermission::EnterpriseRead
            };
            Ok(access(ports, caller, org, Some(permission)).await?.org)
        }
        DomainActor::Operator { client } => {
            let permission = if write {
                Permission::ClientsUpdate
            } else {
                Permission::UsersRead
            };
            let client = operator_client(ctx, permission, client)?;
            operator_org(ports, client, org).await
        }
    }
}

/// Whose enterprise settings a list shows: organization `org` (members need
/// `enterprise:write`, as for one item; operators `users:read`), or for an operator without
/// one, the whole client.
pub(crate) async fn list_scope(
    ports: &Ports,
    ctx: &RequestCtx,
    actor: DomainActor<'_>,
    org: Option<&str>,
) -> Result<
    (
        authservice_domain::ClientId,
        Option<authservice_domain::organization::OrganizationId>,
    ),
    OrgError,
> {
    match (actor, org) {
        (_, Some(org)) => {
            let write = matches!(actor, DomainActor::Member(_));
            let org = acting_org(ports, ctx, actor, org, write).await?;
            Ok((org.client_id, Some(org.id)))
        }
        (DomainActor::Operator { .. }, None) => Ok((acting_client(ctx, actor, false)?, None)),
        (DomainActor::Member(_), None) => {
            Err(authservice_domain::ValidationError::new("organization_id", "is required").into())
        }
    }
}

/// The client an actor acts in (an operator: `clients:update` on the client in the path).
pub(crate) fn acting_client(
    ctx: &RequestCtx,
    actor: DomainActor<'_>,
    write: bool,
) -> Result<authservice_domain::ClientId, OrgError> {
    match actor {
        DomainActor::Member(caller) => Ok(caller.user.client_id),
        // Operators: `clients:update` to change, `users:read` to read (as `acting_org`).
        DomainActor::Operator { client } => {
            let permission = if write {
                Permission::ClientsUpdate
            } else {
                Permission::UsersRead
            };
            operator_client(ctx, permission, client)
        }
    }
}

/// Refuses a member without `enterprise:write` in organization `org` as if the thing they
/// asked for did not exist (`missing`); operators pass.
/// Refuses a member who could not grant everything the organization's group mappings of
/// `source` grant: whoever connects an identity provider (an SSO connection) or holds a
/// directory's token can put anyone — themselves included — in any group, so they must be
/// able to grant what those groups get. Operators may.
///
/// # Errors
/// `Forbidden`, a store failure.
pub(crate) async fn require_covers_mappings(
    ports: &Ports,
    actor: DomainActor<'_>,
    org: authservice_domain::organization::OrganizationId,
    source: authservice_domain::organization::GroupSource,
) -> Result<(), OrgError> {
    let DomainActor::Member(caller) = actor else {
        return Ok(());
    };
    let access = access(ports, caller, &org.as_uuid().to_string(), None).await?;
    let mappings = ports
        .org_authorization
        .group_mappings(access.org.client_id, access.org.id)
        .await?;
    for mapping in mappings.iter().filter(|m| m.source == source) {
        if let Some(role) = &mapping.role {
            access.grantable(role)?;
        }
        access.covering(&mapping.permissions.iter().cloned().collect())?;
    }
    Ok(())
}

pub(crate) async fn require_member_write(
    ports: &Ports,
    actor: DomainActor<'_>,
    org: authservice_domain::organization::OrganizationId,
    missing: OrgError,
) -> Result<(), OrgError> {
    if let DomainActor::Member(caller) = actor {
        let org = org.as_uuid().to_string();
        match access(ports, caller, &org, Some(OrgPermission::EnterpriseWrite)).await {
            Ok(_) => {}
            Err(OrgError::NotFound) => return Err(missing),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
