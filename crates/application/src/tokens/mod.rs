//! Access tokens for sibling services: validation (gRPC `TokenService`) and revocation by `jti`.

mod revoke_access_token;
mod validate_token;

pub use revoke_access_token::{RevokeAccessToken, RevokeAccessTokenError};
pub use validate_token::{TokenValidation, ValidateToken};

use std::time::Duration;

use authservice_domain::{ClientId, UserId};

use crate::ports::Ports;

/// The deny-list key of a revoked `jti`.
fn revoked_key(jti: &str) -> String {
    format!("revoked_jti:{jti}")
}

/// Whether the access token `jti` was revoked (and its expiry has not passed yet).
pub(crate) async fn is_revoked(ports: &Ports, jti: &str) -> anyhow::Result<bool> {
    ports.ephemeral.exists(&revoked_key(jti)).await
}

/// The marker "a session of this user ended, or the user was disabled, recently".
fn session_end_key(client: ClientId, user: UserId) -> String {
    format!("session_end:{client}:{user}")
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
