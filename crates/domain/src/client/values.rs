//! The value objects of a client's fields: name, slug, allowed origins, redirect URIs and the
//! webhook URL. Holding one is proof it parsed.

use super::ValidationError;

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
