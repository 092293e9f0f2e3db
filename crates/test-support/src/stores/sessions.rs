//! The in-memory sessions and audit trail.

#![allow(clippy::wildcard_imports)]

use super::*;

#[async_trait]
impl SessionRepository for MemoryDb {
    async fn create(&self, session: &NewSession, audit: &AuditEvent) -> anyhow::Result<()> {
        let mut st = self.lock();
        sign_in(&mut st, session);
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
                amr: s.row.amr.clone(),
                consumed: s.consumed_at.is_some(),
                revoked: s.revoked_at.is_some(),
                grant: s.row.grant.clone(),
            }))
    }

    async fn consume_and_replace(
        &self,
        consumed: Uuid,
        next: &NewSession,
        audit: &AuditEvent,
    ) -> anyhow::Result<Option<DateTime<Utc>>> {
        let mut st = self.lock();
        let Some(row) = st
            .sessions
            .iter_mut()
            .find(|s| s.row.id == consumed && s.consumed_at.is_none() && s.revoked_at.is_none())
        else {
            return Ok(None);
        };
        row.consumed_at = Some(next.created_at);
        let auth_time = row.row.auth_time;
        st.sessions.push(new_row(&NewSession {
            auth_time,
            ..next.clone()
        }));
        st.audit.push(audit.clone());
        Ok(Some(auth_time))
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
            .filter(|e| filter.user_id.is_none_or(|u| e.user_id == Some(u)))
            .filter(|e| filter.event_types.is_empty() || filter.event_types.contains(&e.event_type))
            .filter(|e| {
                filter.organization_id.is_none_or(|org| {
                    let org = org.to_string();
                    (e.target_type.as_deref() == Some("organization")
                        && e.target_id.as_deref() == Some(org.as_str()))
                        || e.metadata.get("organization_id").and_then(|v| v.as_str())
                            == Some(org.as_str())
                })
            })
            .filter(|e| {
                filter
                    .legal_hold
                    .is_none_or(|h| h == st.holds.iter().any(|(hold, s)| *s && covers(hold, e)))
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

fn covers(h: &authservice_application::ports::LegalHold, e: &AuditEvent) -> bool {
    h.client_id.is_none_or(|c| e.client_id == Some(c))
        && h.user_id.is_none_or(|u| e.user_id == Some(u))
        && h.from.is_none_or(|f| e.occurred_at >= f)
        && h.to.is_none_or(|t| e.occurred_at < t)
}

#[async_trait]
impl authservice_application::ports::AuditRetention for MemoryDb {
    async fn add_hold(
        &self,
        hold: &authservice_application::ports::LegalHold,
    ) -> anyhow::Result<()> {
        self.lock().holds.push((hold.clone(), true));
        Ok(())
    }

    async fn holds(&self) -> anyhow::Result<Vec<authservice_application::ports::LegalHold>> {
        let mut out: Vec<_> = self
            .lock()
            .holds
            .iter()
            .filter(|(_, standing)| *standing)
            .map(|(h, _)| h.clone())
            .collect();
        out.sort_by_key(|h| std::cmp::Reverse(h.created_at));
        Ok(out)
    }

    async fn release_hold(&self, id: Uuid, _at: DateTime<Utc>) -> anyhow::Result<bool> {
        let mut st = self.lock();
        Ok(match st.holds.iter_mut().find(|(h, s)| h.id == id && *s) {
            Some(entry) => {
                entry.1 = false;
                true
            }
            None => false,
        })
    }

    async fn purge(
        &self,
        cutoff: DateTime<Utc>,
        clients: &[(authservice_domain::ClientId, DateTime<Utc>)],
        dry_run: bool,
    ) -> anyhow::Result<authservice_application::ports::PurgeCount> {
        let mut st = self.lock();
        let past = |e: &AuditEvent| {
            let own = clients
                .iter()
                .find(|(c, _)| e.client_id == Some(*c))
                .map_or(cutoff, |(_, at)| *at);
            e.occurred_at < own
        };
        let holds: Vec<_> = st
            .holds
            .iter()
            .filter(|(_, s)| *s)
            .map(|(h, _)| h.clone())
            .collect();
        let held = |e: &AuditEvent| holds.iter().any(|h| covers(h, e));
        let older = st.audit.iter().filter(|e| past(e)).count() as u64;
        let kept = st.audit.iter().filter(|e| past(e) && held(e)).count() as u64;
        let before = st.audit.len();
        if !dry_run {
            let removed: std::collections::HashSet<Uuid> = st
                .audit
                .iter()
                .filter(|e| past(e) && !held(e))
                .map(|e| e.id)
                .collect();
            st.audit.retain(|e| !removed.contains(&e.id));
            st.chain.forget(&removed);
        }
        Ok(authservice_application::ports::PurgeCount {
            older,
            held: kept,
            deleted: (before - st.audit.len()) as u64,
        })
    }
}
