//! Enterprise SSO: organizations' connections (read here; written through
//! [`super::UnitOfWork`]) and the OpenID Connect relying party that talks to their IdPs.

use async_trait::async_trait;
use authservice_domain::organization::OrganizationId;
use authservice_domain::sso::{OidcIdp, SsoConnection};
use authservice_domain::{ClientId, UserId};
use secrecy::SecretString;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::pagination::PageRequest;

/// Organizations' SSO connections and the identities they sign in as. Every method is scoped
/// by client.
#[async_trait]
pub trait SsoConnectionRepository: Send + Sync {
    /// One page of the client's connections (of one organization when `org` is given), oldest
    /// first: up to `page.limit + 1` after the cursor.
    ///
    /// # Errors
    /// The store failed.
    async fn list(
        &self,
        client: ClientId,
        org: Option<OrganizationId>,
        page: PageRequest,
    ) -> anyhow::Result<Vec<SsoConnection>>;

    /// Connection `id` of `client`.
    ///
    /// # Errors
    /// The store failed.
    async fn get(&self, client: ClientId, id: Uuid) -> anyhow::Result<Option<SsoConnection>>;

    /// How many connections organization `org` has.
    ///
    /// # Errors
    /// The store failed.
    async fn count(&self, client: ClientId, org: OrganizationId) -> anyhow::Result<usize>;

    /// Whether `client` has any active connection (the hosted login page offers SSO then).
    ///
    /// # Errors
    /// The store failed.
    async fn any_active(&self, client: ClientId) -> anyhow::Result<bool>;

    /// The active connection that routes `domain` for `client`: one that lists it, of the
    /// organization the domain is verified for (the oldest such connection).
    ///
    /// # Errors
    /// The store failed.
    async fn for_domain(
        &self,
        client: ClientId,
        domain: &str,
    ) -> anyhow::Result<Option<SsoConnection>>;

    /// The user identity (`connection`, `external_id`) signs in as.
    ///
    /// # Errors
    /// The store failed.
    async fn identity_user(
        &self,
        client: ClientId,
        connection: Uuid,
        external_id: &str,
    ) -> anyhow::Result<Option<UserId>>;
}

/// What an OpenID Connect sign-in at an IdP starts with.
#[derive(Debug, Clone, Copy)]
pub struct OidcAuthRequest<'a> {
    pub idp: &'a OidcIdp,
    /// This server's callback for the connection.
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    /// The PKCE verifier (its S256 challenge goes to the IdP).
    pub code_verifier: &'a str,
    /// Passed on as `login_hint` (the address the user typed), when known.
    pub login_hint: Option<&'a str>,
}

/// What the IdP's answer is checked with.
#[derive(Clone, Copy)]
pub struct OidcCallback<'a> {
    pub idp: &'a OidcIdp,
    pub client_secret: &'a SecretString,
    pub redirect_uri: &'a str,
    pub code: &'a str,
    pub code_verifier: &'a str,
    pub nonce: &'a str,
}

/// The user an IdP vouched for: the ID token's subject and every claim of the verified token.
#[derive(Debug, Clone)]
pub struct IdpAssertion {
    pub subject: String,
    pub claims: Map<String, Value>,
}

/// Why an IdP exchange failed (the reason is for logs and audit, never shown to the user).
#[derive(Debug, thiserror::Error)]
pub enum IdpError {
    /// The IdP could not be reached, or its discovery document or keys are unusable.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// The IdP refused the code, or its ID token failed a check (signature, issuer, audience,
    /// expiry, nonce).
    #[error("the identity provider's answer was refused: {0}")]
    Refused(String),
}

/// An OpenID Connect relying party (discovery, code + PKCE + nonce, ID token validation).
#[async_trait]
pub trait OidcRelyingParty: Send + Sync {
    /// The IdP's authorization URL for this request (after discovery).
    ///
    /// # Errors
    /// `Unavailable` when discovery fails.
    async fn authorization_url(&self, request: OidcAuthRequest<'_>) -> Result<String, IdpError>;

    /// Exchanges the code (with the PKCE verifier) and validates the ID token: signature by the
    /// IdP's keys, issuer, audience, expiry and nonce.
    ///
    /// # Errors
    /// `Unavailable` (IdP unreachable), `Refused` (a check failed).
    async fn finish(&self, callback: OidcCallback<'_>) -> Result<IdpAssertion, IdpError>;
}
