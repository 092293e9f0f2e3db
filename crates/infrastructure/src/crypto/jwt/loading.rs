//! Loading keys into the caches: a client's signing key, any client's verifying key by
//! `kid` (unknown kids remembered so a flood of random ones costs no query), and a `v1_hs256`
//! client's HMAC secret per client version.

#![allow(clippy::wildcard_imports)]

use super::*;

impl JwtAccessTokens {
    pub(super) async fn signing_key(&self, client: ClientId) -> anyhow::Result<Arc<SigningKey>> {
        if let Some(key) = cached(&self.signing, &client.as_uuid())
            && key.loaded.elapsed() < KEY_CACHE_TTL
        {
            return Ok(key);
        }
        let stored = self
            .keys
            .active_for(client.as_uuid())
            .await?
            .ok_or_else(|| anyhow!("client {client} has no active signing key"))?;
        let der = self
            .secret_box
            .open(&SealedSecret(stored.private_key_sealed))?;
        let alg = jose_alg(&stored.alg)?;
        let encoding = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_der(&der),
            Algorithm::EdDSA => EncodingKey::from_ed_der(&der),
            _ => EncodingKey::from_ec_der(&der),
        };
        let key = Arc::new(SigningKey {
            kid: stored.kid,
            alg,
            encoding,
            loaded: std::time::Instant::now(),
        });
        remember(&self.signing, client.as_uuid(), key.clone());
        Ok(key)
    }

    pub(super) async fn verifying_key(
        &self,
        kid: &str,
    ) -> anyhow::Result<Option<Arc<VerifyingKey>>> {
        if let Some(key) = cached(&self.verifying, &kid.to_owned())
            && key.loaded.elapsed() < KEY_CACHE_TTL
        {
            return Ok(Some(key));
        }
        let known_unknown = self
            .unknown_kids
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(kid)
            .is_some_and(|at| at.elapsed() < KEY_CACHE_TTL);
        if known_unknown {
            return Ok(None);
        }
        let Some(stored) = self.keys.by_kid(kid).await? else {
            let mut unknown = self.unknown_kids.write().unwrap_or_else(|p| p.into_inner());
            if unknown.len() >= UNKNOWN_KID_CAPACITY {
                unknown.clear();
            }
            unknown.insert(kid.to_owned(), std::time::Instant::now());
            return Ok(None);
        };
        let jwk = stored.public_jwk.clone();
        let field = |name: &str| jwk[name].as_str().unwrap_or_default();
        let alg = jose_alg(&stored.alg)?;
        let decoding = match alg {
            Algorithm::RS256 => DecodingKey::from_rsa_components(field("n"), field("e")),
            Algorithm::EdDSA => DecodingKey::from_ed_components(field("x")),
            _ => DecodingKey::from_ec_components(field("x"), field("y")),
        }
        .context("stored public key")?;
        let key = Arc::new(VerifyingKey {
            client_id: stored.client_id,
            alg,
            decoding,
            stored,
            loaded: std::time::Instant::now(),
        });
        remember(&self.verifying, kid.to_owned(), key.clone());
        Ok(Some(key))
    }

    pub(super) async fn hmac_keys(&self, client: &Client) -> anyhow::Result<Arc<HmacKeys>> {
        let cache_key = (client.id.as_uuid(), client.version);
        if let Some(keys) = cached(&self.hmac, &cache_key) {
            return Ok(keys);
        }
        let sealed = self
            .clients
            .jwt_secret(client.id)
            .await?
            .ok_or_else(|| anyhow!("client {} has no JWT secret", client.id))?;
        let secret = self.secret_box.open(&sealed)?;
        let keys = Arc::new(HmacKeys {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
        });
        {
            let mut hmac = self.hmac.write().unwrap_or_else(|p| p.into_inner());
            hmac.retain(|(id, _), _| *id != client.id.as_uuid());
            hmac.insert(cache_key, keys.clone());
        }
        Ok(keys)
    }
}
