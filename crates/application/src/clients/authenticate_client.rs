//! Resolve the tenant of an app request from its `X-API-Key`, and check the browser origin.
//!
//! The key is looked up by its SHA-256 digest and the digests are compared again in constant
//! time. A suspended client is refused on every route; a request with an `Origin` header must
//! come from one of the client's allowed origins (or a globally allowed one).

use authservice_domain::{AllowedOrigin, ApiKeyHash, Client};

use crate::error::{ErrorKind, UseCaseError};
use crate::ports::Ports;

#[derive(Clone, Copy, Default)]
pub struct AuthenticateClientInput<'a> {
    pub api_key: Option<&'a str>,
    /// The browser `Origin` header, when present.
    pub origin: Option<&'a str>,
}

impl std::fmt::Debug for AuthenticateClientInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthenticateClientInput")
            .field("api_key", &self.api_key.map(|_| "[redacted]"))
            .field("origin", &self.origin)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthenticateClientError {
    #[error("X-API-Key header is required")]
    MissingApiKey,
    #[error("API key is not valid")]
    InvalidApiKey,
    #[error("client is suspended")]
    Suspended,
    #[error("origin is not allowed for this client")]
    OriginNotAllowed,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for AuthenticateClientError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::MissingApiKey => ErrorKind::MissingApiKey,
            Self::InvalidApiKey => ErrorKind::InvalidApiKey,
            Self::Suspended => ErrorKind::ClientSuspended,
            Self::OriginNotAllowed => ErrorKind::OriginNotAllowed,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}

pub struct AuthenticateClient {
    ports: Ports,
    global_origins: Vec<AllowedOrigin>,
}

impl AuthenticateClient {
    #[must_use]
    pub fn new(ports: &Ports, global_origins: Vec<AllowedOrigin>) -> Self {
        Self {
            ports: ports.clone(),
            global_origins,
        }
    }

    #[tracing::instrument(name = "authenticate_client", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        input: AuthenticateClientInput<'_>,
    ) -> Result<Client, AuthenticateClientError> {
        let presented = input
            .api_key
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or(AuthenticateClientError::MissingApiKey)?;
        let hash = ApiKeyHash::of_presented(presented);
        let client = self
            .ports
            .clients
            .find_by_api_key_hash(&hash)
            .await?
            .filter(|c| c.api_key_hash.matches(&hash))
            .ok_or(AuthenticateClientError::InvalidApiKey)?;
        if !client.is_active() {
            return Err(AuthenticateClientError::Suspended);
        }
        if let Some(origin) = input.origin
            && !client.allows_origin(origin)
            && !self.global_origins.iter().any(|o| o.matches(origin))
        {
            return Err(AuthenticateClientError::OriginNotAllowed);
        }
        Ok(client)
    }
}
