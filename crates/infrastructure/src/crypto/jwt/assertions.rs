//! RFC 7523 client assertions (`private_key_jwt`), verified with the app's registered JWKS.

use authservice_application::ports::{ClientAssertions, VerifiedClientAssertion};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

/// The longest an assertion may live (what the `jti` replay cache must remember).
const MAX_LIFETIME_SECS: i64 = 3600;
const LEEWAY_SECS: u64 = 30;

#[derive(Deserialize)]
struct AssertionClaims {
    jti: Option<String>,
    exp: i64,
}

pub struct JwtClientAssertions;

impl ClientAssertions for JwtClientAssertions {
    fn verify(
        &self,
        assertion: &str,
        jwks: &Value,
        client_id: &str,
        audiences: &[String],
    ) -> Result<VerifiedClientAssertion, String> {
        let header = jsonwebtoken::decode_header(assertion).map_err(|e| format!("header: {e}"))?;
        if !matches!(
            header.alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
                | Algorithm::ES256
                | Algorithm::ES384
                | Algorithm::EdDSA
        ) {
            return Err(format!("algorithm {:?} not allowed", header.alg));
        }
        let set: JwkSet =
            serde_json::from_value(jwks.clone()).map_err(|e| format!("registered jwks: {e}"))?;
        let jwk = match &header.kid {
            Some(kid) => set.find(kid),
            None if set.keys.len() == 1 => set.keys.first(),
            None => None,
        }
        .ok_or("no registered key matches the assertion")?;
        let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("registered key: {e}"))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[client_id]);
        validation.sub = Some(client_id.to_owned());
        validation.set_audience(audiences);
        validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        validation.leeway = LEEWAY_SECS;
        let claims = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation)
            .map_err(|e| format!("assertion: {e}"))?
            .claims;
        let now = chrono::Utc::now().timestamp();
        if claims.exp > now + MAX_LIFETIME_SECS + i64::try_from(LEEWAY_SECS).unwrap_or(0) {
            return Err("the assertion lives longer than an hour".into());
        }
        let jti = claims
            .jti
            .filter(|j| !j.is_empty() && j.len() <= 256)
            .ok_or("the assertion has no jti")?;
        Ok(VerifiedClientAssertion {
            jti,
            exp: claims.exp,
        })
    }
}
