//! Replace a client's HS256 secret. Tokens signed with the old secret stop validating; the new
//! secret is shown once and stored sealed with `ENCRYPTION_KEY`.

use authservice_domain::EventType;
use authservice_domain::{Client, ClientId, Permission, ValidationError};

use super::{new_jwt_secret, snapshot};
use secrecy::{ExposeSecret, SecretString};

use crate::context::{Forbidden, RequestCtx};
use crate::error::{ErrorKind, UseCaseError};
use crate::ports::{ClientWriteError, Ports};

#[derive(Debug)]
pub struct RotatedJwtSecret {
    pub client: Client,
    pub jwt_secret: SecretString,
}

#[derive(Debug, thiserror::Error)]
pub enum RotateJwtSecretError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("client not found")]
    NotFound,
    #[error("client was modified concurrently; retry")]
    Conflict,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for RotateJwtSecretError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::Invalid(_) => ErrorKind::InvalidRequest,
            Self::NotFound => ErrorKind::ClientNotFound,
            Self::Conflict => ErrorKind::Conflict,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}

impl From<ClientWriteError> for RotateJwtSecretError {
    fn from(err: ClientWriteError) -> Self {
        match err {
            ClientWriteError::NotFound => Self::NotFound,
            ClientWriteError::Conflict => Self::Conflict,
            ClientWriteError::SlugTaken => {
                Self::Unexpected(anyhow::anyhow!("slug conflict on secret rotation"))
            }
            ClientWriteError::Unexpected(e) => Self::Unexpected(e),
        }
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
    ) -> Result<RotatedJwtSecret, RotateJwtSecretError> {
        ctx.require(Permission::ClientsRotateKeys)?;
        let id = ClientId::parse(id)?;
        ctx.require_for_client(Permission::ClientsRotateKeys, id)?;
        let mut client = self
            .ports
            .clients
            .get(id)
            .await?
            .ok_or(RotateJwtSecretError::NotFound)?;
        let before = snapshot(&client);
        let jwt_secret = new_jwt_secret(self.ports.random.as_ref());
        let sealed = self
            .ports
            .secret_box
            .seal(jwt_secret.expose_secret().as_bytes())?;
        let now = self.ports.clock.now();
        client.updated_at = now;
        client.version += 1;
        let audit = ctx
            .audit(EventType::ClientJwtSecretRotated)
            .client(id)
            .target("client", id)
            .before(before)
            .after(snapshot(&client))
            .at(now);
        self.ports
            .clients
            .update(&client, Some(&sealed), &audit)
            .await?;
        Ok(RotatedJwtSecret { client, jwt_secret })
    }
}
