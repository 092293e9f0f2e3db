//! The audit hash chain in memory: sealing in insertion order, as the PostgreSQL sealer does
//! in commit order.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use authservice_application::ports::AuditChain;
use authservice_domain::audit_chain::{
    self, ChainHash, ChainReport, ChainVerifier, Checkpoint, StoredLink,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::MemoryDb;

#[derive(Default, Clone)]
pub(super) struct Chain {
    /// (scope, seq, event id, personal digest, previous hash, hash)
    links: Vec<(Uuid, i64, Uuid, ChainHash, ChainHash, ChainHash)>,
    sealed: HashSet<Uuid>,
    heads: HashMap<Uuid, (i64, ChainHash)>,
    checkpoints: Vec<(Uuid, Checkpoint)>,
}

#[async_trait]
impl AuditChain for MemoryDb {
    async fn seal(&self, limit: usize, _at: DateTime<Utc>) -> anyhow::Result<usize> {
        let mut st = self.lock();
        let pending: Vec<_> = st
            .audit
            .iter()
            .filter(|e| !st.chain.sealed.contains(&e.id))
            .take(limit)
            .cloned()
            .collect();
        for event in &pending {
            let scope = audit_chain::scope_of(event);
            let (seq, prev) = st
                .chain
                .heads
                .get(&scope)
                .copied()
                .unwrap_or((0, audit_chain::GENESIS));
            let (personal, hash) = audit_chain::seal(scope, seq + 1, &prev, event);
            let chain = &mut st.chain;
            chain
                .links
                .push((scope, seq + 1, event.id, personal, prev, hash));
            chain.sealed.insert(event.id);
            chain.heads.insert(scope, (seq + 1, hash));
        }
        Ok(pending.len())
    }

    async fn verify(&self, scope: Uuid, _page: usize) -> anyhow::Result<ChainReport> {
        let st = self.lock();
        let head = st.chain.heads.get(&scope).copied();
        let mut checkpoints: Vec<Checkpoint> = st
            .chain
            .checkpoints
            .iter()
            .filter(|(s, _)| *s == scope)
            .map(|(_, c)| c.clone())
            .collect();
        checkpoints.sort_by_key(|c| c.first_seq);
        let mut links: Vec<StoredLink> = st
            .chain
            .links
            .iter()
            .filter(|l| l.0 == scope)
            .map(|&(_, seq, event_id, personal, prev, hash)| StoredLink {
                seq,
                event_id,
                personal_digest: personal,
                prev_hash: prev,
                event_hash: hash,
                event: st.audit.iter().find(|e| e.id == event_id).cloned(),
                erasures: Vec::new(),
            })
            .collect();
        links.sort_by_key(|l| l.seq);
        let mut verifier = ChainVerifier::new(scope, checkpoints);
        for link in &links {
            if !verifier.feed(link) {
                break;
            }
        }
        Ok(verifier.finish(head))
    }

    async fn unsealed(&self, scope: Uuid) -> anyhow::Result<u64> {
        let st = self.lock();
        Ok(st
            .audit
            .iter()
            .filter(|e| audit_chain::scope_of(e) == scope && !st.chain.sealed.contains(&e.id))
            .count() as u64)
    }
}

impl Chain {
    /// A purge removed these events: their links go, each run leaving a checkpoint.
    pub(super) fn forget(&mut self, removed: &HashSet<Uuid>) {
        let mut gone: Vec<_> = self
            .links
            .iter()
            .filter(|l| removed.contains(&l.2))
            .map(|l| (l.0, l.1, l.5))
            .collect();
        gone.sort_unstable_by_key(|g| (g.0, g.1));
        let mut runs: Vec<(Uuid, Checkpoint)> = Vec::new();
        for (scope, seq, hash) in gone {
            match runs.last_mut() {
                Some((s, run)) if *s == scope && run.last_seq + 1 == seq => {
                    run.last_seq = seq;
                    run.last_hash = hash;
                }
                _ => runs.push((
                    scope,
                    Checkpoint {
                        first_seq: seq,
                        last_seq: seq,
                        last_hash: hash,
                    },
                )),
            }
        }
        self.links.retain(|l| !removed.contains(&l.2));
        self.checkpoints.extend(runs);
    }
}
