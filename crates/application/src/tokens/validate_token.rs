//! Validate an access token for a sibling service (gRPC `TokenService.ValidateToken`). The
//! answer is always a verdict — `valid`, the claims, or one [`ErrorKind`] whose code (from the
//! one error table) is the stable `error` string: `missing_token`, `refresh_token_not_accepted`,
//! `malformed_token`, `invalid_api_key`, `unknown_client`, `client_suspended`,
//! `token_client_mismatch`, `algorithm_not_allowed`, `unknown_kid`, `key_retired`,
//! `invalid_signature`, `token_expired`, `token_not_yet_valid`, `token_revoked`,
//! `session_revoked` (logout, revocation, password change or reset, refresh reuse, or the
//! session's end), `user_disabled`, `invalid_token` (a subject or session that does not resolve),
//! for organization tokens `membership_ended` (the member was removed or the organization
//! deleted) and `membership_changed` (the member's role changed), and for machine tokens
//! `service_account_disabled` (and `token_revoked` once a key of the account was revoked).
//! App routes refuse the same tokens with the same codes ([`super::TokenRefusal`]).
//!
//! The signature alone does not make a token valid: its `jti` must not be deny-listed, and when
//! the user's sessions changed within an access token's lifetime (a marker in the ephemeral
//! store, one round trip with the `jti` check and cached when absent for a second), its session
//! must still be live and its user active in the database. So a revocation reaches sibling
//! services within about a second, while tokens of untouched users cost no database query.

use authservice_domain::service_account::ServiceAccountStatus;
use authservice_domain::{Client, ClientId, UserId, UserStatus};

use super::{TokenRefusal, is_revoked, membership_key, revoked_key, session_end_key};
use crate::clients::{AuthenticateClientError, AuthenticateClientInput};
use crate::error::ErrorKind;
use crate::ports::{AccessClaims, Ports};

/// The verdict.
#[derive(Debug, Clone)]
pub struct TokenValidation {
    pub claims: Option<AccessClaims>,
    pub error: Option<ErrorKind>,
}

impl TokenValidation {
    fn refused(error: ErrorKind) -> Self {
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
    ) -> anyhow::Result<Option<ErrorKind>> {
        match self.ports.users.get(client, user).await? {
            Some(record) if record.user.status == UserStatus::Active => {}
            Some(_) => return Ok(Some(ErrorKind::UserDisabled)),
            None => return Ok(Some(ErrorKind::InvalidToken)),
        }
        let Ok(session) = uuid::Uuid::parse_str(sid) else {
            return Ok(Some(ErrorKind::InvalidToken));
        };
        let live = self
            .ports
            .sessions
            .is_live(client, user, session, self.ports.clock.now())
            .await?;
        Ok((!live).then_some(ErrorKind::SessionRevoked))
    }

    /// Why an organization token no longer counts: the organization or the membership is gone,
    /// or the member's role is not the one the token names.
    async fn membership_refusal(
        &self,
        client: ClientId,
        user: UserId,
        org: &crate::ports::OrgClaims,
    ) -> anyhow::Result<Option<ErrorKind>> {
        let Ok(id) = uuid::Uuid::parse_str(&org.id) else {
            return Ok(Some(ErrorKind::InvalidToken));
        };
        let id = authservice_domain::organization::OrgRef::Id(
            authservice_domain::organization::OrganizationId::from_uuid(id),
        );
        let Some((organization, Some(member))) =
            self.ports.organizations.find(client, &id, user).await?
        else {
            return Ok(Some(ErrorKind::MembershipEnded));
        };
        if member.role.as_str() != org.role {
            return Ok(Some(ErrorKind::MembershipChanged));
        }
        // The same role may mean more or less now (policy, mappings, groups).
        let now: std::collections::BTreeSet<String> = crate::organizations::grants_of(
            &self.ports,
            &organization,
            &member.role,
            &member.groups,
        )
        .await?
        .into_keys()
        .collect();
        let issued: std::collections::BTreeSet<String> = org.permissions.iter().cloned().collect();
        Ok((now != issued).then_some(ErrorKind::MembershipChanged))
    }

