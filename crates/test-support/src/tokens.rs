//! Access tokens for unit tests: the claims as JSON with a keyed SHA-256 tag. They carry the
//! same claims and are refused for the same reasons as the real JWTs (another client, expired,
//! not yet valid, a broken tag); the JWT adapter itself is covered by the end-to-end suite and
//! by third-party verifiers there.

use std::sync::Arc;

use async_trait::async_trait;
use authservice_application::ports::{
    AccessClaims, AccessTokens, Clock, GrantClaims, NewSigningKey, OrgClaims, TokenError,
};
use authservice_domain::secret::{hex, secrets_equal, sha256};
use authservice_domain::{Client, ClientId, SigningAlgorithm};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::ManualClock;

const KEY: &str = "test-support-signing-key";

pub struct FakeTokens {
    clock: Arc<ManualClock>,
}

impl FakeTokens {
    #[must_use]
    pub fn new(clock: Arc<ManualClock>) -> Self {
        Self { clock }
    }
}

fn tag(payload: &str) -> String {
    hex(&sha256(format!("{KEY}.{payload}").as_bytes()))
}

fn to_json(c: &AccessClaims) -> Value {
    json!({
        "sub": c.sub, "iss": c.iss, "aud": c.aud, "iat": c.iat, "exp": c.exp, "jti": c.jti,
        "client_id": c.client_id, "email": c.email, "email_verified": c.email_verified,
        "role": c.role, "sid": c.sid, "auth_time": c.auth_time, "amr": c.amr,
        "org": c.org.as_ref().map(|o| json!({
            "id": o.id, "slug": o.slug, "role": o.role, "permissions": o.permissions,
        })),
        "grant": c.grant.as_ref().map(|g| json!({
            "token_use": g.token_use, "scopes": g.scopes, "azp": g.azp,
            "service_account_name": g.service_account_name,
        })),
    })
}

fn from_json(v: &Value) -> Option<AccessClaims> {
    let text = |k: &str| v.get(k)?.as_str().map(str::to_owned);
    let int = |k: &str| v.get(k)?.as_i64();
    Some(AccessClaims {
        sub: text("sub")?,
        iss: text("iss")?,
        aud: text("aud")?,
        iat: int("iat")?,
        exp: int("exp")?,
        jti: text("jti")?,
        client_id: text("client_id")?,
        email: text("email")?,
        email_verified: v.get("email_verified")?.as_bool()?,
        role: text("role")?,
        sid: text("sid")?,
        auth_time: int("auth_time")?,
        amr: serde_json::from_value(v.get("amr")?.clone()).ok()?,
        org: v.get("org").and_then(|o| {
            Some(OrgClaims {
                id: o.get("id")?.as_str()?.to_owned(),
                slug: o.get("slug")?.as_str()?.to_owned(),
                role: o.get("role")?.as_str()?.to_owned(),
                permissions: serde_json::from_value(o.get("permissions")?.clone()).ok()?,
            })
        }),
        grant: v.get("grant").and_then(|g| {
            Some(GrantClaims {
                token_use: g.get("token_use")?.as_str()?.to_owned(),
                scopes: serde_json::from_value(g.get("scopes")?.clone()).ok()?,
                azp: g.get("azp")?.as_str()?.to_owned(),
                service_account_name: g
                    .get("service_account_name")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            })
        }),
    })
}

#[async_trait]
impl AccessTokens for FakeTokens {
    async fn generate_key(&self, algorithm: SigningAlgorithm) -> anyhow::Result<NewSigningKey> {
        Ok(NewSigningKey {
            kid: format!("fake-{}", uuid::Uuid::new_v4().simple()),
            alg: algorithm.as_str().to_owned(),
            private_key_der: vec![0; 32],
            public_jwk: json!({ "kty": "oct", "alg": algorithm.as_str() }),
        })
    }

    async fn sign(&self, _client: &Client, claims: &AccessClaims) -> anyhow::Result<String> {
        let payload = URL_SAFE_NO_PAD.encode(to_json(claims).to_string());
        Ok(format!("fake.{payload}.{}", tag(&payload)))
    }

    async fn verify(&self, client: &Client, token: &str) -> Result<AccessClaims, TokenError> {
        let mut parts = token.split('.');
        let (Some("fake"), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        if !secrets_equal(tag(payload).as_bytes(), signature.as_bytes()) {
            return Err(TokenError::BadSignature);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
        let claims = from_json(&value).ok_or(TokenError::Invalid)?;
        if ClientId::parse(&claims.client_id).ok() != Some(client.id) {
            return Err(TokenError::ClientMismatch);
        }
        let now = self.clock.now().timestamp();
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        if claims.iat > now + 60 {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }

    async fn sign_id_token(
        &self,
        _client: &Client,
        claims: &Value,
        access_token: Option<&str>,
    ) -> anyhow::Result<String> {
        let mut claims = claims.clone();
        if let Some(access_token) = access_token {
            claims["at_hash"] =
                json!(URL_SAFE_NO_PAD.encode(&sha256(access_token.as_bytes())[..16]));
        }
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        Ok(format!("fakeid.{payload}.{}", tag(&payload)))
    }

    async fn verify_id_token(&self, client: &Client, token: &str) -> Result<Value, TokenError> {
        let mut parts = token.split('.');
        let (Some("fakeid"), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        if !secrets_equal(tag(payload).as_bytes(), signature.as_bytes()) {
            return Err(TokenError::BadSignature);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
        let _ = client;
        Ok(value)
    }

    fn forget_client(&self, _client: ClientId) {}

    async fn published_keys(&self, _client: Option<ClientId>) -> anyhow::Result<Vec<Value>> {
        Ok(Vec::new())
    }
}
