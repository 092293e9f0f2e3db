//! Access tokens: ES256, RS256 or EdDSA (per-client key with `kid`, `v2_jwks`) or HS256 (per-client secret,
//! `v1_hs256`), signed and verified with jsonwebtoken's aws-lc backend. Keys are parsed once and
//! cached; an HS256 secret is cached per client version, so rotating it takes effect at once.
//!
//! A client's tokens verify only with that client's own algorithm: `none`, HS256 for a
//! `v2_jwks` client, or ES256 for a `v1_hs256` client are refused.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use authservice_application::ports::{
    AccessClaims, AccessTokens, ClientRepository, GrantClaims, NewSigningKey, OrgClaims,
    SealedSecret, SecretBox, TokenError,
};
use authservice_domain::{Client, ClientId, SigningAlgorithm, TokenMode};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind as JwtErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::postgres::{PgSigningKeys, StoredKey};

mod assertions;
mod keys;
mod loading;

pub use assertions::JwtClientAssertions;

use keys::*;

struct HmacKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

pub struct JwtAccessTokens {
    keys: PgSigningKeys,
    clients: Arc<dyn ClientRepository>,
    secret_box: Arc<dyn SecretBox>,
    issuer: String,
    signing: RwLock<HashMap<Uuid, Arc<SigningKey>>>,
    verifying: RwLock<HashMap<String, Arc<VerifyingKey>>>,
    hmac: RwLock<HashMap<(Uuid, i64), Arc<HmacKeys>>>,
    /// Asymmetric tokens whose signature and claims were verified, by SHA-256 of the whole
    /// token: the same token presented again (every request of a session) skips the signature
    /// check. Key status, revocation and expiry are still checked on every call.
    verified: RwLock<HashMap<[u8; 32], VerifiedToken>>,
    /// `kid`s looked up and not found, for `KEY_CACHE_TTL`: forged or random kids cost one
    /// query each, not one per request (a real new key's kid is never asked for before it
    /// exists, so this cannot hide one).
    unknown_kids: RwLock<HashMap<String, std::time::Instant>>,
}

/// Entries of the unknown-kid cache (bounded; cleared when full).
const UNKNOWN_KID_CAPACITY: usize = 10_000;

struct VerifiedToken {
    claims: AccessClaims,
    kid: String,
    at: std::time::Instant,
}

/// Entries of the verified-token cache (bounded; cleared when full).
const VERIFIED_CAPACITY: usize = 20_000;

/// The cached value for `key`, or `load()` stored under it.
fn cached<K: std::hash::Hash + Eq, V>(map: &RwLock<HashMap<K, Arc<V>>>, key: &K) -> Option<Arc<V>> {
    map.read()
        .unwrap_or_else(|p| p.into_inner())
        .get(key)
        .cloned()
}

fn remember<K: std::hash::Hash + Eq, V>(map: &RwLock<HashMap<K, Arc<V>>>, key: K, value: Arc<V>) {
    map.write()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, value);
}

impl JwtAccessTokens {
    #[must_use]
    pub fn new(
        keys: PgSigningKeys,
        clients: Arc<dyn ClientRepository>,
        secret_box: Arc<dyn SecretBox>,
        issuer: String,
    ) -> Self {
        Self {
            keys,
            clients,
            secret_box,
            issuer,
            signing: RwLock::default(),
            verifying: RwLock::default(),
            hmac: RwLock::default(),
            verified: RwLock::default(),
            unknown_kids: RwLock::default(),
        }
    }

    /// A verified token's claims, if this exact token was verified with `kid` within the key
    /// cache TTL and has not expired since.
    fn verified_claims(&self, digest: &[u8; 32], kid: &str) -> Option<AccessClaims> {
        let map = self.verified.read().unwrap_or_else(|p| p.into_inner());
        let hit = map.get(digest)?;
        let fresh = hit.kid == kid
            && hit.at.elapsed() < KEY_CACHE_TTL
            && hit.claims.exp > chrono::Utc::now().timestamp();
        fresh.then(|| hit.claims.clone())
    }

