//! Operators list a client's signing keys and rotate them: the new key signs from now on, the
//! old one stays published (in the JWKS, valid for verification) for `overlap_hours`
//! (default 24, at most 720), then is retired and its tokens fail.

use authservice_domain::EventType;
use std::time::Duration;

use authservice_domain::{ClientId, Permission, SigningAlgorithm, ValidationError};
use serde_json::json;

use super::{SigningKeysError, existing_client};
use crate::audit::record_quietly;
use crate::context::RequestCtx;
use crate::ports::{Ports, SealedSigningKey, SigningKeyInfo, Write};

#[derive(Debug, Clone, Default)]
pub struct RotateSigningKeyInput {
    /// `ES256` (default), `RS256` or `EdDSA`.
    pub algorithm: Option<String>,
    /// Hours the previous key stays valid (default 24, 0–720).
    pub overlap_hours: Option<i64>,
}

pub struct ManageSigningKeys {
    ports: Ports,
}

impl ManageSigningKeys {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    async fn existing(
        &self,
        ctx: &RequestCtx,
        id: &str,
        permission: Permission,
    ) -> Result<ClientId, SigningKeysError> {
        Ok(existing_client(&self.ports, ctx, id, permission).await?.id)
    }

    pub async fn list(
        &self,
        ctx: &RequestCtx,
        id: &str,
    ) -> Result<Vec<SigningKeyInfo>, SigningKeysError> {
        let client = self.existing(ctx, id, Permission::ClientsRead).await?;
        let now = self.ports.clock.now();
        let keys = self.ports.signing_keys.list(client, now).await?;
        let event = ctx
            .audit(EventType::SigningKeysListed)
            .client(client)
            .target("client", client)
            .at(now);
        record_quietly(&self.ports, &event).await;
        Ok(keys)
    }

    pub async fn rotate(
        &self,
        ctx: &RequestCtx,
        id: &str,
        input: RotateSigningKeyInput,
    ) -> Result<Vec<SigningKeyInfo>, SigningKeysError> {
        let client = self
            .existing(ctx, id, Permission::ClientsRotateKeys)
            .await?;
        let algorithm = input
            .algorithm
            .as_deref()
            .map(SigningAlgorithm::parse)
            .transpose()?
            .unwrap_or_default();
        let overlap_hours = input.overlap_hours.unwrap_or(24);
        if !(0..=720).contains(&overlap_hours) {
            return Err(ValidationError::new("overlap_hours", "must be between 0 and 720").into());
        }
        let overlap = Duration::from_secs(u64::try_from(overlap_hours).unwrap_or(24) * 3600);
        let key = self.ports.tokens.generate_key(algorithm).await?;
        let sealed = SealedSigningKey {
            private_key: self.ports.secret_box.seal(&key.private_key_der)?,
            kid: key.kid,
            alg: key.alg,
            public_jwk: key.public_jwk,
        };
        let now = self.ports.clock.now();
        let audit = ctx
            .audit(EventType::SigningKeyRotated)
            .client(client)
            .target("client", client)
            .metadata(json!({
                "kid": sealed.kid,
                "algorithm": sealed.alg,
                "overlap_hours": overlap_hours,
            }))
            .at(now);
        self.ports
            .uow
            .commit(vec![
                Write::RotateSigningKey {
                    client,
                    key: sealed,
                    overlap,
                    at: now,
                },
                Write::Audit(audit),
            ])
            .await?;
        self.ports.tokens.forget_client(client);
        Ok(self.ports.signing_keys.list(client, now).await?)
    }
}
