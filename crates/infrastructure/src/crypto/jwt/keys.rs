//! The wire format of access-token claims and the signing keys: generation per algorithm and
//! the cached signing and verifying halves.

#![allow(clippy::wildcard_imports)]

use super::*;

#[derive(Serialize, Deserialize)]
pub(super) struct WireClaims {
    pub(super) sub: String,
    pub(super) iss: String,
    pub(super) aud: String,
    pub(super) iat: i64,
    pub(super) exp: i64,
    pub(super) jti: String,
    pub(super) client_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(super) email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) email_verified: Option<bool>,
    pub(super) role: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(super) sid: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(super) auth_time: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) amr: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) org_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) org_slug: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) org_role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) org_permissions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) token_use: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) azp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) service_account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) service_account_name: Option<String>,
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(n: &i64) -> bool {
    *n == 0
}

impl From<&AccessClaims> for WireClaims {
    fn from(c: &AccessClaims) -> Self {
        Self {
            sub: c.sub.clone(),
            iss: c.iss.clone(),
            aud: c.aud.clone(),
            iat: c.iat,
            exp: c.exp,
            jti: c.jti.clone(),
            client_id: c.client_id.clone(),
            email: c.email.clone(),
            // Machine tokens have no user: no email claims.
            email_verified: c.service_account().is_none().then_some(c.email_verified),
            role: c.role.clone(),
            sid: c.sid.clone(),
            auth_time: c.auth_time,
            amr: c.amr.clone(),
            org_id: c.org.as_ref().map(|o| o.id.clone()),
            org_slug: c.org.as_ref().map(|o| o.slug.clone()),
            org_role: c.org.as_ref().map(|o| o.role.clone()),
            org_permissions: c.org.as_ref().map(|o| o.permissions.clone()),
            token_use: c.grant.as_ref().map(|g| g.token_use.clone()),
            scope: c.grant.as_ref().map(|g| g.scopes.join(" ")),
            scopes: c.grant.as_ref().map(|g| g.scopes.clone()),
            azp: c.grant.as_ref().map(|g| g.azp.clone()),
            service_account_id: c.service_account().map(str::to_owned),
            service_account_name: c
                .grant
                .as_ref()
                .and_then(|g| g.service_account_name.clone()),
        }
    }
}

impl From<WireClaims> for AccessClaims {
    fn from(c: WireClaims) -> Self {
        Self {
            sub: c.sub,
            iss: c.iss,
            aud: c.aud,
            iat: c.iat,
            exp: c.exp,
            jti: c.jti,
            client_id: c.client_id,
            email: c.email,
            email_verified: c.email_verified.unwrap_or(false),
            role: c.role,
            sid: c.sid,
            auth_time: c.auth_time,
            amr: c.amr,
            org: match (c.org_id, c.org_slug, c.org_role) {
                (Some(id), Some(slug), Some(role)) => Some(OrgClaims {
                    id,
                    slug,
                    role,
                    permissions: c.org_permissions.unwrap_or_default(),
                }),
                _ => None,
            },
            grant: c.token_use.map(|token_use| GrantClaims {
                token_use,
                scopes: c.scopes.unwrap_or_else(|| {
                    c.scope
                        .unwrap_or_default()
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect()
                }),
                azp: c.azp.unwrap_or_default(),
                service_account_name: c.service_account_name,
            }),
        }
    }
}

/// How long a cached key (and its status) is trusted before it is re-read: the worst-case delay
/// for another replica to see a key rotation or retirement.
pub(super) const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

pub(super) struct SigningKey {
    pub(super) kid: String,
    pub(super) alg: Algorithm,
    pub(super) encoding: EncodingKey,
    pub(super) loaded: std::time::Instant,
}

pub(super) struct VerifyingKey {
    pub(super) client_id: Uuid,
    pub(super) alg: Algorithm,
    pub(super) decoding: DecodingKey,
    pub(super) stored: StoredKey,
    pub(super) loaded: std::time::Instant,
}

pub(super) fn jose_alg(name: &str) -> anyhow::Result<Algorithm> {
    match name {
        "ES256" => Ok(Algorithm::ES256),
        "RS256" => Ok(Algorithm::RS256),
        "EdDSA" => Ok(Algorithm::EdDSA),
        other => Err(anyhow!("unsupported signing key algorithm {other}")),
    }
}

/// A new key pair: private half as DER (PKCS#8 for ES256/EdDSA, PKCS#1 for RS256), public
/// half as a JWK.
pub(super) fn generate(algorithm: SigningAlgorithm) -> anyhow::Result<NewSigningKey> {
    let kid = Uuid::now_v7().simple().to_string();
    let rng = SystemRandom::new();
    let (der, mut jwk) = match algorithm {
        SigningAlgorithm::Es256 => {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| anyhow!("generating an ES256 key failed"))?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                .map_err(|_| anyhow!("parsing the generated ES256 key failed"))?;
            let point = pair.public_key().as_ref();
            if point.len() != 65 || point[0] != 4 {
                return Err(anyhow!("unexpected P-256 public key encoding"));
            }
            let jwk = json!({
                "kty": "EC",
                "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            });
            (pkcs8.as_ref().to_vec(), jwk)
        }
        SigningAlgorithm::EdDsa => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(|_| anyhow!("generating an Ed25519 key failed"))?;
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
                .map_err(|_| anyhow!("parsing the generated Ed25519 key failed"))?;
            let jwk = json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
            });
            (pkcs8.as_ref().to_vec(), jwk)
        }
        SigningAlgorithm::Rs256 => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            use rsa::traits::PublicKeyParts;
            let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
                .context("generating an RSA key")?;
            let der = key.to_pkcs1_der().context("encoding the RSA key")?;
            let jwk = json!({
                "kty": "RSA",
                "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
                "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
            });
            (der.as_bytes().to_vec(), jwk)
        }
    };
    jwk["kid"] = json!(kid);
    jwk["alg"] = json!(algorithm.as_str());
    jwk["use"] = json!("sig");
    Ok(NewSigningKey {
        kid,
        alg: algorithm.as_str().to_owned(),
        private_key_der: der,
        public_jwk: jwk,
    })
}
