//! Access tokens for sibling services: validation (gRPC `TokenService`) and revocation by `jti`.

mod revoke_access_token;
mod validate_token;

pub use revoke_access_token::{RevokeAccessToken, RevokeAccessTokenError};
pub use validate_token::{TokenValidation, ValidateToken};

use crate::ports::Ports;

/// The deny-list key of a revoked `jti`.
fn revoked_key(jti: &str) -> String {
    format!("revoked_jti:{jti}")
}

/// Whether the access token `jti` was revoked (and its expiry has not passed yet).
pub(crate) async fn is_revoked(ports: &Ports, jti: &str) -> anyhow::Result<bool> {
    ports.ephemeral.exists(&revoked_key(jti)).await
}
