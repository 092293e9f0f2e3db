//! `grant_type=client_credentials`: an access token for a service account (or a confidential
//! app allowed the grant) with the scopes requested ∩ allowed. Machine tokens carry `sub` =
//! the account id, `role: service_account`, `token_use: client_credentials`, `scope`, `scopes`,
//! `azp`, `service_account_id` and `service_account_name`; their `iss` is the tenant's issuer.

use std::sync::Arc;
use std::time::Duration;

use authservice_domain::Client;
use authservice_domain::oidc_app::GrantType;
use authservice_domain::service_account::{grant_scopes, split_scope};
use uuid::Uuid;

use super::{OAuthCaller, OAuthError, tenant_issuer};
use crate::ports::{AccessClaims, AccessTokens, Clock, GrantClaims, Ports};

/// What the token endpoint answers (no `Debug`: it holds a token).
pub struct IssuedGrant {
    pub access_token: String,
    pub expires_in: u64,
    pub scopes: Vec<String>,
}

pub struct ClientCredentialsGrant {
    tokens: Arc<dyn AccessTokens>,
    clock: Arc<dyn Clock>,
    base_url: String,
    access_ttl: Duration,
}

impl ClientCredentialsGrant {
    #[must_use]
    pub fn new(ports: &Ports, base_url: &str, access_ttl: Duration) -> Self {
        Self {
            tokens: ports.tokens.clone(),
            clock: ports.clock.clone(),
            base_url: base_url.to_owned(),
            access_ttl,
        }
    }

    /// Issues the token. `scope` is the request's space-separated `scope` parameter.
    ///
    /// # Errors
    /// `UnauthorizedClient` (an app not allowed the grant), `InvalidScope` (nothing of what was
    /// asked is allowed), `Unexpected` when signing fails.
    #[tracing::instrument(name = "client_credentials", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        client: &Client,
        caller: &OAuthCaller,
        scope: Option<&str>,
    ) -> Result<IssuedGrant, OAuthError> {
        let requested = split_scope(scope.unwrap_or_default());
        let (scopes, role, name) = match caller {
            OAuthCaller::ServiceAccount { account, key } => {
                let key_scopes = key.scopes.as_deref().unwrap_or(&account.scopes);
                let granted = grant_scopes(&requested, &[&account.scopes, key_scopes]);
                (
                    granted,
                    "service_account",
                    Some(account.name.as_str().to_owned()),
                )
            }
            OAuthCaller::App(app) => {
                if !app.grant_types.contains(&GrantType::ClientCredentials) {
                    return Err(OAuthError::UnauthorizedClient(
                        "this app may not use the client_credentials grant".into(),
                    ));
                }
                (grant_scopes(&requested, &[&app.scopes]), "app", None)
            }
        };
        let scopes = scopes.ok_or_else(|| {
            OAuthError::InvalidScope(if requested.is_empty() {
                "the caller is allowed no scope".into()
            } else {
                "none of the requested scopes is allowed".into()
            })
        })?;
        let now = self.clock.now();
        let ttl = i64::try_from(self.access_ttl.as_secs()).unwrap_or(900);
        let claims = AccessClaims {
            sub: caller.public_id(),
            iss: tenant_issuer(&self.base_url, client),
            aud: client.id.to_string(),
            iat: now.timestamp(),
            exp: now.timestamp() + ttl,
            jti: Uuid::new_v4().simple().to_string(),
            client_id: client.id.to_string(),
            email: String::new(),
            email_verified: false,
            role: role.to_owned(),
            sid: String::new(),
            auth_time: 0,
            amr: Vec::new(),
            org: None,
            grant: Some(GrantClaims {
                token_use: "client_credentials".to_owned(),
                scopes: scopes.clone(),
                azp: caller.public_id(),
                service_account_name: name,
            }),
        };
        let access_token = self.tokens.sign(client, &claims).await?;
        Ok(IssuedGrant {
            access_token,
            expires_in: self.access_ttl.as_secs(),
            scopes,
        })
    }
}
