//! One in-memory database behind every repository port. Each method takes the lock once, so
//! what the PostgreSQL adapter does in one transaction happens here atomically too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use authservice_application::ports::{
    AuditFilter, AuditLog, ClaimedEmail, ClientRepository, ClientWriteError, Clock, ConsumeOutcome,
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

use crate::ManualClock;

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

struct OneTimeRow {
    token_hash: [u8; 32],
    record: OneTimeTokenRecord,
}

struct OutboxRow {
    email: QueuedEmail,
    status: &'static str,
    attempts: u32,
    claim: Option<Uuid>,
}

#[derive(Default)]
struct State {
    clients: Vec<(Client, SealedSecret)>,
    users: Vec<(User, Option<String>)>,
    sessions: Vec<StoredSession>,
    audit: Vec<AuditEvent>,
    one_time: Vec<OneTimeRow>,
    outbox: Vec<OutboxRow>,
    email_configs: HashMap<ClientId, StoredEmailConfig>,
    totp: HashMap<(ClientId, UserId), TotpState>,
    /// (client, user, digest, used)
    recovery: Vec<(ClientId, UserId, [u8; 32], bool)>,
    passkeys: Vec<StoredPasskey>,
    signing_keys: Vec<(ClientId, SigningKeyInfo)>,
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

pub struct MemoryDb {
    state: Mutex<State>,
    clock: Arc<ManualClock>,
}

impl MemoryDb {
    #[must_use]
    pub fn new(clock: Arc<ManualClock>) -> Self {
        Self {
            state: Mutex::new(State::default()),
            clock,
        }
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

    /// Every session row, in insertion order.
    #[must_use]
    pub fn sessions(&self) -> Vec<StoredSession> {
        self.lock().sessions.clone()
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

#[async_trait]
impl ClientRepository for MemoryDb {
    async fn insert(
        &self,
        client: &Client,
        jwt_secret: &SealedSecret,
        _signing_key: &SealedSigningKey,
        audit: &AuditEvent,
    ) -> Result<(), ClientWriteError> {
        let mut st = self.lock();
        if st.clients.iter().any(|(c, _)| c.slug == client.slug) {
            return Err(ClientWriteError::SlugTaken);
        }
        st.clients.push((client.clone(), jwt_secret.clone()));
        st.audit.push(audit.clone());
        Ok(())
    }

    async fn update(
        &self,
        client: &Client,
        jwt_secret: Option<&SealedSecret>,
        audit: &AuditEvent,
    ) -> Result<(), ClientWriteError> {
        let mut st = self.lock();
        if st
            .clients
            .iter()
            .any(|(c, _)| c.slug == client.slug && c.id != client.id)
        {
            return Err(ClientWriteError::SlugTaken);
        }
        let (stored, secret) = st
            .clients
            .iter_mut()
            .find(|(c, _)| c.id == client.id)
            .ok_or(ClientWriteError::NotFound)?;
        if stored.version != client.version - 1 {
            return Err(ClientWriteError::Conflict);
        }
        *stored = client.clone();
        if let Some(new) = jwt_secret {
            *secret = new.clone();
        }
        st.audit.push(audit.clone());
        Ok(())
    }

    async fn get(&self, id: ClientId) -> anyhow::Result<Option<Client>> {
        Ok(self
            .lock()
            .clients
            .iter()
            .find(|(c, _)| c.id == id)
            .map(|(c, _)| c.clone()))
    }

    async fn find_by_api_key_hash(&self, hash: &ApiKeyHash) -> anyhow::Result<Option<Client>> {
        Ok(self
            .lock()
            .clients
            .iter()
            .find(|(c, _)| c.api_key_hash.matches(hash))
            .map(|(c, _)| c.clone()))
    }

    async fn list(&self, after: Option<Uuid>, limit: usize) -> anyhow::Result<Vec<Client>> {
        let mut all: Vec<Client> = self.lock().clients.iter().map(|(c, _)| c.clone()).collect();
        all.sort_by_key(|c| c.id.as_uuid());
        Ok(all
            .into_iter()
            .filter(|c| after.is_none_or(|a| c.id.as_uuid() > a))
            .take(limit)
            .collect())
    }

    async fn jwt_secret(&self, id: ClientId) -> anyhow::Result<Option<SealedSecret>> {
        Ok(self
            .lock()
            .clients
            .iter()
            .find(|(c, _)| c.id == id)
            .map(|(_, s)| s.clone()))
    }

    async fn any_active_allows_origin(&self, origin: &str) -> anyhow::Result<bool> {
        Ok(self
            .lock()
            .clients
            .iter()
            .any(|(c, _)| c.is_active() && c.allows_origin(origin)))
    }
}

#[async_trait]
impl UserRepository for MemoryDb {
    async fn insert(
        &self,
        user: &User,
        password_hash: &str,
        audit: &AuditEvent,
        first_session: Option<(&NewSession, &AuditEvent)>,
        verification: Option<&PendingEmail>,
    ) -> Result<(), UserWriteError> {
        let mut st = self.lock();
        if st
            .users
            .iter()
            .any(|(u, _)| u.client_id == user.client_id && u.email == user.email)
        {
            return Err(UserWriteError::EmailTaken);
        }
        st.users
            .push((user.clone(), Some(password_hash.to_owned())));
        st.audit.push(audit.clone());
        if let Some((session, event)) = first_session {
            st.sessions.push(new_row(session));
            st.audit.push(event.clone());
        }
        if let Some(pending) = verification {
            issue(&mut st, pending);
        }
        Ok(())
    }

    async fn find_by_email(
        &self,
        client: ClientId,
        email: &Email,
    ) -> anyhow::Result<Option<UserWithPassword>> {
        Ok(self
            .lock()
            .users
            .iter()
            .find(|(u, _)| u.client_id == client && &u.email == email)
            .map(|(user, hash)| UserWithPassword {
                user: user.clone(),
                password_hash: hash.clone(),
            }))
    }

    async fn get(&self, client: ClientId, id: UserId) -> anyhow::Result<Option<UserWithPassword>> {
        Ok(self
            .lock()
            .users
            .iter()
            .find(|(u, _)| u.client_id == client && u.id == id)
            .map(|(user, hash)| UserWithPassword {
                user: user.clone(),
                password_hash: hash.clone(),
            }))
    }

    async fn record_login(
        &self,
        client: ClientId,
        id: UserId,
        at: DateTime<Utc>,
        upgrade: Option<(&str, &str)>,
    ) -> anyhow::Result<()> {
        let mut st = self.lock();
        if let Some((user, hash)) = st.user_mut(client, id) {
            user.last_login_at = Some(at);
            if let Some((old, new)) = upgrade
                && hash.as_deref() == Some(old)
            {
                *hash = Some(new.to_owned());
            }
        }
        Ok(())
    }

    async fn update_profile(&self, user: &User, audit: &AuditEvent) -> anyhow::Result<()> {
        let mut st = self.lock();
        if let Some((stored, _)) = st.user_mut(user.client_id, user.id) {
            stored.display_name.clone_from(&user.display_name);
            stored.timezone.clone_from(&user.timezone);
            stored.locale.clone_from(&user.locale);
            stored.updated_at = user.updated_at;
        }
        st.audit.push(audit.clone());
        Ok(())
    }

    async fn set_status(
        &self,
        client: ClientId,
        id: UserId,
        status: UserStatus,
        at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<Option<User>> {
        let mut st = self.lock();
        let Some((user, _)) = st.user_mut(client, id) else {
            return Ok(None);
        };
        user.status = status;
        user.updated_at = at;
        let user = user.clone();
        if status == UserStatus::Disabled {
            st.revoke(client, id, None, None, "user_disabled", at);
        }
        st.audit.push(audit.clone());
        Ok(Some(user))
    }

    async fn change_password(
        &self,
        client: ClientId,
        id: UserId,
        new_hash: &str,
        keep_session: Option<Uuid>,
        at: DateTime<Utc>,
        audit: &AuditEvent,
        notice: Option<&QueuedEmail>,
    ) -> anyhow::Result<()> {
        let mut st = self.lock();
        if let Some((user, hash)) = st.user_mut(client, id) {
            *hash = Some(new_hash.to_owned());
            user.updated_at = at;
        }
        st.revoke(client, id, None, keep_session, "password_changed", at);
        st.audit.push(audit.clone());
        if let Some(notice) = notice {
            st.queue(notice);
        }
        Ok(())
    }
}

fn new_row(session: &NewSession) -> StoredSession {
    StoredSession {
        row: session.clone(),
        consumed_at: None,
        revoked_at: None,
        revoked_reason: None,
    }
}

#[async_trait]
impl SessionRepository for MemoryDb {
    async fn create(&self, session: &NewSession, audit: &AuditEvent) -> anyhow::Result<()> {
        let mut st = self.lock();
        st.sessions.push(new_row(session));
        st.audit.push(audit.clone());
        Ok(())
    }

    async fn find_token(
        &self,
        client: ClientId,
        presented: &[u8; 32],
    ) -> anyhow::Result<Option<PresentedToken>> {
        Ok(self
            .lock()
            .sessions
            .iter()
            .find(|s| s.row.refresh_token_hash == *presented && s.row.client_id == client)
            .map(|s| PresentedToken {
                id: s.row.id,
                family_id: s.row.family_id,
                user_id: s.row.user_id,
                started_at: s.row.started_at,
                expires_at: s.row.expires_at,
                auth_time: s.row.auth_time,
                consumed: s.consumed_at.is_some(),
                revoked: s.revoked_at.is_some(),
            }))
    }

    async fn consume_and_replace(
        &self,
        consumed: Uuid,
        next: &NewSession,
        audit: &AuditEvent,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let Some(row) = st
            .sessions
            .iter_mut()
            .find(|s| s.row.id == consumed && s.consumed_at.is_none() && s.revoked_at.is_none())
        else {
            return Ok(false);
        };
        row.consumed_at = Some(next.created_at);
        st.sessions.push(new_row(next));
        st.audit.push(audit.clone());
        Ok(true)
    }

    async fn revoke_by_token(
        &self,
        client: ClientId,
        presented: &[u8; 32],
        at: DateTime<Utc>,
    ) -> anyhow::Result<Option<(UserId, Uuid)>> {
        let mut st = self.lock();
        let Some((user, family)) = st
            .sessions
            .iter()
            .find(|s| {
                s.row.refresh_token_hash == *presented
                    && s.row.client_id == client
                    && s.revoked_at.is_none()
            })
            .map(|s| (s.row.user_id, s.row.family_id))
        else {
            return Ok(None);
        };
        let n = st.revoke(client, user, Some(family), None, "logout", at);
        Ok((n > 0).then_some((user, family)))
    }

    async fn client_of_token(&self, presented: &[u8; 32]) -> anyhow::Result<Option<ClientId>> {
        Ok(self
            .lock()
            .sessions
            .iter()
            .find(|s| s.row.refresh_token_hash == *presented)
            .map(|s| s.row.client_id))
    }

    async fn purge_expired(&self, before: DateTime<Utc>) -> anyhow::Result<usize> {
        let mut st = self.lock();
        let was = st.sessions.len();
        st.sessions.retain(|s| s.row.expires_at >= before);
        Ok(was - st.sessions.len())
    }

    async fn reauthenticate(
        &self,
        client: ClientId,
        user: UserId,
        family: Uuid,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Option<DateTime<Utc>>> {
        let mut st = self.lock();
        Ok(st
            .sessions
            .iter_mut()
            .find(|s| {
                s.row.client_id == client
                    && s.row.user_id == user
                    && s.row.family_id == family
                    && s.live(at)
            })
            .map(|s| {
                s.row.auth_time = at;
                s.row.started_at
            }))
    }

    async fn is_live(
        &self,
        client: ClientId,
        user: UserId,
        family: Uuid,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        Ok(self.lock().sessions.iter().any(|s| {
            s.row.client_id == client
                && s.row.user_id == user
                && s.row.family_id == family
                && s.live(now)
        }))
    }

    async fn list_live(
        &self,
        client: ClientId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<SessionInfo>> {
        let mut live: Vec<SessionInfo> = self
            .lock()
            .sessions
            .iter()
            .filter(|s| s.row.client_id == client && s.row.user_id == user && s.live(now))
            .map(|s| SessionInfo {
                id: s.row.family_id,
                user_agent: s.row.user_agent.clone(),
                ip: s.row.ip.clone(),
                started_at: s.row.started_at,
                last_used_at: s.row.created_at,
                expires_at: s.row.expires_at,
            })
            .collect();
        live.sort_by_key(|s| std::cmp::Reverse(s.last_used_at));
        Ok(live)
    }

    async fn revoke_family(
        &self,
        client: ClientId,
        user: UserId,
        family: Uuid,
        reason: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        Ok(self
            .lock()
            .revoke(client, user, Some(family), None, reason, at)
            > 0)
    }

    async fn revoke_all(
        &self,
        client: ClientId,
        user: UserId,
        keep: Option<Uuid>,
        reason: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<usize> {
        Ok(self.lock().revoke(client, user, None, keep, reason, at))
    }
}

#[async_trait]
impl AuditLog for MemoryDb {
    async fn record(&self, event: &AuditEvent) -> anyhow::Result<()> {
        self.lock().audit.push(event.clone());
        Ok(())
    }

    async fn list(
        &self,
        filter: &AuditFilter,
        before: Option<Uuid>,
        limit: usize,
    ) -> anyhow::Result<Vec<AuditEvent>> {
        let st = self.lock();
        let mut found: Vec<AuditEvent> = st
            .audit
            .iter()
            .rev()
            .filter(|e| filter.client_id.is_none_or(|c| e.client_id == Some(c)))
            .filter(|e| {
                filter
                    .event_type
                    .as_ref()
                    .is_none_or(|t| &e.event_type == t)
            })
            .cloned()
            .collect();
        if let Some(before) = before
            && let Some(i) = found.iter().position(|e| e.id == before)
        {
            found.drain(..=i);
        }
        found.truncate(limit);
        Ok(found)
    }
}

fn issue(st: &mut State, pending: &PendingEmail) {
    let t = &pending.token;
    if pending.void_older {
        let now = t.created_at;
        for row in &mut st.one_time {
            let r = &mut row.record;
            if r.client_id == t.client_id
                && r.user_id == t.user_id
                && r.purpose == t.purpose
                && r.consumed_at.is_none()
                && r.voided_at.is_none()
            {
                r.voided_at = Some(now);
            }
        }
    }
    st.one_time.push(OneTimeRow {
        token_hash: t.token_hash,
        record: OneTimeTokenRecord {
            id: t.id,
            client_id: t.client_id,
            user_id: t.user_id,
            purpose: t.purpose,
            email: t.email.as_str().to_owned(),
            expires_at: t.expires_at,
            consumed_at: None,
            voided_at: None,
        },
    });
    st.queue(&pending.email);
    st.audit.push(pending.audit.clone());
}

/// What consuming a token does besides consuming it.
enum Effect<'a> {
    Verify,
    Reset(&'a str),
    MagicLink(Option<(&'a NewSession, &'a AuditEvent)>),
}

impl MemoryDb {
    fn consume(
        &self,
        purpose: TokenPurpose,
        hash: &[u8; 32],
        client: Option<ClientId>,
        now: DateTime<Utc>,
        audit: &AuditEvent,
        effect: Effect<'_>,
    ) -> ConsumeOutcome {
        let mut st = self.lock();
        let Some(row) = st
            .one_time
            .iter_mut()
            .find(|r| r.record.purpose == purpose && r.token_hash == *hash)
        else {
            return ConsumeOutcome::Unknown;
        };
        let r = &mut row.record;
        let usable = r.consumed_at.is_none()
            && r.voided_at.is_none()
            && r.expires_at > now
            && client.is_none_or(|c| c == r.client_id);
        if !usable {
            return ConsumeOutcome::Refused(r.clone());
        }
        r.consumed_at = Some(now);
        let record = r.clone();
        let (client_id, user_id) = (record.client_id, record.user_id);
        let mark_verified = |st: &mut State| {
            if let Some((user, _)) = st.user_mut(client_id, user_id)
                && user.email.as_str() == record.email
            {
                user.email_verified = true;
            }
        };
        match effect {
            Effect::Verify => mark_verified(&mut st),
            Effect::Reset(new_hash) => {
                if let Some((_, hash)) = st.user_mut(client_id, user_id) {
                    *hash = Some(new_hash.to_owned());
                }
                for other in &mut st.one_time {
                    let o = &mut other.record;
                    if o.client_id == client_id
                        && o.user_id == user_id
                        && matches!(
                            o.purpose,
                            TokenPurpose::ResetPassword | TokenPurpose::MagicLink
                        )
                        && o.consumed_at.is_none()
                        && o.voided_at.is_none()
                    {
                        o.voided_at = Some(now);
                    }
                }
                st.revoke(client_id, user_id, None, None, "password_reset", now);
            }
            Effect::MagicLink(session) => {
                mark_verified(&mut st);
                if let Some((session, login)) = session {
                    st.sessions.push(new_row(session));
                    st.audit.push(login.clone());
                }
            }
        }
        let mut event = audit.clone();
        event.client_id = Some(client_id);
        event.user_id = Some(user_id.as_uuid());
        st.audit.push(event);
        ConsumeOutcome::Consumed(record)
    }
}

#[async_trait]
impl OneTimeTokenRepository for MemoryDb {
    async fn issue(&self, pending: &PendingEmail) -> anyhow::Result<()> {
        issue(&mut self.lock(), pending);
        Ok(())
    }

    async fn issue_decoy(&self, pending: &PendingEmail) -> anyhow::Result<()> {
        self.lock().audit.push(pending.audit.clone());
        Ok(())
    }

    async fn find(
        &self,
        purpose: TokenPurpose,
        hash: &[u8; 32],
    ) -> anyhow::Result<Option<OneTimeTokenRecord>> {
        Ok(self
            .lock()
            .one_time
            .iter()
            .find(|r| r.record.purpose == purpose && r.token_hash == *hash)
            .map(|r| r.record.clone()))
    }

    async fn consume_verification(
        &self,
        hash: &[u8; 32],
        client: Option<ClientId>,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<ConsumeOutcome> {
        Ok(self.consume(
            TokenPurpose::VerifyEmail,
            hash,
            client,
            now,
            audit,
            Effect::Verify,
        ))
    }

    async fn consume_reset(
        &self,
        hash: &[u8; 32],
        client: Option<ClientId>,
        new_password_hash: &str,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<ConsumeOutcome> {
        let effect = Effect::Reset(new_password_hash);
        Ok(self.consume(
            TokenPurpose::ResetPassword,
            hash,
            client,
            now,
            audit,
            effect,
        ))
    }

    async fn consume_magic_link(
        &self,
        hash: &[u8; 32],
        client: Option<ClientId>,
        now: DateTime<Utc>,
        audit: &AuditEvent,
        session: Option<(&NewSession, &AuditEvent)>,
    ) -> anyhow::Result<ConsumeOutcome> {
        let effect = Effect::MagicLink(session);
        Ok(self.consume(TokenPurpose::MagicLink, hash, client, now, audit, effect))
    }

    async fn purge_expired(&self, before: DateTime<Utc>) -> anyhow::Result<usize> {
        let mut st = self.lock();
        let was = st.one_time.len();
        st.one_time.retain(|r| r.record.expires_at >= before);
        Ok(was - st.one_time.len())
    }
}

#[async_trait]
impl EmailOutbox for MemoryDb {
    async fn enqueue(&self, email: &QueuedEmail) -> anyhow::Result<()> {
        self.lock().queue(email);
        Ok(())
    }

    async fn claim_next(&self, _lease: Duration) -> anyhow::Result<Option<ClaimedEmail>> {
        let mut st = self.lock();
        let Some(row) = st
            .outbox
            .iter_mut()
            .find(|o| o.status == "pending" && o.claim.is_none())
        else {
            return Ok(None);
        };
        let claim = Uuid::new_v4();
        row.claim = Some(claim);
        row.attempts += 1;
        let e = &row.email;
        Ok(Some(ClaimedEmail {
            id: e.id,
            claim,
            client_id: e.client_id,
            user_id: e.user_id,
            kind: e.kind.clone(),
            recipient: e.recipient.as_str().to_owned(),
            sealed: e.sealed.clone(),
            attempts: row.attempts,
        }))
    }

    async fn mark_sent(
        &self,
        claim: &ClaimedEmail,
        _at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let Some(row) = st.outbox.iter_mut().find(|o| o.claim == Some(claim.claim)) else {
            return Ok(false);
        };
        row.status = "sent";
        st.audit.push(audit.clone());
        Ok(true)
    }

    async fn mark_failed(
        &self,
        claim: &ClaimedEmail,
        _error: &str,
        retry_in: Option<Duration>,
        audit: Option<&AuditEvent>,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let Some(row) = st.outbox.iter_mut().find(|o| o.claim == Some(claim.claim)) else {
            return Ok(false);
        };
        row.claim = None;
        row.status = if retry_in.is_some() {
            "pending"
        } else {
            "failed"
        };
        if let Some(audit) = audit {
            st.audit.push(audit.clone());
        }
        Ok(true)
    }

    async fn stats(&self, client: ClientId) -> anyhow::Result<OutboxStats> {
        let st = self.lock();
        let count = |status: &str| {
            st.outbox
                .iter()
                .filter(|o| o.email.client_id == client && o.status == status)
                .count() as u64
        };
        Ok(OutboxStats {
            pending: count("pending"),
            sent: count("sent"),
            failed: count("failed"),
        })
    }
}

#[async_trait]
impl EmailConfigRepository for MemoryDb {
    async fn get(&self, client: ClientId) -> anyhow::Result<Option<StoredEmailConfig>> {
        Ok(self.lock().email_configs.get(&client).cloned())
    }

    async fn put(
        &self,
        client: ClientId,
        config: &StoredEmailConfig,
        audit: &AuditEvent,
    ) -> anyhow::Result<()> {
        let mut st = self.lock();
        st.email_configs.insert(client, config.clone());
        st.audit.push(audit.clone());
        Ok(())
    }

    async fn delete(&self, client: ClientId, audit: &AuditEvent) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let had = st.email_configs.remove(&client).is_some();
        st.audit.push(audit.clone());
        Ok(had)
    }
}

#[async_trait]
impl MfaRepository for MemoryDb {
    async fn totp(&self, client: ClientId, user: UserId) -> anyhow::Result<Option<TotpState>> {
        Ok(self.lock().totp.get(&(client, user)).cloned())
    }

    async fn enable_totp(
        &self,
        client: ClientId,
        user: UserId,
        secret: &SealedSecret,
        step: u64,
        recovery_codes: &[[u8; 32]],
        at: DateTime<Utc>,
        audit: &AuditEvent,
        notice: Option<&QueuedEmail>,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let Some((stored, _)) = st.user_mut(client, user) else {
            return Ok(false);
        };
        if stored.totp_enabled {
            return Ok(false);
        }
        stored.totp_enabled = true;
        stored.updated_at = at;
        st.totp.insert(
            (client, user),
            TotpState {
                secret: secret.clone(),
                last_step: Some(step),
            },
        );
        st.recovery
            .retain(|(c, u, _, _)| !(*c == client && *u == user));
        st.recovery
            .extend(recovery_codes.iter().map(|h| (client, user, *h, false)));
        st.audit.push(audit.clone());
        if let Some(notice) = notice {
            st.queue(notice);
        }
        Ok(true)
    }

    async fn use_totp_step(
        &self,
        client: ClientId,
        user: UserId,
        step: u64,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let Some(state) = st.totp.get_mut(&(client, user)) else {
            return Ok(false);
        };
        if state.last_step.is_some_and(|last| step <= last) {
            return Ok(false);
        }
        state.last_step = Some(step);
        Ok(true)
    }

    async fn disable_totp(
        &self,
        client: ClientId,
        user: UserId,
        at: DateTime<Utc>,
        audit: &AuditEvent,
        notice: Option<&QueuedEmail>,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let Some((stored, _)) = st.user_mut(client, user) else {
            return Ok(false);
        };
        if !stored.totp_enabled {
            return Ok(false);
        }
        stored.totp_enabled = false;
        stored.updated_at = at;
        st.totp.remove(&(client, user));
        let has_passkey = st
            .passkeys
            .iter()
            .any(|p| p.client_id == client && p.user_id == user);
        if !has_passkey {
            st.recovery
                .retain(|(c, u, _, _)| !(*c == client && *u == user));
        }
        st.audit.push(audit.clone());
        if let Some(notice) = notice {
            st.queue(notice);
        }
        Ok(true)
    }

    async fn replace_recovery_codes(
        &self,
        client: ClientId,
        user: UserId,
        codes: &[[u8; 32]],
        _at: DateTime<Utc>,
        audit: &AuditEvent,
        notice: Option<&QueuedEmail>,
    ) -> anyhow::Result<()> {
        let mut st = self.lock();
        st.recovery
            .retain(|(c, u, _, _)| !(*c == client && *u == user));
        st.recovery
            .extend(codes.iter().map(|h| (client, user, *h, false)));
        st.audit.push(audit.clone());
        if let Some(notice) = notice {
            st.queue(notice);
        }
        Ok(())
    }

    async fn recovery_code_counts(
        &self,
        client: ClientId,
        user: UserId,
    ) -> anyhow::Result<(u32, u32)> {
        let st = self.lock();
        let mine = st
            .recovery
            .iter()
            .filter(|(c, u, _, _)| *c == client && *u == user);
        let (mut unused, mut used) = (0, 0);
        for (_, _, _, was_used) in mine {
            if *was_used {
                used += 1;
            } else {
                unused += 1;
            }
        }
        Ok((unused, used))
    }

    async fn use_recovery_code(
        &self,
        client: ClientId,
        user: UserId,
        hash: &[u8; 32],
        _at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let Some(code) = st
            .recovery
            .iter_mut()
            .find(|(c, u, h, used)| *c == client && *u == user && h == hash && !*used)
        else {
            return Ok(false);
        };
        code.3 = true;
        Ok(true)
    }
}

#[async_trait]
impl PasskeyRepository for MemoryDb {
    async fn insert(
        &self,
        passkey: &StoredPasskey,
        audit: &AuditEvent,
        notice: Option<&QueuedEmail>,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        if st
            .passkeys
            .iter()
            .any(|p| p.client_id == passkey.client_id && p.credential_id == passkey.credential_id)
        {
            return Ok(false);
        }
        st.passkeys.push(passkey.clone());
        st.audit.push(audit.clone());
        if let Some(notice) = notice {
            st.queue(notice);
        }
        Ok(true)
    }

    async fn list(&self, client: ClientId, user: UserId) -> anyhow::Result<Vec<StoredPasskey>> {
        Ok(self
            .lock()
            .passkeys
            .iter()
            .filter(|p| p.client_id == client && p.user_id == user)
            .cloned()
            .collect())
    }

    async fn find_by_credential(
        &self,
        client: ClientId,
        credential_id: &[u8],
    ) -> anyhow::Result<Option<StoredPasskey>> {
        Ok(self
            .lock()
            .passkeys
            .iter()
            .find(|p| p.client_id == client && p.credential_id == credential_id)
            .cloned())
    }

    async fn record_use(
        &self,
        id: Uuid,
        passkey: &serde_json::Value,
        previous: u32,
        sign_count: u32,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let Some(p) = st
            .passkeys
            .iter_mut()
            .find(|p| p.id == id && p.sign_count == previous)
        else {
            return Ok(false);
        };
        p.passkey = passkey.clone();
        p.sign_count = sign_count;
        p.last_used_at = Some(at);
        Ok(true)
    }

    async fn rename(
        &self,
        client: ClientId,
        user: UserId,
        id: Uuid,
        name: &str,
        audit: &AuditEvent,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let Some(p) = st
            .passkeys
            .iter_mut()
            .find(|p| p.client_id == client && p.user_id == user && p.id == id)
        else {
            return Ok(false);
        };
        name.clone_into(&mut p.name);
        st.audit.push(audit.clone());
        Ok(true)
    }

    async fn delete(
        &self,
        client: ClientId,
        user: UserId,
        id: Uuid,
        audit: &AuditEvent,
        notice: Option<&QueuedEmail>,
    ) -> anyhow::Result<bool> {
        let mut st = self.lock();
        let was = st.passkeys.len();
        st.passkeys
            .retain(|p| !(p.client_id == client && p.user_id == user && p.id == id));
        if st.passkeys.len() == was {
            return Ok(false);
        }
        st.audit.push(audit.clone());
        if let Some(notice) = notice {
            st.queue(notice);
        }
        Ok(true)
    }
}

#[async_trait]
impl SigningKeyStore for MemoryDb {
    async fn list(
        &self,
        client: ClientId,
        _now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<SigningKeyInfo>> {
        Ok(self
            .lock()
            .signing_keys
            .iter()
            .rev()
            .filter(|(c, _)| *c == client)
            .map(|(_, k)| k.clone())
            .collect())
    }

    async fn rotate(
        &self,
        client: ClientId,
        new_key: &SealedSigningKey,
        overlap: Duration,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<()> {
        let mut st = self.lock();
        let retires = now + chrono::Duration::from_std(overlap)?;
        for (c, key) in &mut st.signing_keys {
            if *c == client && key.status == "active" {
                key.status = if overlap.is_zero() {
                    "retired"
                } else {
                    "published"
                }
                .to_owned();
                key.retires_at = Some(retires);
            }
        }
        st.signing_keys.push((
            client,
            SigningKeyInfo {
                kid: new_key.kid.clone(),
                alg: new_key.alg.clone(),
                status: "active".to_owned(),
                created_at: now,
                retires_at: None,
            },
        ));
        st.audit.push(audit.clone());
        Ok(())
    }
}

impl MemoryDb {
    /// The clock the stores stamp with.
    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}
