//! Client API keys: `ask_` followed by 43 base64url characters (256 random bits).
//!
//! The plain key is shown once (creation or rotation) and then forgotten; only its SHA-256
//! digest is stored, and lookups go through that digest.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use crate::secret::sha256;

/// Recognisable prefix of every client API key (helps secret scanners and humans).
pub const API_KEY_PREFIX: &str = "ask_";
/// Random bytes in a key.
pub const API_KEY_RANDOM_BYTES: usize = 32;

/// A freshly generated plain API key. Never stored, never logged.
pub struct ApiKey(String);

impl ApiKey {
    /// Builds a key from 32 bytes of cryptographically secure randomness.
    #[must_use]
    pub fn from_random(bytes: [u8; API_KEY_RANDOM_BYTES]) -> Self {
        Self(format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The key as the client must send it in `X-API-Key`.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The digest stored in the database.
    #[must_use]
    pub fn hash(&self) -> ApiKeyHash {
        ApiKeyHash::of_presented(&self.0)
    }

    /// The first characters, safe to display to identify the key.
    #[must_use]
    pub fn display_prefix(&self) -> String {
        self.0.chars().take(API_KEY_PREFIX.len() + 6).collect()
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// SHA-256 digest of an API key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApiKeyHash([u8; 32]);

impl ApiKeyHash {
    /// Digest of a key as presented by a caller (any string; malformed keys simply match nothing).
    #[must_use]
    pub fn of_presented(presented: &str) -> Self {
        Self(sha256(presented.as_bytes()))
    }

    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Constant-time comparison.
    #[must_use]
    pub fn matches(&self, other: &ApiKeyHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for ApiKeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKeyHash(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_has_prefix_and_256_bits() {
        let key = ApiKey::from_random([7u8; 32]);
        assert!(key.expose().starts_with("ask_"));
        assert_eq!(key.expose().len(), 4 + 43);
        assert!(key.hash().matches(&ApiKeyHash::of_presented(key.expose())));
        assert!(!key.hash().matches(&ApiKeyHash::of_presented("ask_other")));
        assert_eq!(format!("{key:?}"), "ApiKey([redacted])");
    }
}
