//! Managing clients (tenants) and resolving them from API keys.

mod authenticate_client;
mod check_origin;
mod create_client;
mod get_client;
mod list_clients;
mod rotate_api_key;
mod rotate_jwt_secret;
mod signing_keys;
mod update_client;

pub use authenticate_client::{
    AuthenticateClient, AuthenticateClientError, AuthenticateClientInput,
};
pub use check_origin::{CheckOrigin, OriginScope};
pub use create_client::{CreateClient, CreateClientError, CreateClientInput, CreatedClient};
pub use get_client::{GetClient, GetClientError};
pub use list_clients::{ListClients, ListClientsError, ListClientsInput};
pub use rotate_api_key::{RotateApiKey, RotateApiKeyError, RotatedApiKey};
pub use rotate_jwt_secret::{RotateJwtSecret, RotateJwtSecretError, RotatedJwtSecret};
pub use signing_keys::{ManageSigningKeys, RotateSigningKeyInput, SigningKeysError};
pub use update_client::{UpdateClient, UpdateClientError, UpdateClientInput};

use authservice_domain::{ApiKey, Client};
use serde_json::{Value, json};

use secrecy::SecretString;

use crate::ports::Random;

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
