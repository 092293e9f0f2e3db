//! Clients (tenants): one per application served by this instance.
//!
//! Rules: a slug is unique and URL-safe; allowed origins are exact `scheme://host[:port]`
//! origins (never `*`); settings are a JSON object of declared keys (see [`policy`]) patched with RFC 7396 merge
//! semantics.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::api_key::ApiKeyHash;

mod policy;
mod values;

pub use policy::{
    Attestation, AuthUi, ClientPolicy, ClientSettings, KEYS as SETTING_KEYS, Kind as SettingKind,
    WebauthnPolicy,
};
pub use values::{AllowedOrigin, ClientName, RedirectUri, Slug, WebhookUrl};

/// A value that failed to parse, with the field it came from and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: &'static str,
    pub message: String,
    /// For a refused client setting: its path (`auth_ui.primary_color`).
    pub setting: Option<String>,
}

impl ValidationError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
            setting: None,
        }
    }

    /// The client setting at `path` is unknown or its value is not valid.
    pub fn setting(path: &str, message: impl std::fmt::Display) -> Self {
        Self {
            field: "settings",
            message: format!("{path}: {message}"),
            setting: Some(path.to_owned()),
        }
    }
}

/// Identifier of a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(Uuid);

impl ClientId {
    #[must_use]
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    /// Parses the textual form used in URLs and gRPC fields.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Uuid::parse_str(raw.trim())
            .map(Self)
            .map_err(|_| ValidationError::new("client_id", "must be a UUID"))
    }

    #[must_use]
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Whether a client may serve requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientStatus {
    Active,
    Suspended,
}

impl ClientStatus {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw {
            "active" => Ok(Self::Active),
            "suspended" => Ok(Self::Suspended),
            _ => Err(ValidationError::new(
                "status",
                "must be 'active' or 'suspended'",
            )),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }
}

/// How a client's access tokens are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenMode {
    /// Legacy: HS256 with the client's shared secret.
    V1Hs256,
    /// Asymmetric keys with `kid`, published at `/.well-known/jwks.json` (default).
    #[default]
    V2Jwks,
}

impl TokenMode {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw {
            "v1_hs256" => Ok(Self::V1Hs256),
            "v2_jwks" => Ok(Self::V2Jwks),
            _ => Err(ValidationError::new(
                "token_mode",
                "must be 'v1_hs256' or 'v2_jwks'",
            )),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1Hs256 => "v1_hs256",
            Self::V2Jwks => "v2_jwks",
        }
    }
}

/// Algorithm of a client's asymmetric signing keys (`v2_jwks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SigningAlgorithm {
    #[default]
    Es256,
    Rs256,
    EdDsa,
}

impl SigningAlgorithm {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim() {
            "ES256" => Ok(Self::Es256),
            "RS256" => Ok(Self::Rs256),
            "EdDSA" => Ok(Self::EdDsa),
            _ => Err(ValidationError::new(
                "signing_algorithm",
                "must be ES256, RS256 or EdDSA",
            )),
        }
    }

    /// The JOSE `alg` name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
            Self::EdDsa => "EdDSA",
        }
    }
}

/// A tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub id: ClientId,
    pub name: ClientName,
    pub slug: Slug,
    pub allowed_origins: Vec<AllowedOrigin>,
    /// Exact URIs a redirect `auth_code` may be sent to (empty: the allowed-origin fallback).
    pub redirect_uris: Vec<RedirectUri>,
    pub webhook_url: Option<WebhookUrl>,
    pub settings: ClientSettings,
    pub status: ClientStatus,
    pub token_mode: TokenMode,
    pub api_key_hash: ApiKeyHash,
    /// First characters of the current API key, for display only.
    pub api_key_prefix: String,
    /// Optimistic-lock counter, incremented by every stored change.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Client {
    /// What the client's settings decide.
    #[must_use]
    pub fn policy(&self) -> &ClientPolicy {
        self.settings.policy()
    }

    #[must_use]
    pub fn is_active(&self) -> bool {
        self.status == ClientStatus::Active
    }

    /// Whether a browser `Origin` is one of this client's allowed origins.
    #[must_use]
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o.matches(origin))
    }

    /// Whether a redirect `auth_code` may be sent to `uri`: exactly one of the registered
    /// `redirect_uris`. A client that registered none falls back to the older rule — an
    /// http(s) URI on one of its allowed origins or on `extra_origin` (the server's own).
    #[must_use]
    pub fn accepts_redirect_uri(&self, uri: &str, extra_origin: &str) -> bool {
        if uri.len() > RedirectUri::MAX_LEN {
            return false;
        }
        if !self.redirect_uris.is_empty() {
            return self.redirect_uris.iter().any(|r| r.as_str() == uri);
        }
        url::Url::parse(uri).is_ok_and(|url| {
            let origin = url.origin().ascii_serialization();
            matches!(url.scheme(), "http" | "https")
                && url.fragment().is_none()
                && url.username().is_empty()
                && url.password().is_none()
                && (self.allows_origin(&origin) || origin == extra_origin)
        })
    }

    /// Applies a validated patch. Returns whether anything changed.
    pub fn apply(
        &mut self,
        patch: ClientPatch,
        now: DateTime<Utc>,
    ) -> Result<bool, ValidationError> {
        let before = self.clone();
        if let Some(name) = patch.name {
            self.name = name;
        }
        if let Some(slug) = patch.slug {
            self.slug = slug;
        }
        if let Some(origins) = patch.allowed_origins {
            self.allowed_origins = origins;
        }
        if let Some(uris) = patch.redirect_uris {
            self.redirect_uris = uris;
        }
        if let Some(webhook) = patch.webhook_url {
            self.webhook_url = webhook;
        }
        if let Some(settings_patch) = patch.settings {
            self.settings = self.settings.merge(&settings_patch)?;
        }
        if let Some(status) = patch.status {
            self.status = status;
        }
        if let Some(mode) = patch.token_mode {
            self.token_mode = mode;
        }
        let changed = *self != before;
        if changed {
            self.updated_at = now;
        }
        Ok(changed)
    }
}

/// A validated partial update of a client. `webhook_url: Some(None)` clears the webhook;
/// `settings` is an RFC 7396 merge patch.
#[derive(Debug, Clone, Default)]
pub struct ClientPatch {
    pub name: Option<ClientName>,
    pub slug: Option<Slug>,
    pub allowed_origins: Option<Vec<AllowedOrigin>>,
    pub redirect_uris: Option<Vec<RedirectUri>>,
    pub webhook_url: Option<Option<WebhookUrl>>,
    pub settings: Option<Value>,
    pub status: Option<ClientStatus>,
    pub token_mode: Option<TokenMode>,
}

impl ClientPatch {
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.slug.is_none()
            && self.allowed_origins.is_none()
            && self.redirect_uris.is_none()
            && self.webhook_url.is_none()
            && self.settings.is_none()
            && self.status.is_none()
            && self.token_mode.is_none()
    }
}

#[cfg(test)]
mod tests;
