//! The audit trail's hash chain: one chain per scope (a client, or [`GLOBAL_SCOPE`] for events
//! outside any client). Link `n` is `SHA-256` over a canonical encoding of the event's fixed
//! columns, a digest of its personal columns, the scope, `n` and link `n - 1`'s hash — so an
//! edited, inserted or removed event breaks every link after it.
//!
//! An erasure pseudonymises the personal columns (user, actor and target ids, IP, user agent,
//! metadata, snapshots): the link keeps the digest taken when it was sealed, and the erasure
//! records the digest of the rewritten columns, so an erased event still verifies while any
//! other change to those columns does not. A retention purge leaves a checkpoint (the hash of
//! the last link of each removed run) so the links after it still verify.

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::AuditEvent;

/// A SHA-256 value.
pub type ChainHash = [u8; 32];

/// What link 1 of every scope chains onto.
pub const GENESIS: ChainHash = [0; 32];

/// The scope of events that belong to no client.
pub const GLOBAL_SCOPE: Uuid = Uuid::nil();

/// Encoding version, part of every link's input.
const VERSION: &str = "authservice.audit-chain.v1";

/// The scope an event is chained in.
#[must_use]
pub fn scope_of(event: &AuditEvent) -> Uuid {
    event.client_id.map_or(GLOBAL_SCOPE, |c| c.as_uuid())
}

/// The digest of the columns an erasure may rewrite.
#[must_use]
pub fn personal_digest(event: &AuditEvent) -> ChainHash {
    let mut out = Vec::with_capacity(256);
    out.push(b'[');
    let uuid = event.user_id.map(|u| Value::String(u.to_string()));
    let text = |s: &Option<String>| s.clone().map_or(Value::Null, Value::String);
    let fields = [
        uuid.unwrap_or(Value::Null),
        text(&event.actor_id),
        text(&event.target_id),
        text(&event.ip),
        text(&event.user_agent),
    ];
    for field in &fields {
        canonical(field, &mut out);
        out.push(b',');
    }
    canonical(&event.metadata, &mut out);
    for snapshot in [&event.before, &event.after] {
        out.push(b',');
        canonical(snapshot.as_ref().unwrap_or(&Value::Null), &mut out);
    }
    out.push(b']');
    Sha256::digest(&out).into()
}

/// Link `seq`'s hash: the event's fixed columns, its personal digest (as sealed) and the
/// previous link's hash.
#[must_use]
pub fn link_hash(
    scope: Uuid,
    seq: i64,
    prev: &ChainHash,
    event: &AuditEvent,
    personal: &ChainHash,
) -> ChainHash {
    let text = |s: &Option<String>| s.clone().map_or(Value::Null, Value::String);
    let fixed = Value::Array(vec![
        Value::String(VERSION.to_owned()),
        Value::String(scope.to_string()),
        Value::from(seq),
        Value::String(hex(prev)),
        Value::String(event.id.to_string()),
        Value::from(event.occurred_at.timestamp_micros()),
        event
            .client_id
            .map_or(Value::Null, |c| Value::String(c.as_uuid().to_string())),
        Value::String(event.event_type.clone()),
        Value::String(event.actor_type.as_str().to_owned()),
        text(&event.target_type),
        text(&event.request_id),
        Value::String(hex(personal)),
    ]);
    let mut out = Vec::with_capacity(512);
    canonical(&fixed, &mut out);
    Sha256::digest(&out).into()
}

/// Lower-case hex of a hash.
#[must_use]
pub fn hex(hash: &ChainHash) -> String {
    use std::fmt::Write;
    hash.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// JSON with object keys sorted at every level (whatever order the map keeps them in).
fn canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                scalar(&Value::String(key.clone()), out);
                out.push(b':');
                canonical(item, out);
            }
            out.push(b'}');
        }
        other => scalar(other, out),
    }
}

fn scalar(value: &Value, out: &mut Vec<u8>) {
    // Serialising a scalar JSON value into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// One stored link with the event it seals (`None` when the event row is gone).
#[derive(Debug, Clone)]
pub struct StoredLink {
    pub seq: i64,
    pub event_id: Uuid,
    pub personal_digest: ChainHash,
    pub prev_hash: ChainHash,
    pub event_hash: ChainHash,
    pub event: Option<AuditEvent>,
    /// Digests recorded by erasures of this event, oldest first.
    pub erasures: Vec<ChainHash>,
}

/// A run of links a retention purge removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub first_seq: i64,
    pub last_seq: i64,
    pub last_hash: ChainHash,
}

/// Why a chain does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainBreak {
    /// The event (or its stored hash) is not what was sealed.
    EventHashMismatch,
    /// The link does not follow the one before it (a link removed, inserted or reordered).
    PreviousHashMismatch,
    /// The link's event row is gone.
    EventMissing,
    /// The scope's head is not the last link (links removed from the end).
    HeadMismatch,
}

