//! Enterprise SSO sign-in: a browser starts at `/api/auth/sso/{connection}` (or finds its
//! connection by email domain), signs in at the organization's IdP, comes back to the
//! connection's callback, and is sent on to the app with a one-time `auth_code` the app
//! exchanges (`redirect/exchange`) for a session — or to the hosted login page.
//!
//! The attempt's state (nonce, PKCE verifier, where to go back) is kept server-side for ten
//! minutes under the SHA-256 of the `state` sent to the IdP, used once, and bound to the browser
//! that began it by a cookie, so a callback URL that leaks (or is forced on a victim) signs
//! nobody in.

pub(crate) mod attempt;
mod identity;
mod sign_in;
mod test_sign_in;
mod unsolicited;

pub use attempt::binding_cookie_name;
pub(crate) use attempt::{app_challenge, return_to, success_location};
pub use sign_in::{CallbackInput, Landed, SsoSignIn, StartInput, Started};
pub(crate) use test_sign_in::{begin as begin_test, result as test_result};

use std::time::Duration;

use crate::error::{ErrorKind, UseCaseError};

/// An address whose organization enforces SSO: the connection to use and where a browser
/// starts it (`403 sso_required` carries both as `details.sso`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoRequired {
    pub connection_id: uuid::Uuid,
    pub url: String,
}

impl SsoRequired {
    /// `{sso: {connection_id, url}}`.
    #[must_use]
    pub fn details(&self) -> serde_json::Value {
        serde_json::json!({
            "sso": { "connection_id": self.connection_id.to_string(), "url": self.url }
        })
    }
}

/// Whether `email` (of `client`) must sign in through SSO: its domain is verified for an
/// organization whose active connection routing it has `enforce_for_domains`. Password login,
/// signup, magic links and password resets ask this first.
///
/// # Errors
/// The store failed.
pub(crate) async fn required_for(
    ports: &crate::ports::Ports,
    base_url: &str,
    client: authservice_domain::ClientId,
    email: &authservice_domain::Email,
) -> anyhow::Result<Option<SsoRequired>> {
    let Some(connection) = ports
        .sso_connections
        .for_domain(client, &authservice_domain::sso::ascii_domain(email))
        .await?
    else {
        return Ok(None);
    };
    Ok(connection.enforce_for_domains.then(|| SsoRequired {
        connection_id: connection.id,
        url: format!(
            "{}/api/auth/sso/{}",
            base_url.trim_end_matches('/'),
            connection.id
        ),
    }))
}

/// The cookie (path `/api/auth/oauth/link`) binding a parked social link to the browser whose
/// social sign-in parked it: a link token sent to someone else's browser completes nothing.
pub const LINK_COOKIE: &str = "authservice_social_link";

/// How long an SSO attempt may take at the IdP.
pub const SSO_STATE_TTL: Duration = Duration::from_secs(600);

