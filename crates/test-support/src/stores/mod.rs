//! One in-memory database behind every repository port. Each method takes the lock once, so
//! what the PostgreSQL adapter does in one transaction happens here atomically too.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use authservice_application::ports::{
    AuditFilter, AuditLog, ClaimedEmail, ClientRepository, ClientWriteError, ConsumeOutcome,
    EmailConfigRepository, EmailOutbox, MfaRepository, NewSession, OneTimeTokenRecord,
    OneTimeTokenRepository, OutboxStats, PasskeyRepository, PendingEmail, PresentedToken,
    QueuedEmail, SealedSecret, SealedSigningKey, SessionInfo, SessionRepository, SigningKeyInfo,
    SigningKeyStore, StoredEmailConfig, StoredPasskey, TotpState, UserRepository, UserWithPassword,
    UserWriteError,
};
use authservice_domain::{
    ApiKeyHash, AuditEvent, Client, ClientId, Email, TokenPurpose, User, UserId, UserStatus,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

mod admins;
mod audit_chain;
mod clients;
mod consents;
mod email;
mod invitations;
mod mfa;
mod oidc_apps;
mod org_authorization;
mod org_domains;
mod organizations;
mod scim;
mod scim_groups;
mod service_accounts;
mod sessions;
mod sso;
mod unit_of_work;
mod users;
mod webhooks;

use email::issue;

/// A refresh-session row.
#[derive(Debug, Clone)]
pub struct StoredSession {
    pub row: NewSession,
    pub consumed_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_reason: Option<String>,
}

impl StoredSession {
    fn live(&self, now: DateTime<Utc>) -> bool {
        self.consumed_at.is_none() && self.revoked_at.is_none() && self.row.expires_at > now
    }
}

#[derive(Clone)]
struct OneTimeRow {
    token_hash: [u8; 32],
    record: OneTimeTokenRecord,
}

#[derive(Clone)]
struct OutboxRow {
    email: QueuedEmail,
    status: &'static str,
    attempts: u32,
    claim: Option<Uuid>,
}

#[derive(Default, Clone)]
struct State {
    admins: admins::Admins,
    holds: Vec<(authservice_application::ports::LegalHold, bool)>,
    clients: Vec<(Client, SealedSecret)>,
    users: Vec<(User, Option<String>)>,
    sessions: Vec<StoredSession>,
    audit: Vec<AuditEvent>,
    chain: audit_chain::Chain,
    webhooks: webhooks::Hooks,
    one_time: Vec<OneTimeRow>,
    outbox: Vec<OutboxRow>,
    email_configs: HashMap<ClientId, StoredEmailConfig>,
    totp: HashMap<(ClientId, UserId), TotpState>,
    /// (client, user, digest, used)
    recovery: Vec<(ClientId, UserId, [u8; 32], bool)>,
    passkeys: Vec<StoredPasskey>,
    signing_keys: Vec<(ClientId, SigningKeyInfo)>,
    organizations: Vec<authservice_domain::organization::Organization>,
    members: Vec<authservice_domain::organization::Membership>,
    invitations: Vec<(authservice_domain::organization::Invitation, [u8; 32])>,
    policy_versions: Vec<(
        authservice_domain::organization::OrganizationId,
        authservice_domain::organization::AuthorizationPolicy,
        authservice_application::ports::PolicyVersion,
    )>,
    mappings: Vec<authservice_domain::organization::GroupMapping>,
    oidc_apps: Vec<(authservice_domain::oidc_app::OidcApp, Option<[u8; 32]>)>,
    org_domains: Vec<authservice_domain::organization::OrgDomain>,
    sso_connections: Vec<authservice_domain::sso::SsoConnection>,
    /// Directories with the SHA-256 of their token.
    scim_directories: Vec<(authservice_domain::scim::ScimDirectory, [u8; 32])>,
    scim_users: Vec<authservice_domain::scim::ScimUser>,
    scim_groups: Vec<authservice_domain::scim::ScimGroup>,
    sso_identities: Vec<sso::Identity>,
    social_providers: Vec<authservice_domain::social::SocialProvider>,
    social_identities: Vec<(
        ClientId,
        authservice_domain::social::SocialKind,
        String,
        UserId,
    )>,
    /// Sealed provider tokens by (client, user, provider).
    social_tokens: Vec<(
        ClientId,
        UserId,
        authservice_domain::social::SocialKind,
        Vec<u8>,
    )>,
    consents: Vec<(ClientId, UserId, authservice_application::ports::Consent)>,
    service_accounts: Vec<authservice_domain::service_account::ServiceAccount>,
    service_account_keys: Vec<(
        authservice_domain::service_account::ServiceAccountKey,
        [u8; 32],
    )>,
}

impl State {
    fn user_mut(&mut self, client: ClientId, id: UserId) -> Option<&mut (User, Option<String>)> {
        self.users
            .iter_mut()
            .find(|(u, _)| u.client_id == client && u.id == id)
    }

    /// Revokes the live rows of `user`'s sessions (one family, or all but `keep`).
    fn revoke(
        &mut self,
        client: ClientId,
        user: UserId,
        family: Option<Uuid>,
        keep: Option<Uuid>,
        reason: &str,
        at: DateTime<Utc>,
    ) -> usize {
        let mut n = 0;
        for s in &mut self.sessions {
            let r = &s.row;
            if r.client_id == client
                && r.user_id == user
                && s.revoked_at.is_none()
                && s.consumed_at.is_none()
                && family.is_none_or(|f| r.family_id == f)
                && keep.is_none_or(|k| r.family_id != k)
            {
                s.revoked_at = Some(at);
                s.revoked_reason = Some(reason.to_owned());
                n += 1;
            }
        }
        n
    }

    fn queue(&mut self, email: &QueuedEmail) {
        self.outbox.push(OutboxRow {
            email: email.clone(),
            status: "pending",
            attempts: 0,
            claim: None,
        });
    }
}

#[derive(Default)]
pub struct MemoryDb {
    state: Mutex<State>,
}

impl MemoryDb {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores or replaces a client.
    pub fn seed_client(&self, client: &Client) {
        let mut st = self.lock();
        st.clients.retain(|(c, _)| c.id != client.id);
        st.clients.push((client.clone(), SealedSecret(vec![1; 32])));
    }

    /// Audit event types, oldest first.
    #[must_use]
    pub fn event_types(&self) -> Vec<String> {
        self.lock()
            .audit
            .iter()
            .map(|e| e.event_type.clone())
            .collect()
    }

    /// A stored user of `client` with its password hash.
    #[must_use]
    pub fn user(&self, client: ClientId, id: UserId) -> Option<(User, Option<String>)> {
        self.lock().user_mut(client, id).map(|u| u.clone())
    }

    /// Every session row, in insertion order.
    #[must_use]
    pub fn sessions(&self) -> Vec<StoredSession> {
        self.lock().sessions.clone()
    }

    /// Queued messages (sealed), oldest first.
    #[must_use]
    pub fn queued(&self) -> Vec<QueuedEmail> {
        self.lock().outbox.iter().map(|o| o.email.clone()).collect()
    }

    /// Queued message kinds (`verify_email`, `notice`, ...), oldest first.
    #[must_use]
    pub fn queued_kinds(&self) -> Vec<String> {
        self.lock()
            .outbox
            .iter()
            .map(|o| o.email.kind.clone())
            .collect()
    }
}

/// A sign-in as the Postgres adapter stores it: the session, the user's `last_login_at` and
/// the password rehash it carries.
fn sign_in(st: &mut State, session: &NewSession) {
    if let Some((user, hash)) = st.user_mut(session.client_id, session.user_id) {
        user.last_login_at = Some(session.started_at);
        if let Some(rehash) = &session.rehash
            && hash.as_deref() == Some(rehash.old.as_str())
        {
            *hash = Some(rehash.new.clone());
        }
    }
    st.sessions.push(new_row(session));
}

fn new_row(session: &NewSession) -> StoredSession {
    StoredSession {
        row: session.clone(),
        consumed_at: None,
        revoked_at: None,
        revoked_reason: None,
    }
}
