//! Replace a client's credentials: its API key (the old key stops working at once) or its
//! HS256 secret (tokens signed with the old one stop validating; the new one is stored sealed
//! with `ENCRYPTION_KEY`). Either is shown once.

use authservice_domain::{ApiKey, Client, EventType, Permission};
use secrecy::{ExposeSecret, SecretString};

use super::{ClientActionError, existing_client, new_api_key, new_jwt_secret, snapshot};
use crate::context::RequestCtx;
use crate::ports::{Ports, SealedSecret};

#[derive(Debug)]
pub struct RotatedApiKey {
    pub client: Client,
    pub api_key: ApiKey,
}

#[derive(Debug)]
pub struct RotatedJwtSecret {
    pub client: Client,
    pub jwt_secret: SecretString,
}

pub struct RotateApiKey {
    ports: Ports,
}

impl RotateApiKey {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    #[tracing::instrument(name = "rotate_api_key", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        id: &str,
    ) -> Result<RotatedApiKey, ClientActionError> {
        let api_key = new_api_key(self.ports.random.as_ref());
        let client = rotate(&self.ports, ctx, id, EventType::ClientApiKeyRotated, |c| {
            c.api_key_hash = api_key.hash();
            c.api_key_prefix = api_key.display_prefix();
            None
        })
        .await?;
        Ok(RotatedApiKey { client, api_key })
    }
}

pub struct RotateJwtSecret {
    ports: Ports,
}

impl RotateJwtSecret {
    #[must_use]
    pub fn new(ports: &Ports) -> Self {
        Self {
            ports: ports.clone(),
        }
    }

    #[tracing::instrument(name = "rotate_jwt_secret", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        id: &str,
    ) -> Result<RotatedJwtSecret, ClientActionError> {
        let jwt_secret = new_jwt_secret(self.ports.random.as_ref());
        let sealed = self
            .ports
            .secret_box
            .seal(jwt_secret.expose_secret().as_bytes())?;
        let event = EventType::ClientJwtSecretRotated;
        let client = rotate(&self.ports, ctx, id, event, |_| Some(sealed)).await?;
        Ok(RotatedJwtSecret { client, jwt_secret })
    }
}

/// Replaces a credential of client `id`: `change` sets it on the client and returns the
/// sealed secret to store with it, if any; the client is stored with its audit `event`
/// (before and after, never a secret).
async fn rotate(
    ports: &Ports,
    ctx: &RequestCtx,
    id: &str,
    event: EventType,
    change: impl FnOnce(&mut Client) -> Option<SealedSecret>,
) -> Result<Client, ClientActionError> {
    let mut client = existing_client(ports, ctx, id, Permission::ClientsRotateKeys).await?;
    let before = snapshot(&client);
    let sealed = change(&mut client);
    let now = ports.clock.now();
    client.updated_at = now;
    client.version += 1;
    let audit = ctx
        .audit(event)
        .client(client.id)
        .target("client", client.id)
        .before(before)
        .after(snapshot(&client))
        .at(now);
    ports
        .clients
        .update(&client, sealed.as_ref(), &audit)
        .await?;
    Ok(client)
}
