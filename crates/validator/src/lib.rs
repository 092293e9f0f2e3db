//! Validate AuthService access tokens without calling AuthService for each request.
//!
//! Two modes:
//! - **JWKS** ([`Validator::jwks`]): public keys are fetched from
//!   `https://auth.example.com/.well-known/jwks.json?client_id=<your client id>` (AuthService
//!   answers only one client's keys unless it runs with `JWKS_PUBLISH_ALL=true`), cached by `kid` for [`JwksOptions::ttl`] (10 min), refetched when a token
//!   names an unknown `kid` — at most once per [`JwksOptions::min_refetch_interval`] (5 s) — and
//!   kept in use for [`JwksOptions::stale_for`] (24 h) past their TTL while the endpoint is
//!   unreachable.
//! - **HS256** ([`Validator::hs256`]): for clients in `v1_hs256` mode, with the client's secret.
//!
//! Verification errors ([`ValidationError`]) are 401-class: the caller is not authenticated.
//! [`authorize`] checks what an authenticated caller may do and fails with the 403-class
//! [`AuthorizationError`].
//!
//! ```
//! use authservice_validator::{Validator, ValidatorOptions, extract_bearer_token};
//!
//! # tokio_test_runtime(async {
//! let validator = Validator::hs256(
//!     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
//!     ValidatorOptions::new("https://auth.example.com", "0b5c5d1e-8f7a-4c1e-9d3b-2a6f4e8c1d7b"),
//! );
//! let header = "Bearer not-a-token";
//! let token = extract_bearer_token(header).unwrap();
//! assert!(validator.validate(token).await.is_err());
//! # });
//! # fn tokio_test_runtime(f: impl std::future::Future<Output = ()>) {
//! #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
//! # }
//! ```

#[cfg(feature = "actix")]
pub mod actix;
mod authorize;
mod claims;
#[cfg(any(feature = "actix", feature = "tower"))]
mod envelope;
mod jwks;
#[cfg(feature = "tower")]
pub mod tower;

use std::sync::Arc;

pub use authorize::{AuthorizationError, Requirements, authorize};
pub use claims::Claims;
pub use jsonwebtoken::Algorithm;
use jsonwebtoken::{DecodingKey, Validation};
pub use jwks::JwksOptions;

/// Why a token was not accepted (answer 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("token is malformed")]
    Malformed,
    #[error("algorithm is not allowed")]
    AlgorithmNotAllowed,
    #[error("unknown signing key")]
    UnknownKey,
    #[error("signature does not verify")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("wrong audience")]
    WrongAudience,
    #[error("token belongs to another client")]
    WrongClient,
    #[error("signing keys are unavailable")]
    KeysUnavailable,
}

impl ValidationError {
    /// A stable snake_case code, matching AuthService's own where one exists.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "malformed_token",
            Self::AlgorithmNotAllowed => "algorithm_not_allowed",
            Self::UnknownKey => "unknown_kid",
            Self::BadSignature => "invalid_signature",
            Self::Expired => "token_expired",
            Self::NotYetValid => "token_not_yet_valid",
            Self::WrongIssuer => "invalid_issuer",
            Self::WrongAudience => "invalid_audience",
            Self::WrongClient => "token_client_mismatch",
            Self::KeysUnavailable => "keys_unavailable",
        }
    }
}

/// What every token must satisfy besides its signature. Built with [`ValidatorOptions::new`]:
/// the issuer and the audience are required, because one AuthService serves many tenants and
/// a validator without an audience accepts every other tenant's users. A service that really
/// wants any audience says so with [`ValidatorOptions::insecure_any_audience`].
#[derive(Debug, Clone)]
pub struct ValidatorOptions {
    /// Required `iss` (AuthService's BASE_URL).
    issuer: String,
    /// Required `aud` (the client id); `None` only through `insecure_any_audience`.
    audience: Option<String>,
    /// Required `client_id` claim, when set (by default the audience).
    pub client_id: Option<String>,
    /// Accepted algorithms (JWKS mode; HS256 mode accepts HS256 only).
    pub algorithms: Vec<Algorithm>,
    /// Seconds of clock skew tolerated for `exp`/`nbf`/`iat`.
    pub leeway: u64,
}

impl ValidatorOptions {
    /// Tokens must carry `iss == issuer` (AuthService's BASE_URL) and `aud == client_id ==
    /// audience` (your client's id); ES256, RS256 and EdDSA; 30 s of clock leeway.
    #[must_use]
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        let audience = audience.into();
        Self {
            issuer: issuer.into(),
            client_id: Some(audience.clone()),
            audience: Some(audience),
            algorithms: vec![Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA],
            leeway: 30,
        }
    }

    /// Accepts tokens of any audience and any `client_id` — that is, the users of every client
    /// (tenant) of the AuthService, not only yours. Only for a service that checks the claims
    /// itself after validation.
    #[must_use]
    pub fn insecure_any_audience(mut self) -> Self {
        self.audience = None;
        self.client_id = None;
        self
    }

    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `None` after [`ValidatorOptions::insecure_any_audience`].
    #[must_use]
    pub fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }
}

