//! The in-memory one-time tokens, outbox and email settings.

#![allow(clippy::wildcard_imports)]

use super::*;

pub(super) fn issue(st: &mut State, pending: &PendingEmail) {
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
                    sign_in(&mut st, session);
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
}
