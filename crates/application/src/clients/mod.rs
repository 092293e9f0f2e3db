//! Managing clients (tenants) and resolving them from API keys.

mod authenticate_client;
mod check_origin;
mod create_client;
mod get_client;
mod list_clients;
mod rotate;
mod signing_keys;
mod update_client;

pub use authenticate_client::{
    AuthenticateClient, AuthenticateClientError, AuthenticateClientInput,
};
pub use check_origin::{CheckOrigin, OriginScope};
pub use create_client::{CreateClient, CreateClientError, CreateClientInput, CreatedClient};
pub use get_client::GetClient;
pub use list_clients::{ListClients, ListClientsError, ListClientsInput};
pub use rotate::{RotateApiKey, RotateJwtSecret, RotatedApiKey, RotatedJwtSecret};
pub use signing_keys::{ManageSigningKeys, RotateSigningKeyInput};
pub use update_client::{UpdateClient, UpdateClientError, UpdateClientInput};

use authservice_domain::{ApiKey, Client, ClientId, Permission, ValidationError};
use serde_json::{Value, json};

use secrecy::SecretString;

use crate::context::{Forbidden, RequestCtx};
use crate::error::{ErrorKind, UseCaseError};
use crate::ports::{ClientWriteError, Ports, Random};

/// What an operator's action on one existing client fails with.
#[derive(Debug, thiserror::Error)]
pub enum ClientActionError {
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

pub type GetClientError = ClientActionError;
pub type RotateApiKeyError = ClientActionError;
pub type RotateJwtSecretError = ClientActionError;
pub type SigningKeysError = ClientActionError;

impl UseCaseError for ClientActionError {
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

impl From<ClientWriteError> for ClientActionError {
    fn from(err: ClientWriteError) -> Self {
        match err {
            ClientWriteError::NotFound => Self::NotFound,
            ClientWriteError::Conflict => Self::Conflict,
            // Only a change of slug can collide; these actions keep it.
            ClientWriteError::SlugTaken => {
                Self::Unexpected(anyhow::anyhow!("slug conflict without a slug change"))
            }
            ClientWriteError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

/// The client `id` (the raw path or gRPC value) for an action needing `permission` on it:
/// the permission, then the id, then the caller's scope, then the client itself.
///
/// # Errors
/// `Forbidden`, `Invalid` (not an id), `NotFound`, or a store failure.
pub(crate) async fn existing_client(
    ports: &Ports,
    ctx: &RequestCtx,
    id: &str,
    permission: Permission,
) -> Result<Client, ClientActionError> {
    ctx.require(permission)?;
    let id = ClientId::parse(id)?;
    ctx.require_for_client(permission, id)?;
    ports
        .clients
        .get(id)
        .await?
        .ok_or(ClientActionError::NotFound)
}

/// The audit snapshot of a client: every public field, never a secret or key hash.
#[must_use]
pub fn snapshot(client: &Client) -> Value {
    json!({
        "id": client.id.to_string(),
        "name": client.name.as_str(),
        "slug": client.slug.as_str(),
        "allowed_origins": client.allowed_origins.iter().map(|o| o.as_str()).collect::<Vec<_>>(),
        "redirect_uris": client.redirect_uris.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "webhook_url": client.webhook_url.as_ref().map(|w| w.as_str()),
        "settings": client.settings.to_value(),
        "status": client.status.as_str(),
        "token_mode": client.token_mode.as_str(),
        "api_key_prefix": client.api_key_prefix,
    })
}

fn new_api_key(random: &dyn Random) -> ApiKey {
    ApiKey::from_random(random.bytes32())
}

/// A new HS256 secret: 256 random bits as 64 lowercase hex characters.
fn new_jwt_secret(random: &dyn Random) -> SecretString {
    SecretString::from(authservice_domain::secret::hex(&random.bytes32()))
}

/// A refused client setting is `invalid_setting` (422); any other bad field `invalid_request`.
fn invalid_kind(err: &authservice_domain::ValidationError) -> crate::ErrorKind {
    if err.setting.is_some() {
        crate::ErrorKind::InvalidSetting
    } else {
        crate::ErrorKind::InvalidRequest
    }
}

/// `{"setting": "auth_ui.primary_color"}` for a refused setting.
fn invalid_details(err: &authservice_domain::ValidationError) -> Option<serde_json::Value> {
    err.setting
        .as_ref()
        .map(|path| serde_json::json!({ "setting": path }))
}
