//! Validate an access token for a sibling service (gRPC `TokenService.ValidateToken`). The
//! answer is always a verdict — `valid`, the claims, or one stable `error` string:
//! `missing_token`, `refresh_token_not_accepted`, `malformed_token`, `invalid_api_key`,
//! `unknown_client`, `client_suspended`, `token_client_mismatch`, `algorithm_not_allowed`,
//! `unknown_kid`, `key_retired`, `invalid_signature`, `token_expired`, `token_not_yet_valid`,
//! `token_revoked`, `session_revoked` (logout, revocation, password change or reset, refresh
//! reuse, or the session's end), `user_disabled`, `invalid_token`.
//!
//! The signature alone does not make a token valid: its `jti` must not be deny-listed, and when
//! the user's sessions changed within an access token's lifetime (a marker in the ephemeral
//! store, one round trip with the `jti` check and cached when absent for a second), its session
//! must still be live and its user active in the database. So a revocation reaches sibling
//! services within about a second, while tokens of untouched users cost no database query.

use authservice_domain::{Client, ClientId, UserId, UserStatus};

use super::{is_revoked, revoked_key, session_end_key};
use crate::clients::{AuthenticateClientError, AuthenticateClientInput};
use crate::ports::{AccessClaims, Ports, TokenError};

/// The verdict.
#[derive(Debug, Clone)]
pub struct TokenValidation {
    pub claims: Option<AccessClaims>,
    pub error: Option<&'static str>,
}

impl TokenValidation {
    fn refused(error: &'static str) -> Self {
        Self {
            claims: None,
            error: Some(error),
        }
    }

    #[must_use]
    pub fn valid(&self) -> bool {
        self.claims.is_some()
    }
}

pub struct ValidateToken {
    ports: Ports,
    authenticate_client: crate::clients::AuthenticateClient,
}

fn token_error(err: &TokenError) -> &'static str {
    match err {
        TokenError::Malformed => "malformed_token",
        TokenError::ClientMismatch => "token_client_mismatch",
        TokenError::Expired => "token_expired",
        TokenError::NotYetValid => "token_not_yet_valid",
        TokenError::BadSignature => "invalid_signature",
        TokenError::AlgorithmNotAllowed => "algorithm_not_allowed",
        TokenError::UnknownKey => "unknown_kid",
        TokenError::RetiredKey => "key_retired",
        TokenError::Invalid | TokenError::Unexpected(_) => "invalid_token",
    }
}

/// The `client_id` claim, unverified (only to find whose keys to verify with).
fn claimed_client(token: &str) -> Option<ClientId> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    ClientId::parse(value.get("client_id")?.as_str()?).ok()
}

impl ValidateToken {
    #[must_use]
    pub fn new(ports: &Ports, authenticate_client: crate::clients::AuthenticateClient) -> Self {
        Self {
            ports: ports.clone(),
            authenticate_client,
        }
    }

    /// Why a token of `user` in session `sid` no longer counts, asked of the database.
    async fn session_refusal(
        &self,
        client: ClientId,
        user: UserId,
        sid: &str,
    ) -> anyhow::Result<Option<&'static str>> {
        match self.ports.users.get(client, user).await? {
            Some(record) if record.user.status == UserStatus::Active => {}
            Some(_) => return Ok(Some("user_disabled")),
            None => return Ok(Some("invalid_token")),
        }
        let Ok(session) = uuid::Uuid::parse_str(sid) else {
            return Ok(Some("invalid_token"));
        };
        let live = self
            .ports
            .sessions
            .is_live(client, user, session, self.ports.clock.now())
            .await?;
        Ok((!live).then_some("session_revoked"))
    }

    /// # Errors
    /// Only when a dependency fails (the verdict itself is never an error).
    pub async fn execute(
        &self,
        access_token: &str,
        api_key: Option<&str>,
    ) -> anyhow::Result<TokenValidation> {
        let token = access_token.trim();
        if token.is_empty() {
            return Ok(TokenValidation::refused("missing_token"));
        }
        if !token.contains('.') && token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Ok(TokenValidation::refused("refresh_token_not_accepted"));
        }
        let client: Client = match api_key.map(str::trim).filter(|k| !k.is_empty()) {
            Some(key) => match self
                .authenticate_client
                .execute(AuthenticateClientInput {
                    api_key: Some(key),
                    origin: None,
                })
                .await
            {
                Ok(client) => client,
                Err(AuthenticateClientError::Suspended) => {
                    return Ok(TokenValidation::refused("client_suspended"));
                }
                Err(AuthenticateClientError::Unexpected(e)) => return Err(e),
                Err(_) => return Ok(TokenValidation::refused("invalid_api_key")),
            },
            None => {
                let Some(id) = claimed_client(token) else {
                    return Ok(TokenValidation::refused("malformed_token"));
                };
                match self.ports.clients.get_cached(id).await? {
                    Some(client) if client.is_active() => client,
                    Some(_) => return Ok(TokenValidation::refused("client_suspended")),
                    None => return Ok(TokenValidation::refused("unknown_client")),
                }
            }
        };
        let claims = match self.ports.tokens.verify(&client, token).await {
            Ok(claims) => claims,
            Err(TokenError::Unexpected(e)) => return Err(e),
            Err(err) => return Ok(TokenValidation::refused(token_error(&err))),
        };
        let Ok(user) = UserId::parse(&claims.sub) else {
            return Ok(TokenValidation::refused("invalid_token"));
        };
        let markers = [revoked_key(&claims.jti), session_end_key(client.id, user)];
        if self.ports.ephemeral.exists_any(&markers).await? {
            if is_revoked(&self.ports, &claims.jti).await? {
                return Ok(TokenValidation::refused("token_revoked"));
            }
            if let Some(refusal) = self.session_refusal(client.id, user, &claims.sid).await? {
                return Ok(TokenValidation::refused(refusal));
            }
        }
        Ok(TokenValidation {
            claims: Some(claims),
            error: None,
        })
    }
}