/// Why an SSO sign-in stopped. The reason shown (or sent to the app) is the code of
/// [`UseCaseError::kind`] only; the details go to the log and the audit trail.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error(transparent)]
    Invalid(#[from] authservice_domain::ValidationError),
    #[error("no SSO connection for that")]
    NotConfigured,
    #[error("no such SSO connection")]
    ConnectionNotFound,
    #[error("the SSO connection is disabled")]
    ConnectionDisabled,
    #[error("the redirect URI is not registered for this client")]
    RedirectUriNotAllowed,
    #[error("the sign-in attempt is unknown, expired, used or of another browser")]
    StateInvalid,
    #[error("the identity provider refused: {0}")]
    Failed(String),
    #[error("the identity provider is unavailable: {0}")]
    IdpUnavailable(String),
    #[error("an account with this address exists and cannot be linked")]
    AccountConflict,
    /// An account has the address a provider vouched for: its owner signs in their own way,
    /// then completes the link with `link_token` (10 minutes, once).
    #[error("an account with this address exists: it connects the provider after signing in")]
    LinkAfterSignIn {
        link_token: String,
        provider: &'static str,
        /// The value of the cookie binding the link to this browser ([`LINK_COOKIE`]).
        binding: String,
    },
    #[error("the user has no account and the connection does not create them: {0}")]
    NotProvisioned(&'static str),
    #[error("this application is suspended")]
    ClientSuspended,
    #[error("this account is disabled")]
    AccountDisabled,
    #[error("email address is not verified")]
    EmailNotVerified,
    #[error("too many requests")]
    RateLimited { retry_after: Duration },
    #[error("the address's organization signs in through its own IdP")]
    Required(SsoRequired),
    #[error("that social provider is not configured here")]
    ProviderNotFound,
    #[error("a recent sign-in is required")]
    ReauthenticationRequired,
    #[error("this is the account's only way to sign in")]
    LastSignInMethod,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for SsoError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) => ErrorKind::InvalidRequest,
            Self::NotConfigured => ErrorKind::SsoNotConfigured,
            Self::ConnectionNotFound => ErrorKind::SsoConnectionNotFound,
            Self::ConnectionDisabled => ErrorKind::SsoConnectionDisabled,
            Self::RedirectUriNotAllowed => ErrorKind::RedirectUriNotAllowed,
            Self::StateInvalid => ErrorKind::SsoStateInvalid,
            Self::Failed(_) => ErrorKind::SsoFailed,
            Self::IdpUnavailable(_) => ErrorKind::IdpUnavailable,
            Self::AccountConflict | Self::LinkAfterSignIn { .. } => ErrorKind::SsoAccountConflict,
            Self::NotProvisioned(_) => ErrorKind::SsoUserNotProvisioned,
            Self::ClientSuspended => ErrorKind::ClientSuspended,
            Self::AccountDisabled => ErrorKind::AccountDisabled,
            Self::EmailNotVerified => ErrorKind::EmailNotVerified,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::Required(_) => ErrorKind::SsoRequired,
            Self::ProviderNotFound => ErrorKind::SocialProviderNotFound,
            Self::ReauthenticationRequired => ErrorKind::ReauthenticationRequired,
            Self::LastSignInMethod => ErrorKind::LastSignInMethod,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

impl SsoError {
    /// The stable `code` of [`UseCaseError::kind`] (the error table's; a unit test of the
    /// interfaces crate checks they agree), for answers the application itself writes down.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid_request",
            Self::NotConfigured => "sso_not_configured",
            Self::ConnectionNotFound => "sso_connection_not_found",
            Self::ConnectionDisabled => "sso_connection_disabled",
            Self::RedirectUriNotAllowed => "redirect_uri_not_allowed",
            Self::StateInvalid => "sso_state_invalid",
            Self::Failed(_) => "sso_failed",
            Self::IdpUnavailable(_) => "idp_unavailable",
            Self::AccountConflict | Self::LinkAfterSignIn { .. } => "sso_account_conflict",
            Self::NotProvisioned(_) => "sso_user_not_provisioned",
            Self::ClientSuspended => "client_suspended",
            Self::AccountDisabled => "account_disabled",
            Self::EmailNotVerified => "email_not_verified",
            Self::RateLimited { .. } => "rate_limited",
            Self::Required(_) => "sso_required",
            Self::ProviderNotFound => "social_provider_not_found",
            Self::ReauthenticationRequired => "reauthentication_required",
            Self::LastSignInMethod => "last_sign_in_method",
            Self::Unexpected(_) => "internal_error",
        }
    }

    /// The value of the cookie that binds a parked link to the browser of the social sign-in
    /// that parked it.
    #[must_use]
    pub fn link_binding(&self) -> Option<&str> {
        match self {
            Self::LinkAfterSignIn { binding, .. } => Some(binding),
            _ => None,
        }
    }

    /// What the way back carries besides `error` (the pending link's token and provider).
    #[must_use]
    pub fn redirect_params(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::LinkAfterSignIn {
                link_token,
                provider,
                ..
            } => vec![
                ("link_token", link_token.clone()),
                ("provider", (*provider).to_owned()),
            ],
            _ => Vec::new(),
        }
    }

    /// Every variant once (for the table check).
    #[doc(hidden)]
    #[must_use]
    pub fn samples() -> Vec<Self> {
        vec![
            Self::Invalid(authservice_domain::ValidationError::new("x", "y")),
            Self::NotConfigured,
            Self::ConnectionNotFound,
            Self::ConnectionDisabled,
            Self::RedirectUriNotAllowed,
            Self::StateInvalid,
            Self::Failed(String::new()),
            Self::IdpUnavailable(String::new()),
            Self::AccountConflict,
            Self::LinkAfterSignIn {
                link_token: String::new(),
                provider: "",
                binding: String::new(),
            },
            Self::NotProvisioned(""),
            Self::ClientSuspended,
            Self::AccountDisabled,
            Self::EmailNotVerified,
            Self::RateLimited {
                retry_after: Duration::from_secs(1),
            },
            Self::Required(SsoRequired {
                connection_id: uuid::Uuid::nil(),
                url: String::new(),
            }),
            Self::ProviderNotFound,
            Self::ReauthenticationRequired,
            Self::LastSignInMethod,
            Self::Unexpected(anyhow::anyhow!("x")),
        ]
    }

    /// The reason recorded in `sso.login_failed`.
    fn reason(&self) -> String {
        match self {
            Self::Failed(why) | Self::IdpUnavailable(why) => why.chars().take(200).collect(),
            Self::NotProvisioned(why) => (*why).to_owned(),
            other => other.kind_code().to_owned(),
        }
    }

    fn kind_code(&self) -> &'static str {
        match self {
            Self::StateInvalid => "state_invalid",
            Self::AccountConflict | Self::LinkAfterSignIn { .. } => "account_conflict",
            Self::ClientSuspended => "client_suspended",
            Self::AccountDisabled => "account_disabled",
            Self::EmailNotVerified => "email_not_verified",
            Self::ConnectionDisabled => "connection_disabled",
            _ => "refused",
        }
    }
}

impl From<authservice_domain::sign_in::Refusal> for SsoError {
    fn from(refusal: authservice_domain::sign_in::Refusal) -> Self {
        use authservice_domain::sign_in::Refusal;
        match refusal {
            Refusal::ClientSuspended => Self::ClientSuspended,
            Refusal::AccountDisabled => Self::AccountDisabled,
            Refusal::EmailNotVerified => Self::EmailNotVerified,
        }
    }
}

/// Where a failed (or finished) attempt sends the browser: the app's validated redirect URI
/// with its `state`, or — when there is none — the hosted login page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReturnTo {
    pub redirect_uri: Option<String>,
    pub app_state: Option<String>,
}

/// A stopped attempt and where to tell the browser.
#[derive(Debug)]
pub struct SsoFailure {
    pub error: SsoError,
    pub return_to: ReturnTo,
}

impl<E: Into<SsoError>> From<E> for SsoFailure {
    fn from(error: E) -> Self {
        Self {
            error: error.into(),
            return_to: ReturnTo::default(),
        }
    }
}
