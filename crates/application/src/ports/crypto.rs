use chrono::{DateTime, Utc};

/// Ciphertext of a secret that must be recoverable (nonce and tag included).
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret(pub Vec<u8>);

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedSecret(..)")
    }
}

/// Authenticated encryption of secrets at rest (AES-256-GCM with `ENCRYPTION_KEY`).
pub trait SecretBox: Send + Sync {
    /// Encrypts `plaintext` under a fresh random nonce.
    ///
    /// # Errors
    /// The OS random source failed.
    fn seal(&self, plaintext: &[u8]) -> anyhow::Result<SealedSecret>;

    /// # Errors
    /// Fails when the ciphertext was tampered with or sealed under another key.
    fn open(&self, sealed: &SealedSecret) -> anyhow::Result<Vec<u8>>;

    /// HMAC-SHA256 of `data` under a key derived from `ENCRYPTION_KEY` for `purpose`: a digest
    /// that cannot be brute-forced offline without the key (e.g. short recovery codes).
    fn keyed_digest(&self, purpose: &str, data: &[u8]) -> [u8; 32];
}

/// Cryptographically secure randomness.
pub trait Random: Send + Sync {
    fn bytes32(&self) -> [u8; 32];
}

/// The current time (a port so tests can move it).
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