impl ChainBreak {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EventHashMismatch => "event_hash_mismatch",
            Self::PreviousHashMismatch => "previous_hash_mismatch",
            Self::EventMissing => "event_missing",
            Self::HeadMismatch => "head_mismatch",
        }
    }
}

/// The first link that does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    pub seq: i64,
    pub event_id: Option<Uuid>,
    pub reason: ChainBreak,
}

/// What a verification of one scope found.
#[derive(Debug, Clone)]
pub struct ChainReport {
    pub scope: Uuid,
    pub links_verified: u64,
    pub erased_events: u64,
    pub purged_runs: usize,
    pub head: Option<(i64, ChainHash)>,
    pub first_broken: Option<BrokenLink>,
}

impl ChainReport {
    #[must_use]
    pub fn valid(&self) -> bool {
        self.first_broken.is_none()
    }
}

/// Walks one scope's links in `seq` order, fed a page at a time.
#[derive(Debug)]
pub struct ChainVerifier {
    scope: Uuid,
    next_seq: i64,
    expected_prev: ChainHash,
    checkpoints: BTreeMap<i64, Checkpoint>,
    purged_runs: usize,
    verified: u64,
    erased: u64,
    broken: Option<BrokenLink>,
}

impl ChainVerifier {
    #[must_use]
    pub fn new(scope: Uuid, checkpoints: Vec<Checkpoint>) -> Self {
        let purged_runs = checkpoints.len();
        Self {
            scope,
            next_seq: 1,
            expected_prev: GENESIS,
            checkpoints: checkpoints.into_iter().map(|c| (c.first_seq, c)).collect(),
            purged_runs,
            verified: 0,
            erased: 0,
            broken: None,
        }
    }

    /// Checks the next link; `false` once the chain is broken (stop feeding).
    pub fn feed(&mut self, link: &StoredLink) -> bool {
        if self.broken.is_some() {
            return false;
        }
        self.skip_purged(link.seq);
        let reason = if link.seq != self.next_seq || link.prev_hash != self.expected_prev {
            Some(ChainBreak::PreviousHashMismatch)
        } else {
            match &link.event {
                None => Some(ChainBreak::EventMissing),
                Some(event) => self.check_event(link, event),
            }
        };
        if let Some(reason) = reason {
            self.broken = Some(BrokenLink {
                seq: link.seq,
                event_id: Some(link.event_id),
                reason,
            });
            return false;
        }
        self.expected_prev = link.event_hash;
        self.next_seq = link.seq + 1;
        self.verified += 1;
        true
    }

    fn check_event(&mut self, link: &StoredLink, event: &AuditEvent) -> Option<ChainBreak> {
        if event.id != link.event_id {
            return Some(ChainBreak::EventHashMismatch);
        }
        let personal = personal_digest(event);
        if personal != link.personal_digest {
            if link.erasures.last() != Some(&personal) {
                return Some(ChainBreak::EventHashMismatch);
            }
            self.erased += 1;
        }
        let recomputed = link_hash(
            self.scope,
            link.seq,
            &link.prev_hash,
            event,
            &link.personal_digest,
        );
        (recomputed != link.event_hash).then_some(ChainBreak::EventHashMismatch)
    }

    /// Steps over purged runs that end before `seq`.
    fn skip_purged(&mut self, seq: i64) {
        while self.next_seq < seq {
            let Some(run) = self.checkpoints.get(&self.next_seq) else {
                return;
            };
            if run.last_seq >= seq {
                return;
            }
            self.expected_prev = run.last_hash;
            self.next_seq = run.last_seq + 1;
        }
    }

    /// The verdict, given the scope's head (its last link's seq and hash).
    #[must_use]
    pub fn finish(mut self, head: Option<(i64, ChainHash)>) -> ChainReport {
        if self.broken.is_none() {
            let last = head.map_or(0, |(seq, _)| seq);
            self.skip_purged(last + 1);
            let ends_at_head = match head {
                Some((seq, hash)) => self.next_seq == seq + 1 && self.expected_prev == hash,
                None => self.next_seq == 1,
            };
            if !ends_at_head {
                self.broken = Some(BrokenLink {
                    seq: last.max(self.next_seq - 1),
                    event_id: None,
                    reason: ChainBreak::HeadMismatch,
                });
            }
        }
        ChainReport {
            scope: self.scope,
            links_verified: self.verified,
            erased_events: self.erased,
            purged_runs: self.purged_runs,
            head,
            first_broken: self.broken,
        }
    }
}

