//! Who calls an OAuth endpoint: a service account (its id and an `m2m_…` key) or an OIDC app
//! (`app_…` and its secret), presented by HTTP Basic or in the body. The secret is looked up by
//! its SHA-256 (service accounts) or compared with the stored digest in constant time (apps);
//! failures are counted per IP and audited.
//!
//! The hot path costs no database query: a service-account key found by its secret is cached
//! per replica for [`CACHE_TTL`], and trusted only while its account carries no change marker
//! (disabling it, revoking or rotating one of its keys sets one, seen by every replica through
//! the ephemeral store's invalidation feed) — so a revoked key stops at once everywhere. The
//! failure limit is asked of the shared limiter only for addresses this replica saw fail.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use authservice_domain::oidc_app::{AppType, AuthMethod, OidcApp};
use authservice_domain::secret::{secrets_equal, sha256};
use authservice_domain::service_account::{
    ServiceAccount, ServiceAccountKey, ServiceAccountStatus,
};
use authservice_domain::{Client, EventType};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::OAuthError;
use crate::context::RequestCtx;
use crate::limits::{Limit, Limits, subject};
use crate::ports::{
    AuditLog, ClientAssertions, ClientRepository, Clock, EphemeralStore, OidcAppRepository, Ports,
    ServiceAccountRepository,
};

/// How long a service-account key found by its secret is reused on this replica (while its
/// account has no change marker).
pub const CACHE_TTL: Duration = Duration::from_secs(60);
/// Cache entries at most (emptied when full: a miss costs one query).
const CACHE_CAPACITY: usize = 10_000;

struct CachedKey {
    account: ServiceAccount,
    key: ServiceAccountKey,
    at: Instant,
}

/// How the caller sent its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresentedMethod {
    /// `Authorization: Basic` (`client_secret_basic`).
    Basic,
    /// In the form or JSON body (`client_secret_post`).
    Body,
    /// A `client_id` without a secret (public apps).
    None,
    /// A signed client assertion (RFC 7523, `private_key_jwt`).
    PrivateKeyJwt,
}

