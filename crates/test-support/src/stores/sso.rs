//! The in-memory SSO connections and identities.

use authservice_application::pagination::PageRequest;
use authservice_application::ports::SsoConnectionRepository;
use authservice_domain::organization::{DomainStatus, MemberGroups, Membership, OrganizationId};
use authservice_domain::sso::SsoConnection;

use super::*;

/// A linked identity: (client, connection, external id, user).
#[derive(Debug, Clone)]
pub(super) struct Identity {
    client: ClientId,
    connection: Uuid,
    external_id: String,
    user: UserId,
}

#[async_trait]
impl SsoConnectionRepository for MemoryDb {
    async fn list(
        &self,
        client: ClientId,
        org: Option<OrganizationId>,
        page: PageRequest,
    ) -> anyhow::Result<Vec<SsoConnection>> {
        let mut rows: Vec<SsoConnection> = self
            .lock()
            .sso_connections
            .iter()
            .filter(|c| c.client_id == client && org.is_none_or(|o| c.organization_id == o))
            .filter(|c| page.after.is_none_or(|after| c.id > after))
            .cloned()
            .collect();
        rows.sort_by_key(|c| c.id);
        rows.truncate(page.limit + 1);
        Ok(rows)
    }

    async fn get(&self, client: ClientId, id: Uuid) -> anyhow::Result<Option<SsoConnection>> {
        Ok(self
            .lock()
            .sso_connections
            .iter()
            .find(|c| c.client_id == client && c.id == id)
            .cloned())
    }

    async fn find(&self, id: Uuid) -> anyhow::Result<Option<SsoConnection>> {
        Ok(self
            .lock()
            .sso_connections
            .iter()
            .find(|c| c.id == id)
            .cloned())
    }

    async fn count(&self, client: ClientId, org: OrganizationId) -> anyhow::Result<usize> {
        Ok(self
            .lock()
            .sso_connections
            .iter()
            .filter(|c| c.client_id == client && c.organization_id == org)
            .count())
    }

    async fn any_active(&self, client: ClientId) -> anyhow::Result<bool> {
        Ok(self
            .lock()
            .sso_connections
            .iter()
            .any(|c| c.client_id == client && c.is_active()))
    }

    async fn for_domain(
        &self,
        client: ClientId,
        domain: &str,
    ) -> anyhow::Result<Option<SsoConnection>> {
        let st = self.lock();
        let mut found: Vec<&SsoConnection> = st
            .sso_connections
            .iter()
            .filter(|c| c.client_id == client && c.is_active())
            .filter(|c| c.domains.iter().any(|d| d == domain))
            .filter(|c| {
                st.org_domains.iter().any(|d| {
                    d.client_id == client
                        && d.organization_id == c.organization_id
                        && d.domain == domain
                        && d.status == DomainStatus::Verified
                })
            })
            .collect();
        found.sort_by_key(|c| c.id);
        Ok(found.first().map(|c| (*c).clone()))
    }

    async fn identity_user(
        &self,
        client: ClientId,
        connection: Uuid,
        external_id: &str,
    ) -> anyhow::Result<Option<UserId>> {
        Ok(self
            .lock()
            .sso_identities
            .iter()
            .find(|i| {
                i.client == client && i.connection == connection && i.external_id == external_id
            })
            .map(|i| i.user))
    }
}

impl State {
    pub(super) fn update_sso_connection(&mut self, c: &SsoConnection) -> bool {
        let Some(stored) = self
            .sso_connections
            .iter_mut()
            .find(|s| s.client_id == c.client_id && s.id == c.id)
        else {
            return false;
        };
        *stored = SsoConnection {
            created_at: stored.created_at,
            last_login_at: stored.last_login_at,
            ..c.clone()
        };
        true
    }

    pub(super) fn delete_sso_connection(&mut self, client: ClientId, id: Uuid) -> bool {
        let before = self.sso_connections.len();
        self.sso_connections
            .retain(|c| !(c.client_id == client && c.id == id));
        self.sso_identities.retain(|i| i.connection != id);
        self.sso_connections.len() < before
    }

    pub(super) fn forget_sso_identities(&mut self, client: ClientId, connection: Uuid) {
        self.sso_identities
            .retain(|i| !(i.client == client && i.connection == connection));
    }

    /// Links (or stamps) the identity; `false` when it belongs to another user.
    pub(super) fn link_sso_identity(
        &mut self,
        client: ClientId,
        connection: Uuid,
        external_id: &str,
        user: UserId,
        at: DateTime<Utc>,
    ) -> bool {
        if let Some(existing) = self
            .sso_identities
            .iter()
            .find(|i| i.connection == connection && i.external_id == external_id)
        {
            if existing.user != user || existing.client != client {
                return false;
            }
        } else {
            self.sso_identities.push(Identity {
                client,
                connection,
                external_id: external_id.to_owned(),
                user,
            });
        }
        let Some(c) = self
            .sso_connections
            .iter_mut()
            .find(|c| c.client_id == client && c.id == connection)
        else {
            return false;
        };
        c.last_login_at = Some(at);
        true
    }