/// Seals `event` as link `seq` after `prev`: its personal digest and its hash.
#[must_use]
pub fn seal(scope: Uuid, seq: i64, prev: &ChainHash, event: &AuditEvent) -> (ChainHash, ChainHash) {
    let personal = personal_digest(event);
    let hash = link_hash(scope, seq, prev, event, &personal);
    (personal, hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ActorType, ClientId};
    use serde_json::json;

    fn event(n: u32) -> AuditEvent {
        AuditEvent {
            id: Uuid::from_u128(u128::from(n)),
            occurred_at: chrono::DateTime::from_timestamp(1_700_000_000 + i64::from(n), 0).unwrap(),
            client_id: Some(ClientId::from_uuid(Uuid::from_u128(7))),
            user_id: Some(Uuid::from_u128(9)),
            event_type: "user.login".into(),
            actor_type: ActorType::User,
            actor_id: Some("9".into()),
            target_type: None,
            target_id: None,
            request_id: Some(format!("req-{n}")),
            ip: Some("203.0.113.7".into()),
            user_agent: None,
            metadata: json!({ "b": 1, "a": [1.5, { "z": null, "y": "x" }] }),
            before: None,
            after: None,
        }
    }

    /// Seals `n` events into one scope: the links and the head.
    fn chain(n: u32) -> (Vec<StoredLink>, (i64, ChainHash)) {
        let mut prev = GENESIS;
        let mut links = Vec::new();
        for i in 1..=n {
            let e = event(i);
            let scope = scope_of(&e);
            let (personal, hash) = seal(scope, i64::from(i), &prev, &e);
            links.push(StoredLink {
                seq: i64::from(i),
                event_id: e.id,
                personal_digest: personal,
                prev_hash: prev,
                event_hash: hash,
                event: Some(e),
                erasures: Vec::new(),
            });
            prev = hash;
        }
        (links, (i64::from(n), prev))
    }

    fn verify(
        links: &[StoredLink],
        checkpoints: Vec<Checkpoint>,
        head: (i64, ChainHash),
    ) -> ChainReport {
        let mut v = ChainVerifier::new(Uuid::from_u128(7), checkpoints);
        for link in links {
            if !v.feed(link) {
                break;
            }
        }
        v.finish(Some(head))
    }

    #[test]
    fn an_untouched_chain_verifies_and_key_order_does_not_matter() {
        let (links, head) = chain(5);
        let report = verify(&links, vec![], head);
        assert!(report.valid(), "{report:?}");
        assert_eq!(report.links_verified, 5);
        let mut reordered = event(1);
        reordered.metadata = json!({ "a": [1.5, { "y": "x", "z": null }], "b": 1 });
        assert_eq!(personal_digest(&reordered), personal_digest(&event(1)));
    }

    #[test]
    fn an_edit_a_removal_and_a_cut_tail_are_each_caught() {
        let (mut links, head) = chain(5);
        links[2].event.as_mut().unwrap().event_type = "user.logout".into();
        let broken = verify(&links, vec![], head).first_broken.unwrap();
        assert_eq!(
            (broken.seq, broken.reason),
            (3, ChainBreak::EventHashMismatch)
        );

        let (mut links, head) = chain(5);
        links.remove(1);
        let broken = verify(&links, vec![], head).first_broken.unwrap();
        assert_eq!(
            (broken.seq, broken.reason),
            (3, ChainBreak::PreviousHashMismatch)
        );

        let (links, head) = chain(5);
        let broken = verify(&links[..4], vec![], head).first_broken.unwrap();
        assert_eq!(broken.reason, ChainBreak::HeadMismatch);

        let (mut links, head) = chain(5);
        links[3].event = None;
        let broken = verify(&links, vec![], head).first_broken.unwrap();
        assert_eq!((broken.seq, broken.reason), (4, ChainBreak::EventMissing));
    }

    #[test]
    fn erasures_and_purged_runs_verify_but_a_forged_erasure_does_not() {
        let (mut links, head) = chain(6);
        // Links 1–2 and 4 purged, each run checkpointed with its last hash.
        let checkpoints = vec![
            Checkpoint {
                first_seq: 1,
                last_seq: 2,
                last_hash: links[1].event_hash,
            },
            Checkpoint {
                first_seq: 4,
                last_seq: 4,
                last_hash: links[3].event_hash,
            },
        ];
        let erased = links[4].event.as_mut().unwrap();
        erased.ip = None;
        erased.user_id = Some(Uuid::from_u128(99));
        let digest = personal_digest(erased);
        links[4].erasures.push(digest);
        let kept = vec![links[2].clone(), links[4].clone(), links[5].clone()];
        let report = verify(&kept, checkpoints.clone(), head);
        assert!(report.valid(), "{report:?}");
        assert_eq!((report.erased_events, report.purged_runs), (1, 2));

        // Any other change to an erased event's personal columns is still caught.
        let mut forged = kept.clone();
        forged[1].event.as_mut().unwrap().ip = Some("198.51.100.1".into());
        let broken = verify(&forged, checkpoints.clone(), head)
            .first_broken
            .unwrap();
        assert_eq!(
            (broken.seq, broken.reason),
            (5, ChainBreak::EventHashMismatch)
        );

        // A purge without its checkpoint leaves a gap.
        let broken = verify(&kept, checkpoints[..1].to_vec(), head)
            .first_broken
            .unwrap();
        assert_eq!(
            (broken.seq, broken.reason),
            (5, ChainBreak::PreviousHashMismatch)
        );
    }
}