enum Keys {
    Hs256(DecodingKey),
    Jwks(Arc<jwks::JwksCache>),
}

/// Validates access tokens. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Validator {
    keys: Arc<Keys>,
    options: Arc<ValidatorOptions>,
    /// One prepared `Validation` per allowed algorithm (built once, not per token).
    validations: Arc<Vec<(Algorithm, Validation)>>,
}

fn prepare(options: &ValidatorOptions) -> Arc<Vec<(Algorithm, Validation)>> {
    Arc::new(
        options
            .algorithms
            .iter()
            .map(|alg| {
                let mut validation = Validation::new(*alg);
                validation.leeway = options.leeway;
                validation.validate_nbf = true;
                validation.set_required_spec_claims(&["exp", "sub"]);
                validation.set_issuer(&[&options.issuer]);
                match &options.audience {
                    Some(audience) => validation.set_audience(&[audience]),
                    None => validation.validate_aud = false,
                }
                (*alg, validation)
            })
            .collect(),
    )
}

impl Validator {
    /// HS256 with a `v1_hs256` client's secret.
    #[must_use]
    pub fn hs256(secret: &str, mut options: ValidatorOptions) -> Self {
        options.algorithms = vec![Algorithm::HS256];
        Self {
            keys: Arc::new(Keys::Hs256(DecodingKey::from_secret(secret.as_bytes()))),
            validations: prepare(&options),
            options: Arc::new(options),
        }
    }

    /// Public keys from a JWKS URL.
    #[must_use]
    pub fn jwks(url: &str, options: ValidatorOptions, jwks: JwksOptions) -> Self {
        Self {
            keys: Arc::new(Keys::Jwks(Arc::new(jwks::JwksCache::new(url, jwks)))),
            validations: prepare(&options),
            options: Arc::new(options),
        }
    }

    /// Verifies `token` and returns its claims.
    ///
    /// # Errors
    /// A [`ValidationError`] (answer 401).
    pub async fn validate(&self, token: &str) -> Result<Claims, ValidationError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            // jsonwebtoken cannot even name `none`: look at the raw header only on this path.
            if raw_alg(token).is_some_and(|alg| alg.eq_ignore_ascii_case("none")) {
                ValidationError::AlgorithmNotAllowed
            } else {
                ValidationError::Malformed
            }
        })?;
        if !self.options.algorithms.contains(&header.alg) {
            return Err(ValidationError::AlgorithmNotAllowed);
        }
        let key = match self.keys.as_ref() {
            Keys::Hs256(key) => key.clone(),
            Keys::Jwks(cache) => {
                let kid = header.kid.as_deref().ok_or(ValidationError::UnknownKey)?;
                let (key, alg) = cache.key(kid).await?;
                if alg != header.alg {
                    return Err(ValidationError::AlgorithmNotAllowed);
                }
                key
            }
        };
        let validation = self
            .validations
            .iter()
            .find(|(alg, _)| *alg == header.alg)
            .map(|(_, v)| v)
            .ok_or(ValidationError::AlgorithmNotAllowed)?;
        let data = jsonwebtoken::decode::<Claims>(token, &key, validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::ExpiredSignature => ValidationError::Expired,
                K::ImmatureSignature => ValidationError::NotYetValid,
                K::InvalidSignature => ValidationError::BadSignature,
                K::InvalidIssuer => ValidationError::WrongIssuer,
                K::InvalidAudience => ValidationError::WrongAudience,
                K::InvalidAlgorithm => ValidationError::AlgorithmNotAllowed,
                _ => ValidationError::Malformed,
            }
        })?;
        let claims = data.claims;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if claims.iat > now.saturating_add(self.options.leeway) {
            return Err(ValidationError::NotYetValid);
        }
        if let Some(client) = &self.options.client_id
            && &claims.client_id != client
        {
            return Err(ValidationError::WrongClient);
        }
        Ok(claims)
    }
}

/// The raw `alg` of a token header (jsonwebtoken cannot even name `none`).
fn raw_alg(token: &str) -> Option<String> {
    use base64::Engine;
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("alg")?.as_str().map(str::to_owned)
}

/// The token of an `Authorization: Bearer <token>` header value (scheme case-insensitive).
#[must_use]
pub fn extract_bearer_token(header_value: &str) -> Option<&str> {
    let (scheme, token) = header_value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens() {
        assert_eq!(extract_bearer_token("Bearer abc.def"), Some("abc.def"));
        assert_eq!(extract_bearer_token("bearer  abc"), Some("abc"));
        assert_eq!(extract_bearer_token("Basic abc"), None);
        assert_eq!(extract_bearer_token("Bearer"), None);
        assert_eq!(extract_bearer_token("Bearer a b"), None);
    }
}
