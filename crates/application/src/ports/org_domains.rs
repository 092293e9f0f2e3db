use async_trait::async_trait;
use authservice_domain::ClientId;
use authservice_domain::organization::{OrgDomain, OrganizationId};
use uuid::Uuid;

use crate::pagination::PageRequest;

/// The domains organizations claim, as read (written through [`super::UnitOfWork`]). Every
/// method is scoped by client.
#[async_trait]
pub trait OrgDomainRepository: Send + Sync {
    /// One page of the client's domains (of one organization when `org` is given), oldest
    /// first: up to `page.limit + 1` after the cursor.
    ///
    /// # Errors
    /// The store failed.
    async fn list(
        &self,
        client: ClientId,
        org: Option<OrganizationId>,
        page: PageRequest,
    ) -> anyhow::Result<Vec<OrgDomain>>;

    /// Whether `domain` is verified for an organization of `client` other than `org`.
    ///
    /// # Errors
    /// The store failed.
    async fn verified_elsewhere(
        &self,
        client: ClientId,
        org: OrganizationId,
        domain: &str,
    ) -> anyhow::Result<bool>;

    /// The organization of `client` that `domain` is verified for, if any.
    ///
    /// # Errors
    /// The store failed.
    async fn verified_for(
        &self,
        client: ClientId,
        domain: &str,
    ) -> anyhow::Result<Option<OrganizationId>>;

    /// How many domains organization `org` claims.
    ///
    /// # Errors
    /// The store failed.
    async fn count(&self, client: ClientId, org: OrganizationId) -> anyhow::Result<usize>;

    /// Domain claim `id` of `client`.
    ///
    /// # Errors
    /// The store failed.
    async fn get(&self, client: ClientId, id: Uuid) -> anyhow::Result<Option<OrgDomain>>;
}

/// Why a DNS lookup gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The resolver could not be reached or failed (not: the name has no records).
    #[error("DNS lookup failed: {0}")]
    Unavailable(String),
}

/// A DNS resolver (the system's, or `DNS_NAMESERVERS`).
#[async_trait]
pub trait DnsResolver: Send + Sync {
    /// The TXT records at `name`, each record's strings joined; empty when the name has none
    /// (or does not exist).
    ///
    /// # Errors
    /// `Unavailable` when no nameserver answered.
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError>;
}