    /// The verdict on a machine token (`client_credentials`): its `jti` must not be
    /// deny-listed, and when its service account changed recently (disabled, a key revoked)
    /// the account must still honour it.
    async fn machine_verdict(
        &self,
        client: ClientId,
        claims: AccessClaims,
    ) -> anyhow::Result<TokenValidation> {
        let account = claims
            .service_account()
            .and_then(|id| uuid::Uuid::parse_str(id).ok());
        let revoked = revoked_key(&claims.jti);
        let markers = match account {
            Some(account) => vec![revoked, crate::oauth::account_change_key(client, account)],
            None => vec![revoked],
        };
        if self.ports.ephemeral.exists_any(&markers).await? {
            if is_revoked(&self.ports, &claims.jti).await? {
                return Ok(TokenValidation::refused(ErrorKind::TokenRevoked));
            }
            if let Some(account) = account {
                match self.ports.service_accounts.get(client, account).await? {
                    None => return Ok(TokenValidation::refused(ErrorKind::InvalidToken)),
                    Some(a) if a.status == ServiceAccountStatus::Disabled => {
                        return Ok(TokenValidation::refused(ErrorKind::ServiceAccountDisabled));
                    }
                    Some(a) if !a.honours_token(claims.iat) => {
                        return Ok(TokenValidation::refused(ErrorKind::TokenRevoked));
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(TokenValidation {
            claims: Some(claims),
            error: None,
        })
    }

    /// # Errors
    /// Only when a dependency fails (the verdict itself is never an error).
    #[tracing::instrument(name = "validate_token", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        access_token: &str,
        api_key: Option<&str>,
    ) -> anyhow::Result<TokenValidation> {
        let token = access_token.trim();
        if token.is_empty() {
            return Ok(TokenValidation::refused(ErrorKind::MissingToken));
        }
        if !token.contains('.') && token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Ok(TokenValidation::refused(ErrorKind::RefreshTokenNotAccepted));
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
                    return Ok(TokenValidation::refused(ErrorKind::ClientSuspended));
                }
                Err(AuthenticateClientError::Unexpected(e)) => return Err(e),
                Err(_) => return Ok(TokenValidation::refused(ErrorKind::InvalidApiKey)),
            },
            None => {
                let Some(id) = claimed_client(token) else {
                    return Ok(TokenValidation::refused(ErrorKind::MalformedToken));
                };
                match self.ports.clients.get_cached(id).await? {
                    Some(client) if client.is_active() => client,
                    Some(_) => return Ok(TokenValidation::refused(ErrorKind::ClientSuspended)),
                    None => return Ok(TokenValidation::refused(ErrorKind::UnknownClient)),
                }
            }
        };
        let claims = match self.ports.tokens.verify(&client, token).await {
            Ok(claims) => claims,
            Err(err) => return Ok(TokenValidation::refused(TokenRefusal::of(err)?.kind())),
        };
        if claims
            .grant
            .as_ref()
            .is_some_and(|g| g.token_use == "client_credentials")
        {
            return self.machine_verdict(client.id, claims).await;
        }
        let Ok(user) = UserId::parse(&claims.sub) else {
            return Ok(TokenValidation::refused(ErrorKind::InvalidToken));
        };
        let plain = [revoked_key(&claims.jti), session_end_key(client.id, user)];
        // Organization tokens also ask about their membership (no extra work for the others).
        let with_org;
        let markers: &[String] = match &claims.org {
            None => &plain,
            Some(org) => {
                with_org = [
                    plain[0].clone(),
                    plain[1].clone(),
                    membership_key(&org.id, Some(&claims.sub)),
                    membership_key(&org.id, None),
                ];
                &with_org
            }
        };
        if self.ports.ephemeral.exists_any(markers).await? {
            if is_revoked(&self.ports, &claims.jti).await? {
                return Ok(TokenValidation::refused(ErrorKind::TokenRevoked));
            }
            if let Some(refusal) = self.session_refusal(client.id, user, &claims.sid).await? {
                return Ok(TokenValidation::refused(refusal));
            }
            if let Some(org) = &claims.org
                && let Some(refusal) = self.membership_refusal(client.id, user, org).await?
            {
                return Ok(TokenValidation::refused(refusal));
            }
        }
        Ok(TokenValidation {
            claims: Some(claims),
            error: None,
        })
    }
}