/// The credentials as presented.
#[derive(Debug)]
pub struct PresentedClient {
    pub client_id: String,
    pub secret: Option<SecretString>,
    pub method: PresentedMethod,
    /// The `client_assertion` JWT, with `PrivateKeyJwt`.
    pub assertion: Option<SecretString>,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub enum OAuthCaller {
    ServiceAccount {
        account: ServiceAccount,
        key: ServiceAccountKey,
    },
    App(OidcApp),
}

impl OAuthCaller {
    /// What the caller is called in tokens (`azp`) and answers (`client_id`).
    #[must_use]
    pub fn public_id(&self) -> String {
        match self {
            Self::ServiceAccount { account, .. } => account.id.to_string(),
            Self::App(app) => app.public_id.clone(),
        }
    }
}

/// Authenticates the caller of an OAuth endpoint.
pub struct AuthenticateCaller {
    clients: Arc<dyn ClientRepository>,
    accounts: Arc<dyn ServiceAccountRepository>,
    apps: Arc<dyn OidcAppRepository>,
    audit: Arc<dyn AuditLog>,
    limits: Limits,
    clock: Arc<dyn Clock>,
    ephemeral: Arc<dyn EphemeralStore>,
    assertions: Arc<dyn ClientAssertions>,
    base_url: String,
    /// Service-account keys by the SHA-256 of their secret.
    keys: RwLock<HashMap<[u8; 32], CachedKey>>,
    /// Addresses that failed recently on this replica: only they are checked against the
    /// shared failure limit before authenticating.
    suspects: RwLock<HashMap<String, Instant>>,
}

/// Why an authentication failed (audited; the caller only hears `invalid_client`), and the
/// tenant of the app or account it was for, when known (its audit trail gets the event).
struct Refusal(&'static str, Option<authservice_domain::ClientId>);

impl AuthenticateCaller {
    #[must_use]
    pub fn new(ports: &Ports, base_url: &str) -> Self {
        Self {
            clients: ports.clients.clone(),
            accounts: ports.service_accounts.clone(),
            apps: ports.oidc_apps.clone(),
            audit: ports.audit.clone(),
            limits: ports.limits.clone(),
            clock: ports.clock.clone(),
            ephemeral: ports.ephemeral.clone(),
            assertions: ports.client_assertions.clone(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            keys: RwLock::default(),
            suspects: RwLock::default(),
        }
    }

    fn is_suspect(&self, ip: &str) -> bool {
        let window = self.limits.rule(Limit::OAuthClientFailure).window;
        self.suspects
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(ip)
            .is_some_and(|at| at.elapsed() < window)
    }

    fn suspect(&self, ip: &str) {
        let mut map = self.suspects.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= CACHE_CAPACITY {
            map.clear();
        }
        map.insert(ip.to_owned(), Instant::now());
    }

    /// The key whose secret hashes to `hash`, with its account: from the cache while fresh and
    /// unchanged, else from the store.
    async fn key_by_secret(
        &self,
        hash: &[u8; 32],
    ) -> anyhow::Result<Option<(ServiceAccount, ServiceAccountKey)>> {
        let cached = {
            let map = self.keys.read().unwrap_or_else(|p| p.into_inner());
            map.get(hash)
                .filter(|c| c.at.elapsed() < CACHE_TTL)
                .map(|c| (c.account.clone(), c.key.clone()))
        };
        if let Some((account, key)) = cached
            && !self
                .ephemeral
                .exists(&super::account_change_key(account.client_id, account.id))
                .await?
        {
            return Ok(Some((account, key)));
        }
        let found = self.accounts.by_secret(hash).await?;
        let mut map = self.keys.write().unwrap_or_else(|p| p.into_inner());
        match &found {
            Some((account, key)) => {
                if map.len() >= CACHE_CAPACITY {
                    map.clear();
                }
                map.insert(
                    *hash,
                    CachedKey {
                        account: account.clone(),
                        key: key.clone(),
                        at: Instant::now(),
                    },
                );
            }
            None => {
                map.remove(hash);
            }
        }
        Ok(found)
    }

    /// The caller and its tenant. At a tenant's issuer, `tenant` is that client and a caller of
    /// another one is refused as unknown. `allow_public`: a public app may present only its
    /// `client_id` (where the spec lets it: code exchange with PKCE, revoking its own tokens).
    ///
    /// # Errors
    /// `InvalidClient` (unknown, wrong secret, wrong method, revoked or expired key, disabled
    /// account, suspended client, another tenant), `RateLimited` after too many failures from
    /// the address, `Unexpected` when a store fails.
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        tenant: Option<&Client>,
        presented: &PresentedClient,
        allow_public: bool,
    ) -> Result<(Client, OAuthCaller), OAuthError> {
        let ip = subject::ip(ctx);
        if self.is_suspect(&ip)
            && let Err(retry_after) = self.limits.check(Limit::OAuthClientFailure, &ip).await?
        {
            return Err(OAuthError::RateLimited { retry_after });
        }
        match self.identify(tenant, presented, allow_public).await? {
            Ok(found) => Ok(found),
            Err(Refusal(reason, owner)) => {
                self.suspect(&ip);
                if let Err(retry_after) = self.limits.take(Limit::OAuthClientFailure, &ip).await? {
                    return Err(OAuthError::RateLimited { retry_after });
                }
                let mut draft = ctx.audit(EventType::OAuthClientAuthFailed).metadata(json!({
                    "client_id": presented.client_id.chars().take(64).collect::<String>(),
                    "reason": reason,
                }));
                if let Some(client) = tenant.map(|t| t.id).or(owner) {
                    draft = draft.client(client);
                }
                self.audit.record(&draft.at(self.clock.now())).await?;
                Err(OAuthError::invalid_client(
                    "client authentication failed",
                    presented.method == PresentedMethod::Basic,
                ))
            }
        }
    }

    async fn identify(
        &self,
        tenant: Option<&Client>,
        presented: &PresentedClient,
        allow_public: bool,
    ) -> anyhow::Result<Result<(Client, OAuthCaller), Refusal>> {
        let id = presented.client_id.trim();
        let caller = if id.starts_with("app_") {
            match self.app(id, presented, allow_public).await? {
                Ok(app) => OAuthCaller::App(app),
                Err(refusal) => return Ok(Err(refusal)),
            }
        } else {
            match self.service_account(id, presented).await? {
                Ok((account, key)) => OAuthCaller::ServiceAccount { account, key },
                Err(refusal) => return Ok(Err(refusal)),
            }
        };
        let owner = match &caller {
            OAuthCaller::ServiceAccount { account, .. } => account.client_id,
            OAuthCaller::App(app) => app.client_id,
        };
        if tenant.is_some_and(|t| t.id != owner) {
            return Ok(Err(Refusal("other_tenant", None)));
        }
        match self.clients.get_cached(owner).await? {
            Some(client) if client.is_active() => Ok(Ok((client, caller))),
            _ => Ok(Err(Refusal("client_inactive", Some(owner)))),
        }
    }

    async fn service_account(
        &self,
        id: &str,
        presented: &PresentedClient,
    ) -> anyhow::Result<Result<(ServiceAccount, ServiceAccountKey), Refusal>> {
        let Ok(id) = uuid::Uuid::try_parse(id) else {
            return Ok(Err(Refusal("unknown_client_id", None)));
        };
        let Some(secret) = presented
            .secret
            .as_ref()
            .map(ExposeSecret::expose_secret)
            .filter(|s| s.starts_with("m2m_"))
        else {
            return Ok(Err(Refusal("missing_secret", None)));
        };
        let Some((account, key)) = self.key_by_secret(&sha256(secret.as_bytes())).await? else {
            return Ok(Err(Refusal("wrong_secret", None)));
        };
        if account.id != id {
            return Ok(Err(Refusal("wrong_secret", Some(account.client_id))));
        }
        if !key.usable_at(self.clock.now()) {
            return Ok(Err(Refusal(
                if key.revoked_at.is_some() {
                    "key_revoked"
                } else {
                    "key_expired"
                },
                Some(account.client_id),
            )));
        }
        if account.status != ServiceAccountStatus::Active {
            return Ok(Err(Refusal(
                "service_account_disabled",
                Some(account.client_id),
            )));
        }
        Ok(Ok((account, key)))
    }

    async fn app(
        &self,
        id: &str,
        presented: &PresentedClient,
        allow_public: bool,
    ) -> anyhow::Result<Result<OidcApp, Refusal>> {
        let Some((app, hash)) = self.apps.by_public_id(id).await? else {
            return Ok(Err(Refusal("unknown_client_id", None)));
        };
        let expected = match app.auth_method {
            AuthMethod::ClientSecretBasic => PresentedMethod::Basic,
            AuthMethod::ClientSecretPost => PresentedMethod::Body,
            AuthMethod::None => PresentedMethod::None,
            AuthMethod::PrivateKeyJwt => PresentedMethod::PrivateKeyJwt,
        };
        if presented.method != expected {
            return Ok(Err(Refusal("wrong_method", Some(app.client_id))));
        }
        if expected == PresentedMethod::PrivateKeyJwt {
            return self.assertion(app, presented).await;
        }
        if app.app_type == AppType::Public {
            return Ok(if allow_public {
                Ok(app)
            } else {
                Err(Refusal("public_app", Some(app.client_id)))
            });
        }
        let (Some(secret), Some(hash)) = (presented.secret.as_ref(), hash) else {
            return Ok(Err(Refusal("missing_secret", Some(app.client_id))));
        };
        if secrets_equal(&sha256(secret.expose_secret().as_bytes()), &hash) {
            Ok(Ok(app))
        } else {
            Ok(Err(Refusal("wrong_secret", Some(app.client_id))))
        }
    }

    /// `private_key_jwt`: the assertion verifies with the app's keys, names the app's tenant
    /// issuer (or one of its endpoints) as audience, and is used once.
    async fn assertion(
        &self,
        app: OidcApp,
        presented: &PresentedClient,
    ) -> anyhow::Result<Result<OidcApp, Refusal>> {
        let (Some(assertion), Some(jwks)) = (presented.assertion.as_ref(), app.jwks.as_ref())
        else {
            return Ok(Err(Refusal("missing_assertion", Some(app.client_id))));
        };
        let Some(client) = self.clients.get_cached(app.client_id).await? else {
            return Ok(Err(Refusal("client_inactive", Some(app.client_id))));
        };
        let issuer = super::tenant_issuer(&self.base_url, &client);
        let audiences: Vec<String> = ["", "/token", "/introspect", "/revoke"]
            .iter()
            .map(|path| format!("{issuer}{path}"))
            .collect();
        let verified = match self.assertions.verify(
            assertion.expose_secret(),
            jwks,
            &app.public_id,
            &audiences,
        ) {
            Ok(verified) => verified,
            Err(reason) => {
                tracing::debug!(reason, "client assertion refused");
                return Ok(Err(Refusal("bad_assertion", Some(app.client_id))));
            }
        };
        let remaining = u64::try_from(verified.exp - self.clock.now().timestamp()).unwrap_or(0);
        let fresh = self
            .ephemeral
            .put_new(
                &format!("client_assertion:{}:{}", app.public_id, verified.jti),
                Duration::from_secs(remaining + 60),
            )
            .await?;
        Ok(if fresh {
            Ok(app)
        } else {
            Err(Refusal("assertion_replayed", Some(app.client_id)))
        })
    }
}
