use serde_json::Value;

/// What a verified client assertion (RFC 7523 `private_key_jwt`) tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// Single use: the caller remembers it until `exp`.
    pub jti: String,
    pub exp: i64,
}

/// Verifies client assertions with the app's registered public keys.
pub trait ClientAssertions: Send + Sync {
    /// Checks `assertion`: signed (RS256, PS256, ES256 or EdDSA — never `none` or a shared
    /// secret) by a key of `jwks` (by `kid`, or the only key), `iss` = `sub` = `client_id`,
    /// `aud` one of `audiences`, `exp` in the future but at most an hour away, `jti` present.
    ///
    /// # Errors
    /// Why it was refused (audited, never shown to the caller).
    fn verify(
        &self,
        assertion: &str,
        jwks: &Value,
        client_id: &str,
        audiences: &[String],
    ) -> Result<VerifiedAssertion, String>;
}
