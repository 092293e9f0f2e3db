//! A SCIM directory: where one identity provider provisions the users and groups of one
//! organization. It is reached at `{BASE_URL}/scim/v2/{id}` with its bearer token (`scim_` + 64
//! hex), kept only as its SHA-256 and a 16-character prefix.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::ClientId;
use crate::organization::OrganizationId;
use crate::secret::{hex, sha256};

pub use crate::sso::ConnectionStatus as DirectoryStatus;

/// What every directory token starts with.
pub const TOKEN_PREFIX: &str = "scim_";
/// How many characters of a token are kept to tell tokens apart.
pub const SHOWN_PREFIX_LEN: usize = 16;
/// How many directories one organization may have.
pub const MAX_DIRECTORIES: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimDirectory {
    pub id: Uuid,
    pub client_id: ClientId,
    pub organization_id: OrganizationId,
    pub name: String,
    pub status: DirectoryStatus,
    /// The first [`SHOWN_PREFIX_LEN`] characters of the current token.
    pub token_prefix: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the directory's identity provider last called.
    pub last_sync_at: Option<DateTime<Utc>>,
}

impl ScimDirectory {
    /// How often a directory's last call is recorded.
    pub const SYNC_RECORDED_EVERY: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

    /// Whether a call at `now` is worth recording as the directory's last sync.
    #[must_use]
    pub fn sync_is_stale(&self, now: DateTime<Utc>) -> bool {
        self.last_sync_at
            .is_none_or(|at| now - at >= Self::SYNC_RECORDED_EVERY)
    }
}

/// A new token from 32 random bytes: the token (shown once), its SHA-256 and its prefix.
#[must_use]
pub fn new_token(random: &[u8; 32]) -> (String, [u8; 32], String) {
    let token = format!("{TOKEN_PREFIX}{}", hex(random));
    let digest = sha256(token.as_bytes());
    let prefix = token.chars().take(SHOWN_PREFIX_LEN).collect();
    (token, digest, prefix)
}

/// The SHA-256 a presented token is looked up by; `None` for what is not a directory token.
#[must_use]
pub fn presented_digest(presented: &str) -> Option<[u8; 32]> {
    let rest = presented.strip_prefix(TOKEN_PREFIX)?;
    (rest.len() == 64 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| sha256(presented.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_recognised_by_its_digest_only() {
        let (token, digest, prefix) = new_token(&[7; 32]);
        assert!(token.starts_with("scim_0707"));
        assert_eq!(prefix.len(), SHOWN_PREFIX_LEN);
        assert_eq!(presented_digest(&token), Some(digest));
        assert_eq!(presented_digest(&token[..token.len() - 1]), None);
        assert_eq!(presented_digest("ask_whatever"), None);
    }
}