    fn remember_verified(&self, digest: [u8; 32], kid: &str, claims: &AccessClaims) {
        let mut map = self.verified.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= VERIFIED_CAPACITY {
            map.clear();
        }
        map.insert(
            digest,
            VerifiedToken {
                claims: claims.clone(),
                kid: kid.to_owned(),
                at: std::time::Instant::now(),
            },
        );
    }

    fn validation(&self, alg: Algorithm, client: &Client) -> Validation {
        let mut validation = Validation::new(alg);
        // Tokens of the REST API name the service; tokens of the OAuth endpoints name the
        // client's issuer (`{BASE_URL}/t/{slug}`).
        let tenant_issuer = format!("{}/t/{}", self.issuer, client.slug.as_str());
        validation.set_issuer(&[self.issuer.as_str(), tenant_issuer.as_str()]);
        validation.set_audience(&[client.id.to_string()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        validation
    }
}

/// The `client_id` claim without verifying anything (only to answer `token_client_mismatch`).
fn unverified_client_id(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.get("client_id")?.as_str().map(str::to_owned)
}

fn map_jwt_error(err: &jsonwebtoken::errors::Error) -> TokenError {
    match err.kind() {
        JwtErrorKind::ExpiredSignature => TokenError::Expired,
        JwtErrorKind::ImmatureSignature => TokenError::NotYetValid,
        JwtErrorKind::InvalidSignature => TokenError::BadSignature,
        JwtErrorKind::InvalidAlgorithm => TokenError::AlgorithmNotAllowed,
        _ => TokenError::Invalid,
    }
}

/// The raw `alg` of a token header (so `none`, which jsonwebtoken cannot even name, is reported
/// as an algorithm that is not allowed rather than as garbage).
fn raw_alg(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(header).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.get("alg")?.as_str().map(str::to_owned)
}

#[async_trait]
impl AccessTokens for JwtAccessTokens {
    async fn generate_key(&self, algorithm: SigningAlgorithm) -> anyhow::Result<NewSigningKey> {
        tokio::task::spawn_blocking(move || generate(algorithm))
            .await
            .context("key generation task")?
    }

    async fn sign(&self, client: &Client, claims: &AccessClaims) -> anyhow::Result<String> {
        let wire = WireClaims::from(claims);
        match client.token_mode {
            TokenMode::V2Jwks => {
                let key = self.signing_key(client.id).await?;
                let mut header = Header::new(key.alg);
                header.kid = Some(key.kid.clone());
                jsonwebtoken::encode(&header, &wire, &key.encoding).context("signing access token")
            }
            TokenMode::V1Hs256 => {
                let keys = self.hmac_keys(client).await?;
                jsonwebtoken::encode(&Header::new(Algorithm::HS256), &wire, &keys.encoding)
                    .context("signing HS256 token")
            }
        }
    }

    async fn sign_id_token(
        &self,
        client: &Client,
        claims: &Value,
        access_token: Option<&str>,
    ) -> anyhow::Result<String> {
        if client.token_mode != TokenMode::V2Jwks {
            return Err(anyhow!(
                "client {} signs with a shared secret: no ID tokens",
                client.id
            ));
        }
        let key = self.signing_key(client.id).await?;
        let mut claims = claims.clone();
        if let Some(access_token) = access_token {
            // OpenID Connect Core 3.1.3.6: the left half of the hash the JWS algorithm uses
            // (SHA-512 for Ed25519, as the OpenID Foundation's errata settle it).
            let algorithm = match key.alg {
                Algorithm::EdDSA => &aws_lc_rs::digest::SHA512,
                _ => &aws_lc_rs::digest::SHA256,
            };
            let digest = aws_lc_rs::digest::digest(algorithm, access_token.as_bytes());
            let half = &digest.as_ref()[..digest.as_ref().len() / 2];
            claims["at_hash"] = json!(URL_SAFE_NO_PAD.encode(half));
        }
        let mut header = Header::new(key.alg);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, &claims, &key.encoding).context("signing ID token")
    }

    async fn verify_id_token(&self, client: &Client, token: &str) -> Result<Value, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if !matches!(
            header.alg,
            Algorithm::ES256 | Algorithm::RS256 | Algorithm::EdDSA
        ) {
            return Err(TokenError::AlgorithmNotAllowed);
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let key = self
            .verifying_key(&kid)
            .await?
            .ok_or(TokenError::UnknownKey)?;
        if key.client_id != client.id.as_uuid() {
            return Err(TokenError::ClientMismatch);
        }
        if key.alg != header.alg {
            return Err(TokenError::AlgorithmNotAllowed);
        }
        if !key.stored.verifies_at(chrono::Utc::now()) {
            return Err(TokenError::RetiredKey);
        }
        let mut validation = Validation::new(key.alg);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_required_spec_claims::<&str>(&[]);
        jsonwebtoken::decode::<Value>(token, &key.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| map_jwt_error(&e))
    }

    async fn verify(&self, client: &Client, token: &str) -> Result<AccessClaims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            // jsonwebtoken cannot even name `none`: read the raw header on this path only.
            if raw_alg(token).is_some_and(|alg| alg.eq_ignore_ascii_case("none")) {
                TokenError::AlgorithmNotAllowed
            } else {
                TokenError::Malformed
            }
        })?;
        // With a shared secret, another client's token would just fail its signature; read the
        // claimed client first so the answer names the real problem. (Asymmetric tokens are
        // bound to their client through the key's owner below, and the verified claim after.)
        if header.alg == Algorithm::HS256 {
            let claimed = unverified_client_id(token).ok_or(TokenError::Malformed)?;
            if claimed != client.id.to_string() {
                return Err(TokenError::ClientMismatch);
            }
        }
        let claims: AccessClaims = match (client.token_mode, header.alg) {
            (TokenMode::V2Jwks, alg @ (Algorithm::ES256 | Algorithm::RS256 | Algorithm::EdDSA)) => {
                let kid = header.kid.ok_or(TokenError::UnknownKey)?;
                let key = self
                    .verifying_key(&kid)
                    .await?
                    .ok_or(TokenError::UnknownKey)?;
                if key.client_id != client.id.as_uuid() {
                    return Err(TokenError::ClientMismatch);
                }
                if key.alg != alg {
                    return Err(TokenError::AlgorithmNotAllowed);
                }
                if !key.stored.verifies_at(chrono::Utc::now()) {
                    return Err(TokenError::RetiredKey);
                }
                let digest: [u8; 32] =
                    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes())
                        .as_ref()
                        .try_into()
                        .map_err(|_| anyhow!("SHA-256 digest length"))?;
                if let Some(claims) = self.verified_claims(&digest, &kid) {
                    claims
                } else {
                    let claims: AccessClaims = jsonwebtoken::decode::<WireClaims>(
                        token,
                        &key.decoding,
                        &self.validation(alg, client),
                    )
                    .map_err(|e| map_jwt_error(&e))?
                    .claims
                    .into();
                    if claims.client_id == client.id.to_string() {
                        self.remember_verified(digest, &kid, &claims);
                    }
                    claims
                }
            }
            (TokenMode::V1Hs256, Algorithm::HS256) => {
                let keys = self.hmac_keys(client).await?;
                jsonwebtoken::decode::<WireClaims>(
                    token,
                    &keys.decoding,
                    &self.validation(Algorithm::HS256, client),
                )
                .map_err(|e| map_jwt_error(&e))?
                .claims
                .into()
            }
            _ => return Err(TokenError::AlgorithmNotAllowed),
        };
        if claims.iat > chrono::Utc::now().timestamp() + 30 {
            return Err(TokenError::NotYetValid);
        }
        if claims.client_id != client.id.to_string() {
            return Err(TokenError::ClientMismatch);
        }
        Ok(claims)
    }

    fn forget_client(&self, client: ClientId) {
        self.signing
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&client.as_uuid());
        self.verifying
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, key| key.client_id != client.as_uuid());
    }

    async fn published_keys(&self, client: Option<ClientId>) -> anyhow::Result<Vec<Value>> {
        self.keys.published(client.map(|c| c.as_uuid())).await
    }
}
