//! AES-256-GCM for secrets at rest, the OS random source, bcrypt and access tokens.
//!
//! Sealed format: `0x01 || nonce (12 bytes) || ciphertext || tag (16 bytes)`; a fresh random
//! nonce per seal.

mod jwt;
mod password_hasher;
mod totp;
mod webauthn;

pub use jwt::{JwtAccessTokens, JwtClientAssertions};
pub use password_hasher::{HashAlgorithm, PooledHasher};
pub use totp::RfcTotp;
pub use webauthn::WebauthnRs;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::{Context, anyhow};
use authservice_application::ports::{Random, SealedSecret, SecretBox};

const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 12;

/// Encrypts with the 32-byte `ENCRYPTION_KEY`.
pub struct AesGcmSecretBox {
    cipher: Aes256Gcm,
    /// HMAC key for keyed digests, derived from the encryption key (never used to encrypt).
    mac_key: aws_lc_rs::hmac::Key,
}

impl AesGcmSecretBox {
    #[must_use]
    pub fn new(key: &[u8; 32]) -> Self {
        let derive = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
        let mac_key = aws_lc_rs::hmac::sign(&derive, b"authservice keyed digests v1");
        Self {
            cipher: Aes256Gcm::new(key.into()),
            mac_key: aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, mac_key.as_ref()),
        }
    }
}

impl SecretBox for AesGcmSecretBox {
    fn seal(&self, plaintext: &[u8]) -> anyhow::Result<SealedSecret> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| anyhow!("OS random source failed: {e}"))?;
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext)
            .map_err(|_| anyhow!("encryption failed"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(SealedSecret(out))
    }

    fn open(&self, sealed: &SealedSecret) -> anyhow::Result<Vec<u8>> {
        let bytes = &sealed.0;
        let (version, rest) = bytes.split_first().context("sealed secret is empty")?;
        if *version != FORMAT_V1 || rest.len() < NONCE_LEN + 16 {
            return Err(anyhow!("sealed secret has an unknown format"));
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| {
                anyhow!("sealed secret failed authentication (wrong ENCRYPTION_KEY or tampered)")
            })
    }

    fn keyed_digest(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&self.mac_key);
        ctx.update(purpose.as_bytes());
        ctx.update(&[0]);
        ctx.update(data);
        let tag = ctx.sign();
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

/// The operating system's CSPRNG.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn bytes32(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        // The kernel CSPRNG does not fail on supported Linux systems; if it ever does, serving
        // predictable keys would be worse than stopping.
        getrandom::fill(&mut out).expect("OS random source unavailable");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_roundtrip_and_tamper_detection() {
        let secret_box = AesGcmSecretBox::new(&[9u8; 32]);
        let sealed = secret_box.seal(b"hunter2").unwrap();
        assert_eq!(secret_box.open(&sealed).unwrap(), b"hunter2");
        assert_ne!(
            secret_box.seal(b"hunter2").unwrap(),
            sealed,
            "nonce must be fresh"
        );

        let mut tampered = sealed.clone();
        let last = tampered.0.len() - 1;
        tampered.0[last] ^= 1;
        assert!(secret_box.open(&tampered).is_err());

        let other = AesGcmSecretBox::new(&[8u8; 32]);
        assert!(other.open(&sealed).is_err());
        assert!(secret_box.open(&SealedSecret(vec![])).is_err());
    }

    #[test]
    fn random_is_random() {
        assert_ne!(OsRandom.bytes32(), OsRandom.bytes32());
    }
}
