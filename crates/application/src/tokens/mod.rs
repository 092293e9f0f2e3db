//! Access tokens for sibling services: validation (gRPC `TokenService`) and revocation by `jti`.

mod revoke_access_token;
mod validate_token;

pub use revoke_access_token::{RevokeAccessToken, RevokeAccessTokenError};
pub use validate_token::{TokenValidation, ValidateToken};

use std::time::Duration;

use authservice_domain::{ClientId, UserId};

use crate::error::ErrorKind;
use crate::ports::{Ports, TokenError};

/// Why an access token does not count: the same cases for app routes (REST, gRPC) and for
/// sibling services (`ValidateToken`), each with its own error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    #[error("access token is malformed")]
    Malformed,
    #[error("access token signature is not valid")]
    BadSignature,
    #[error("access token algorithm is not allowed")]
    AlgorithmNotAllowed,
    #[error("access token was signed with an unknown key")]
    UnknownKey,
    #[error("access token was signed with a retired key")]
    RetiredKey,
    #[error("access token is not valid yet")]
    NotYetValid,
    #[error("access token has expired")]
    Expired,
    #[error("access token belongs to another client")]
    ClientMismatch,
    #[error("access token has been revoked")]
    Revoked,
    #[error("the session of this access token has ended")]
    SessionEnded,
    #[error("the user of this access token is disabled")]
    UserDisabled,
    #[error("access token is not valid")]
    Invalid,
}

impl TokenRefusal {
    #[must_use]
    pub fn kind(self) -> ErrorKind {
        match self {
            Self::Malformed => ErrorKind::MalformedToken,
            Self::BadSignature => ErrorKind::InvalidSignature,
            Self::AlgorithmNotAllowed => ErrorKind::AlgorithmNotAllowed,
            Self::UnknownKey => ErrorKind::UnknownKid,
            Self::RetiredKey => ErrorKind::KeyRetired,
            Self::NotYetValid => ErrorKind::TokenNotYetValid,
            Self::Expired => ErrorKind::TokenExpired,
            Self::ClientMismatch => ErrorKind::TokenClientMismatch,
            Self::Revoked => ErrorKind::TokenRevoked,
            Self::SessionEnded => ErrorKind::SessionRevoked,
            Self::UserDisabled => ErrorKind::UserDisabled,
            Self::Invalid => ErrorKind::InvalidToken,
        }
    }

    /// The refusal a verification error stands for; `Err` for a failure of the service.
    ///
    /// # Errors
    /// `TokenError::Unexpected` (keys could not be loaded).
    pub fn of(err: TokenError) -> Result<Self, anyhow::Error> {
        Ok(match err {
            TokenError::Malformed => Self::Malformed,
            TokenError::BadSignature => Self::BadSignature,
            TokenError::AlgorithmNotAllowed => Self::AlgorithmNotAllowed,
            TokenError::UnknownKey => Self::UnknownKey,
            TokenError::RetiredKey => Self::RetiredKey,
            TokenError::NotYetValid => Self::NotYetValid,
            TokenError::Expired => Self::Expired,
            TokenError::ClientMismatch => Self::ClientMismatch,
            TokenError::Invalid => Self::Invalid,
            TokenError::Unexpected(e) => return Err(e),
        })
    }
}

/// The deny-list key of a revoked `jti`.
fn revoked_key(jti: &str) -> String {
    format!("revoked_jti:{jti}")
}

/// Revocations outlive the token's expiry by this much (clock leeway of verifiers).
pub(crate) const REVOCATION_LEEWAY: Duration = Duration::from_secs(60);

/// Deny-lists access token `jti` for the `remaining` seconds of its life (and the leeway).
pub(crate) async fn deny_list(
    ephemeral: &dyn crate::ports::EphemeralStore,
    jti: &str,
    remaining: u64,
) -> anyhow::Result<()> {
    ephemeral
        .put(
            &revoked_key(jti),
            Duration::from_secs(remaining) + REVOCATION_LEEWAY,
        )
        .await
}

/// Whether the access token `jti` was revoked (and its expiry has not passed yet).
pub(crate) async fn is_revoked(ports: &Ports, jti: &str) -> anyhow::Result<bool> {
    ports.ephemeral.exists(&revoked_key(jti)).await
}

/// The marker "a session of this user ended, or the user was disabled, recently".
fn session_end_key(client: ClientId, user: UserId) -> String {
    format!("session_end:{client}:{user}")
}

/// The marker "a membership in organization `org` ended or changed recently": of one user (a
/// role or group change, a removal), or (`user` = `None`) of everyone (the organization was
/// deleted, or its policy or group mappings changed).
fn membership_key(org: &str, user: Option<&str>) -> String {
    match user {
        Some(user) => format!("org_member:{org}:{user}"),
        None => format!("org_changed:{org}"),
    }
}

/// Tells token validation that what a member of `org` may do changed (`user`: role, groups,
/// removal) or may have changed for everyone (`None`: deletion, policy, group mappings): while
/// the marker lives — as long as an organization token issued before can — `ValidateToken`
/// checks such organization tokens against the database. Every replica sees it within the
/// absence cache's second.
pub(crate) async fn note_membership_change(
    ports: &Ports,
    access_ttl: Duration,
    org: authservice_domain::organization::OrganizationId,
    user: Option<UserId>,
) -> anyhow::Result<()> {
    let user = user.map(|u| u.to_string());
    ports
        .ephemeral
        .put(
            &membership_key(&org.to_string(), user.as_deref()),
            access_ttl + Duration::from_secs(120),
        )
        .await
}

/// Tells token validation that sessions of `user` ended (logout, revocation, password change
/// or reset, refresh-token reuse) or the user was disabled: while the marker lives — as long
/// as an access token issued before the change can (`access_ttl` and two minutes of clock
/// leeway) — `ValidateToken` checks such a user's tokens against the database instead of
/// trusting the signature alone. Every replica sees it within the absence cache's second.
pub(crate) async fn note_session_end(
    ports: &Ports,
    access_ttl: Duration,
    client: ClientId,
    user: UserId,
) -> anyhow::Result<()> {
    ports
        .ephemeral
        .put(
            &session_end_key(client, user),
            access_ttl + Duration::from_secs(120),
        )
        .await
}
