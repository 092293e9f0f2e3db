use std::time::Duration;

/// A failure at an OAuth endpoint, in RFC 6749 §5.2 terms (`error`, `error_description`).
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// A parameter is missing, repeated or malformed.
    #[error("{0}")]
    InvalidRequest(String),
    /// The caller could not be authenticated (401; `basic`: it tried HTTP Basic, so the answer
    /// carries `WWW-Authenticate: Basic`).
    #[error("{description}")]
    InvalidClient { description: String, basic: bool },
    #[error("{0}")]
    InvalidGrant(String),
    /// The caller may not use this grant, or act on this token.
    #[error("{0}")]
    UnauthorizedClient(String),
    #[error("{0}")]
    UnsupportedGrantType(String),
    #[error("{0}")]
    UnsupportedTokenType(String),
    #[error("{0}")]
    InvalidScope(String),
    /// Too many failed authentications from this address (429 with `Retry-After`).
    #[error("too many failed client authentications from this address")]
    RateLimited { retry_after: Duration },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl OAuthError {
    /// The RFC 6749 `error` code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient { .. } => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnauthorizedClient(_) => "unauthorized_client",
            Self::UnsupportedGrantType(_) => "unsupported_grant_type",
            Self::UnsupportedTokenType(_) => "unsupported_token_type",
            Self::InvalidScope(_) => "invalid_scope",
            Self::RateLimited { .. } => "temporarily_unavailable",
            Self::Unexpected(_) => "server_error",
        }
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidClient { .. } => 401,
            Self::RateLimited { .. } => 429,
            Self::Unexpected(_) => 500,
            _ => 400,
        }
    }

    /// `error_description` (never secret material; a generic text for server errors).
    #[must_use]
    pub fn description(&self) -> String {
        match self {
            Self::Unexpected(_) => "the server could not complete the request".to_owned(),
            other => other.to_string(),
        }
    }

    /// `invalid_client` with `description`; `basic`: the caller tried HTTP Basic.
    #[must_use]
    pub fn invalid_client(description: impl Into<String>, basic: bool) -> Self {
        Self::InvalidClient {
            description: description.into(),
            basic,
        }
    }
}
