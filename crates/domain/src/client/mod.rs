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

pub use policy::{Attestation, AuthUi, ClientPolicy, ClientSettings, WebauthnPolicy};

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

/// Display name of a client: 1–100 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientName(String);

impl ClientName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(ValidationError::new("name", "must not be empty"));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::new(
                "name",
                "must be at most 100 characters",
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "name",
                "must not contain control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// URL-safe unique handle of a client: 3–63 of `a-z 0-9 -`, starting and ending with a
/// letter or digit, no `--`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let slug = raw.trim();
        let len = slug.len();
        if !(3..=63).contains(&len) {
            return Err(ValidationError::new("slug", "must be 3 to 63 characters"));
        }
        if !slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(ValidationError::new(
                "slug",
                "may contain only lowercase letters, digits and hyphens",
            ));
        }
        if slug.starts_with('-') || slug.ends_with('-') || slug.contains("--") {
            return Err(ValidationError::new(
                "slug",
                "must start and end with a letter or digit and must not contain '--'",
            ));
        }
        Ok(Self(slug.to_owned()))
    }

    /// A slug derived from a name (`"My App!"` → `"my-app"`), used when none is given.
    pub fn from_name(name: &ClientName) -> Result<Self, ValidationError> {
        let mut out = String::new();
        for c in name.as_str().chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        let trimmed: String = out.trim_end_matches('-').chars().take(63).collect();
        Self::parse(trimmed.trim_end_matches('-'))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An exact web origin (`https://app.example.com`, `http://localhost:3000`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AllowedOrigin(String);

impl AllowedOrigin {
    pub const MAX_PER_CLIENT: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        const FIELD: &str = "allowed_origins";
        let raw = raw.trim();
        if raw == "*" {
            return Err(ValidationError::new(
                FIELD,
                "'*' is not allowed; list exact origins",
            ));
        }
        let url = url::Url::parse(raw)
            .map_err(|_| ValidationError::new(FIELD, format!("'{raw}' is not a valid origin")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ValidationError::new(
                FIELD,
                format!("'{raw}' must use http or https"),
            ));
        }
        if url.host().is_none()
            || !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
            || url.path() != "/"
        {
            return Err(ValidationError::new(
                FIELD,
                format!("'{raw}' must be scheme://host[:port] without path, query or credentials"),
            ));
        }
        Ok(Self(url.origin().ascii_serialization()))
    }

    /// Parses a list, removing duplicates and enforcing the per-client maximum.
    pub fn parse_list<S: AsRef<str>>(raw: &[S]) -> Result<Vec<Self>, ValidationError> {
        if raw.len() > Self::MAX_PER_CLIENT {
            return Err(ValidationError::new(
                "allowed_origins",
                "at most 32 origins",
            ));
        }
        let mut out: Vec<Self> = Vec::with_capacity(raw.len());
        for item in raw {
            let origin = Self::parse(item.as_ref())?;
            if !out.contains(&origin) {
                out.push(origin);
            }
        }
        Ok(out)
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a browser `Origin` header value is exactly this origin.
    #[must_use]
    pub fn matches(&self, header_value: &str) -> bool {
        self.0
            .eq_ignore_ascii_case(header_value.trim_end_matches('/'))
    }
}

/// A redirect URI a client registered (`redirect_uris`): where the hosted sign-in may send a
/// one-time `auth_code`. Matched exactly, byte for byte (no prefix or wildcard matching: an
/// open redirect on the app would otherwise receive codes). https, or http on a loopback host
/// (development); absolute, with a host, no credentials, no fragment, at most 2,048 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    pub const MAX_PER_CLIENT: usize = 32;
    /// Bytes; also the bound for the allowed-origin fallback.
    pub const MAX_LEN: usize = 2048;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        const FIELD: &str = "redirect_uris";
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(ValidationError::new(
                FIELD,
                "each must be 1 to 2048 characters",
            ));
        }
        let url = url::Url::parse(raw)
            .map_err(|_| ValidationError::new(FIELD, format!("'{raw}' is not an absolute URL")))?;
        let loopback = matches!(
            url.host(),
            Some(url::Host::Domain("localhost"))
                | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
                | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
        );
        if !(url.scheme() == "https" || (url.scheme() == "http" && loopback)) {
            return Err(ValidationError::new(
                FIELD,
                format!("'{raw}' must use https (http only on localhost, 127.0.0.1 or [::1])"),
            ));
        }
        if url.host().is_none()
            || !url.username().is_empty()
            || url.password().is_some()
            || url.fragment().is_some()
            || raw.contains('#')
        {
            return Err(ValidationError::new(
                FIELD,
                format!("'{raw}' must have a host and no credentials or fragment"),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// Parses a list, removing duplicates and enforcing the per-client maximum.
    pub fn parse_list<S: AsRef<str>>(raw: &[S]) -> Result<Vec<Self>, ValidationError> {
        if raw.len() > Self::MAX_PER_CLIENT {
            return Err(ValidationError::new(
                "redirect_uris",
                "at most 32 redirect URIs",
            ));
        }
        let mut out: Vec<Self> = Vec::with_capacity(raw.len());
        for item in raw {
            let uri = Self::parse(item.as_ref())?;
            if !out.contains(&uri) {
                out.push(uri);
            }
        }
        Ok(out)
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a client's webhooks are delivered: an absolute http(s) URL without credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        const FIELD: &str = "webhook_url";
        let raw = raw.trim();
        if raw.len() > 2048 {
            return Err(ValidationError::new(
                FIELD,
                "must be at most 2048 characters",
            ));
        }
        let url = url::Url::parse(raw)
            .map_err(|_| ValidationError::new(FIELD, "must be an absolute URL"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(ValidationError::new(FIELD, "must be an http or https URL"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ValidationError::new(FIELD, "must not contain credentials"));
        }
        Ok(Self(url.to_string()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
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
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(Slug::parse("my-app").is_ok());
        assert!(Slug::parse("a1b").is_ok());
        for bad in [
            "ab",
            "-abc",
            "abc-",
            "a--b",
            "ABC",
            "a_b",
            "héllo",
            &"a".repeat(64),
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad} accepted");
        }
        let name = ClientName::parse("  My App!! 2 ").unwrap();
        assert_eq!(Slug::from_name(&name).unwrap().as_str(), "my-app-2");
    }

    #[test]
    fn names() {
        assert_eq!(ClientName::parse("  Shop ").unwrap().as_str(), "Shop");
        assert!(ClientName::parse("   ").is_err());
        assert!(ClientName::parse(&"x".repeat(101)).is_err());
        assert!(ClientName::parse("a\u{0007}b").is_err());
    }

    #[test]
    fn origins() {
        assert_eq!(
            AllowedOrigin::parse("https://App.Example.com/")
                .unwrap()
                .as_str(),
            "https://app.example.com"
        );
        assert_eq!(
            AllowedOrigin::parse("http://localhost:3000")
                .unwrap()
                .as_str(),
            "http://localhost:3000"
        );
        assert_eq!(
            AllowedOrigin::parse("https://x.io:443").unwrap().as_str(),
            "https://x.io"
        );
        for bad in [
            "*",
            "ftp://x.io",
            "https://x.io/path",
            "https://u:p@x.io",
            "x.io",
            "https://x.io?q",
        ] {
            assert!(AllowedOrigin::parse(bad).is_err(), "{bad} accepted");
        }
        let list = AllowedOrigin::parse_list(&["https://a.io", "https://a.io/"]).unwrap();
        assert_eq!(list.len(), 1);
        assert!(list[0].matches("https://a.io"));
        assert!(!list[0].matches("https://a.io.evil.com"));
    }

    #[test]
    fn status_and_mode() {
        assert_eq!(
            ClientStatus::parse("suspended").unwrap(),
            ClientStatus::Suspended
        );
        assert!(ClientStatus::parse("deleted").is_err());
        assert_eq!(TokenMode::default(), TokenMode::V2Jwks);
        assert_eq!(TokenMode::parse("v1_hs256").unwrap().as_str(), "v1_hs256");
        for alg in ["ES256", "RS256", "EdDSA"] {
            assert_eq!(SigningAlgorithm::parse(alg).unwrap().as_str(), alg);
        }
        assert!(SigningAlgorithm::parse("HS256").is_err());
        assert!(SigningAlgorithm::parse("none").is_err());
    }
}
