//! PKCE (RFC 7636) for redirect codes, `S256` only (`plain` would let a stolen code's URL carry
//! everything needed to exchange it).

use base64::Engine;

use crate::secret::{secrets_equal, sha256};

fn is_base64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `challenge` has the shape of BASE64URL(SHA-256(verifier)): 43 unpadded characters.
#[must_use]
pub fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && is_base64url(challenge)
}

/// BASE64URL(SHA-256(`verifier`)): the S256 challenge of a verifier.
#[must_use]
pub fn s256_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes()))
}

/// Whether `verifier` (43–128 unreserved characters) hashes to `challenge`, compared in
/// constant time.
#[must_use]
pub fn verifier_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return false;
    }
    secrets_equal(s256_challenge(verifier).as_bytes(), challenge.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(is_s256_challenge(challenge));
        assert!(verifier_matches(verifier, challenge));
        assert!(!verifier_matches(&verifier.replace('d', "e"), challenge));
        assert!(!verifier_matches("short", challenge));
        assert!(!verifier_matches(challenge, challenge));
        assert!(!is_s256_challenge("plain-text-challenge"));
    }
}
