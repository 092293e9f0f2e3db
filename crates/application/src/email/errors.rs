//! Why an email flow failed: the link-token refusals and the flows' error, each mapped to
//! one error kind.

#![allow(clippy::wildcard_imports)]

use super::*;

/// Why a presented one-time token was refused (each a stable code).
#[derive(Debug, thiserror::Error)]
pub enum LinkTokenError {
    #[error("the token is not valid")]
    Invalid,
    #[error("the token has already been used")]
    Used,
    #[error("the token has expired")]
    Expired,
    #[error("the token was issued for another client")]
    ClientMismatch,
}

impl LinkTokenError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid => ErrorKind::OneTimeTokenInvalid,
            Self::Used => ErrorKind::OneTimeTokenUsed,
            Self::Expired => ErrorKind::OneTimeTokenExpired,
            Self::ClientMismatch => ErrorKind::OneTimeTokenClientMismatch,
        }
    }
}

/// The error of every email flow.
#[derive(Debug, thiserror::Error)]
pub enum EmailFlowError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Token(#[from] LinkTokenError),
    #[error("too many emails requested; try again later")]
    RateLimited { retry_after: Duration },
    #[error("the email address is already verified")]
    AlreadyVerified,
    #[error("the account is disabled")]
    AccountDisabled,
    #[error("the client is suspended")]
    ClientSuspended,
    #[error("email address is not verified")]
    EmailNotVerified,
    #[error("redirect_uri is not one of the client's registered redirect URIs")]
    RedirectUriNotAllowed,
    #[error("redirect_uri differs from the one the code was issued for")]
    RedirectUriMismatch,
    #[error("code_verifier is missing or does not match the code_challenge")]
    CodeVerifierInvalid,
    #[error("the code was begun in another browser tab (state mismatch)")]
    StateMismatch,
    #[error("the redirect code is not valid (unknown, used or expired)")]
    RedirectCodeInvalid,
    #[error("the redirect code was issued for another client")]
    RedirectCodeClientMismatch,
    #[error("this needs a recent sign-in: re-authenticate first")]
    ReauthenticationRequired,
    #[error("X-API-Key is required")]
    ApiKeyRequired,
    #[error("password does not meet the policy")]
    PasswordPolicy(Vec<authservice_domain::PasswordRule>),
    #[error("server is busy")]
    Busy,
    #[error("this address signs in through its organization's identity provider")]
    SsoRequired(crate::sso::SsoRequired),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for EmailFlowError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) => ErrorKind::InvalidRequest,
            Self::Token(e) => e.kind(),
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::AlreadyVerified => ErrorKind::EmailAlreadyVerified,
            Self::AccountDisabled => ErrorKind::AccountDisabled,
            Self::ClientSuspended => ErrorKind::ClientSuspended,
            Self::EmailNotVerified => ErrorKind::EmailNotVerified,
            Self::RedirectUriNotAllowed => ErrorKind::RedirectUriNotAllowed,
            Self::RedirectUriMismatch => ErrorKind::RedirectUriMismatch,
            Self::CodeVerifierInvalid => ErrorKind::CodeVerifierInvalid,
            Self::StateMismatch => ErrorKind::SsoStateInvalid,
            Self::RedirectCodeInvalid => ErrorKind::RedirectCodeInvalid,
            Self::RedirectCodeClientMismatch => ErrorKind::RedirectCodeClientMismatch,
            Self::ReauthenticationRequired => ErrorKind::ReauthenticationRequired,
            Self::ApiKeyRequired => ErrorKind::MissingApiKey,
            Self::PasswordPolicy(_) => ErrorKind::PasswordPolicy,
            Self::Busy => ErrorKind::ServerBusy,
            Self::SsoRequired(_) => ErrorKind::SsoRequired,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => Some(*retry_after),
            Self::Busy => Some(Duration::from_secs(1)),
            _ => None,
        }
    }

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            Self::PasswordPolicy(rules) => Some(crate::auth::rules_json(rules)),
            Self::SsoRequired(sso) => Some(sso.details()),
            _ => None,
        }
    }
}

impl From<authservice_domain::sign_in::Refusal> for EmailFlowError {
    fn from(refusal: authservice_domain::sign_in::Refusal) -> Self {
        use authservice_domain::sign_in::Refusal;
        match refusal {
            Refusal::ClientSuspended => Self::ClientSuspended,
            Refusal::AccountDisabled => Self::AccountDisabled,
            Refusal::EmailNotVerified => Self::EmailNotVerified,
        }
    }
}

impl From<crate::ports::HashError> for EmailFlowError {
    fn from(err: crate::ports::HashError) -> Self {
        match err {
            crate::ports::HashError::Busy => Self::Busy,
            crate::ports::HashError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}
