//! The in-memory domain claims of organizations.

use authservice_application::pagination::PageRequest;
use authservice_application::ports::OrgDomainRepository;
use authservice_domain::organization::{DomainStatus, OrgDomain, OrganizationId};

use super::*;

#[async_trait]
impl OrgDomainRepository for MemoryDb {
    async fn list(
        &self,
        client: ClientId,
        org: Option<OrganizationId>,
        page: PageRequest,
    ) -> anyhow::Result<Vec<OrgDomain>> {
        let mut rows: Vec<OrgDomain> = self
            .lock()
            .org_domains
            .iter()
            .filter(|d| d.client_id == client && org.is_none_or(|o| d.organization_id == o))
            .filter(|d| page.after.is_none_or(|after| d.id > after))
            .cloned()
            .collect();
        rows.sort_by_key(|d| d.id);
        rows.truncate(page.limit + 1);
        Ok(rows)
    }

    async fn verified_elsewhere(
        &self,
        client: ClientId,
        org: OrganizationId,
        domain: &str,
    ) -> anyhow::Result<bool> {
        Ok(self.lock().org_domains.iter().any(|d| {
            d.client_id == client
                && d.domain == domain
                && d.organization_id != org
                && d.status == DomainStatus::Verified
        }))
    }

    async fn verified_for(
        &self,
        client: ClientId,
        domain: &str,
    ) -> anyhow::Result<Option<OrganizationId>> {
        Ok(self
            .lock()
            .org_domains
            .iter()
            .find(|d| {
                d.client_id == client && d.domain == domain && d.status == DomainStatus::Verified
            })
            .map(|d| d.organization_id))
    }

    async fn count(&self, client: ClientId, org: OrganizationId) -> anyhow::Result<usize> {
        Ok(self
            .lock()
            .org_domains
            .iter()
            .filter(|d| d.client_id == client && d.organization_id == org)
            .count())
    }

    async fn get(&self, client: ClientId, id: Uuid) -> anyhow::Result<Option<OrgDomain>> {
        Ok(self
            .lock()
            .org_domains
            .iter()
            .find(|d| d.client_id == client && d.id == id)
            .cloned())
    }
}

impl State {
    pub(super) fn add_org_domain(&mut self, claim: &OrgDomain) -> bool {
        if self
            .org_domains
            .iter()
            .any(|d| d.organization_id == claim.organization_id && d.domain == claim.domain)
        {
            return false;
        }
        self.org_domains.push(claim.clone());
        true
    }

    pub(super) fn verify_org_domain(
        &mut self,
        client: ClientId,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> bool {
        let Some(domain) = self
            .org_domains
            .iter()
            .find(|d| d.client_id == client && d.id == id && d.status == DomainStatus::Pending)
            .map(|d| d.domain.clone())
        else {
            return false;
        };
        if self.org_domains.iter().any(|d| {
            d.client_id == client && d.domain == domain && d.status == DomainStatus::Verified
        }) {
            return false;
        }
        if let Some(d) = self.org_domains.iter_mut().find(|d| d.id == id) {
            d.status = DomainStatus::Verified;
            d.verified_at = Some(at);
        }
        true
    }

    pub(super) fn delete_org_domain(&mut self, client: ClientId, id: Uuid) -> bool {
        let before = self.org_domains.len();
        self.org_domains
            .retain(|d| !(d.client_id == client && d.id == id));
        self.org_domains.len() < before
    }
}