    /// A new user without a password; `false` when the email is taken.
    pub(super) fn create_user(&mut self, user: &User) -> bool {
        if self
            .users
            .iter()
            .any(|(u, _)| u.client_id == user.client_id && u.email == user.email)
        {
            return false;
        }
        self.users.push((user.clone(), None));
        true
    }

    pub(super) fn add_member(&mut self, member: &Membership) {
        if !self
            .members
            .iter()
            .any(|m| m.organization_id == member.organization_id && m.user_id == member.user_id)
        {
            self.members.push(member.clone());
        }
    }

    pub(super) fn replace_member_groups(
        &mut self,
        client: ClientId,
        org: OrganizationId,
        user: UserId,
        groups: &MemberGroups,
    ) -> bool {
        let Some(m) = self
            .members
            .iter_mut()
            .find(|m| m.client_id == client && m.organization_id == org && m.user_id == user)
        else {
            return false;
        };
        m.groups = groups.clone();
        true
    }
}

#[async_trait]
impl authservice_application::ports::SocialProviderRepository for MemoryDb {
    async fn get(
        &self,
        client: ClientId,
        kind: authservice_domain::social::SocialKind,
    ) -> anyhow::Result<Option<authservice_domain::social::SocialProvider>> {
        Ok(self
            .lock()
            .social_providers
            .iter()
            .find(|p| p.client_id == client && p.kind == kind)
            .cloned())
    }

    async fn list(
        &self,
        client: ClientId,
    ) -> anyhow::Result<Vec<authservice_domain::social::SocialProvider>> {
        Ok(self
            .lock()
            .social_providers
            .iter()
            .filter(|p| p.client_id == client)
            .cloned()
            .collect())
    }

    async fn identity_user(
        &self,
        client: ClientId,
        kind: authservice_domain::social::SocialKind,
        subject: &str,
    ) -> anyhow::Result<Option<UserId>> {
        Ok(self
            .lock()
            .social_identities
            .iter()
            .find(|(c, k, s, _)| *c == client && *k == kind && s == subject)
            .map(|(_, _, _, u)| *u))
    }

    async fn identities_of(
        &self,
        client: ClientId,
        user: UserId,
    ) -> anyhow::Result<Vec<(authservice_domain::social::SocialKind, DateTime<Utc>)>> {
        Ok(self
            .lock()
            .social_identities
            .iter()
            .filter(|(c, _, _, u)| *c == client && *u == user)
            .map(|(_, k, _, _)| (*k, DateTime::<Utc>::UNIX_EPOCH))
            .collect())
    }

    async fn sealed_tokens(
        &self,
        client: ClientId,
        user: UserId,
        kind: authservice_domain::social::SocialKind,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self
            .lock()
            .social_tokens
            .iter()
            .find(|(c, u, k, _)| *c == client && *u == user && *k == kind)
            .map(|(_, _, _, t)| t.clone()))
    }
}

impl State {
    pub(super) fn put_social_provider(&mut self, p: &authservice_domain::social::SocialProvider) {
        self.social_providers
            .retain(|q| !(q.client_id == p.client_id && q.kind == p.kind));
        self.social_providers.push(p.clone());
    }

    pub(super) fn delete_social_provider(
        &mut self,
        client: ClientId,
        kind: authservice_domain::social::SocialKind,
    ) -> bool {
        let before = self.social_providers.len();
        self.social_providers
            .retain(|p| !(p.client_id == client && p.kind == kind));
        self.social_identities
            .retain(|(c, k, _, _)| !(*c == client && *k == kind));
        self.social_providers.len() < before
    }

    pub(super) fn link_social_identity(
        &mut self,
        client: ClientId,
        kind: authservice_domain::social::SocialKind,
        subject: &str,
        user: UserId,
        tokens: Option<Vec<u8>>,
    ) -> bool {
        let linked = match self
            .social_identities
            .iter()
            .find(|(c, k, s, _)| *c == client && *k == kind && s == subject)
        {
            Some((_, _, _, owner)) => *owner == user,
            None => {
                self.social_identities
                    .push((client, kind, subject.to_owned(), user));
                true
            }
        };
        if linked {
            self.social_tokens
                .retain(|(c, u, k, _)| !(*c == client && *u == user && *k == kind));
            if let Some(tokens) = tokens {
                self.social_tokens.push((client, user, kind, tokens));
            }
        }
        linked
    }
}
