//! JSON shapes of the REST API.

use authservice_application::pagination::Page;
use authservice_domain::{AuditEvent, Client};
use chrono::SecondsFormat;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A client as every admin response shows it (never a secret).
#[derive(Debug, Serialize)]
pub struct ClientDto {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub allowed_origins: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub webhook_url: Option<String>,
    pub settings: Value,
    pub status: &'static str,
    pub token_mode: &'static str,
    pub api_key_prefix: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Client> for ClientDto {
    fn from(c: &Client) -> Self {
        Self {
            id: c.id.to_string(),
            name: c.name.as_str().to_owned(),
            slug: c.slug.as_str().to_owned(),
            allowed_origins: c
                .allowed_origins
                .iter()
                .map(|o| o.as_str().to_owned())
                .collect(),
            redirect_uris: c
                .redirect_uris
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            webhook_url: c.webhook_url.as_ref().map(|w| w.as_str().to_owned()),
            settings: c.settings.to_value(),
            status: c.status.as_str(),
            token_mode: c.token_mode.as_str(),
            api_key_prefix: c.api_key_prefix.clone(),
            created_at: c.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            updated_at: c.updated_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ClientList {
    pub clients: Vec<ClientDto>,
    pub next_cursor: Option<String>,
}

impl From<Page<Client>> for ClientList {
    fn from(page: Page<Client>) -> Self {
        Self {
            clients: page.items.iter().map(ClientDto::from).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AuditEventDto {
    pub id: String,
    pub occurred_at: String,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub event_type: String,
    pub actor_type: &'static str,
    pub actor_id: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub metadata: Value,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl From<AuditEvent> for AuditEventDto {
    fn from(e: AuditEvent) -> Self {
        Self {
            id: e.id.to_string(),
            occurred_at: e.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            client_id: e.client_id.map(|c| c.to_string()),
            user_id: e.user_id.map(|u| u.to_string()),
            event_type: e.event_type,
            actor_type: e.actor_type.as_str(),
            actor_id: e.actor_id,
            target_type: e.target_type,
            target_id: e.target_id,
            request_id: e.request_id,
            ip: e.ip,
            user_agent: e.user_agent,
            metadata: e.metadata,
            before: e.before,
            after: e.after,
        }
    }
}

/// For PATCH fields where `null` means "clear" and absence means "keep".
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A JSON body that may be absent: an empty body is `T::default()`, anything else must parse
/// (a malformed or misspelled body is refused, never read as "nothing").
///
/// # Errors
/// `invalid_json` / `invalid_request` like the JSON extractor.
pub fn optional_json<T: serde::de::DeserializeOwned + Default>(
    body: &[u8],
) -> Result<T, crate::error::ApiError> {
    use authservice_application::ErrorKind;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            crate::error::ApiError::new(ErrorKind::InvalidRequest, e.to_string())
        } else {
            crate::error::ApiError::new(ErrorKind::InvalidJson, format!("malformed JSON: {e}"))
        }
    })
}
