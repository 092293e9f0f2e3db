//! Enterprise SSO: organizations' connections (read here; written through
//! [`super::UnitOfWork`]) and the OpenID Connect relying party that talks to their IdPs.

use async_trait::async_trait;
use authservice_domain::organization::OrganizationId;
use authservice_domain::social::{AppleKey, OAuth2Endpoints, SocialKind};
use authservice_domain::sso::{OidcIdp, SamlIdp, SsoConnection};
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

    /// Connection `id` of whichever client (its public SP metadata names only URLs).
    ///
    /// # Errors
    /// The store failed.
    async fn find(&self, id: Uuid) -> anyhow::Result<Option<SsoConnection>>;

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
    /// Asks for `response_mode=form_post` (Apple).
    pub form_post: bool,
    /// Microsoft's multi-tenant issuer ([`OidcQuirks::multi_tenant`]).
    pub multi_tenant: bool,
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
    /// The provider's rules beyond the standard flow.
    pub quirks: OidcQuirks<'a>,
}

/// What a consumer provider does beyond the standard flow (enterprise connections have none).
#[derive(Debug, Clone, Copy, Default)]
pub struct OidcQuirks<'a> {
    /// Microsoft's multi-tenant endpoints: the discovery document's issuer holds `{tenantid}`
    /// and a token's issuer must be it with the token's `tid`
    /// ([`authservice_domain::social::issuer_matches`]).
    pub multi_tenant: bool,
    /// Apple: the client secret sent is an ES256 JWT signed with this team's key, whose PEM is
    /// `client_secret`.
    pub apple: Option<&'a AppleKey>,
    /// Keep the provider's tokens in [`IdpAssertion::provider_tokens`].
    pub keep_tokens: bool,
}

/// What an OAuth 2.0 provider without OpenID Connect (GitHub, Discord) is asked with.
#[derive(Debug, Clone, Copy)]
pub struct OAuth2AuthRequest<'a> {
    pub kind: SocialKind,
    pub endpoints: &'a OAuth2Endpoints,
    pub client_id: &'a str,
    pub scopes: &'a [String],
    pub redirect_uri: &'a str,
    pub state: &'a str,
    /// The PKCE verifier (its S256 challenge goes to the provider).
    pub code_verifier: &'a str,
}

/// An OAuth 2.0 provider's answer and what it is exchanged with.
#[derive(Clone, Copy)]
pub struct OAuth2Callback<'a> {
    pub kind: SocialKind,
    pub endpoints: &'a OAuth2Endpoints,
    pub client_id: &'a str,
    pub client_secret: &'a SecretString,
    pub redirect_uri: &'a str,
    pub code: &'a str,
    pub code_verifier: &'a str,
    /// Keep the provider's tokens in [`IdpAssertion::provider_tokens`].
    pub keep_tokens: bool,
}

/// A provider speaking OAuth 2.0 and a profile API instead of OpenID Connect: the code
/// exchanged (`client_secret_post`, PKCE), then who the user is — GitHub's `/user` and its
/// verified addresses (`/user/emails`), Discord's `/users/@me` — as claims `email`,
/// `email_verified`, `name`, the provider's user id the subject.
#[async_trait]
pub trait OAuth2Client: Send + Sync {
    /// The provider's authorization URL for this request.
    ///
    /// # Errors
    /// `Unavailable` when the endpoint is unusable.
    async fn authorization_url(&self, request: OAuth2AuthRequest<'_>) -> Result<String, IdpError>;

    /// Exchanges the code and reads the profile.
    ///
    /// # Errors
    /// `Unavailable` (provider unreachable or answering nonsense), `Refused` (the code or
    /// token was refused).
    async fn finish(&self, callback: OAuth2Callback<'_>) -> Result<IdpAssertion, IdpError>;
}

/// The user an IdP vouched for: the ID token's subject and every claim of the verified token.
#[derive(Debug, Clone)]
pub struct IdpAssertion {
    pub subject: String,
    pub claims: Map<String, Value>,
    /// The provider's tokens (`{access_token, refresh_token?, expires_at?, scope?}` as JSON),
    /// only when the provider's configuration keeps them.
    pub provider_tokens: Option<SecretString>,
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

/// What an SP-initiated SAML sign-in starts with.
#[derive(Debug, Clone, Copy)]
pub struct SamlAuthRequest<'a> {
    pub idp: &'a SamlIdp,
    /// This server's entityID for the connection (its metadata URL).
    pub sp_entity_id: &'a str,
    /// The connection's Assertion Consumer Service (HTTP-POST).
    pub acs_url: &'a str,
    /// The AuthnRequest's ID (an NCName); the Response must answer it (`InResponseTo`).
    pub request_id: &'a str,
    /// Sent back by the IdP with the Response.
    pub relay_state: &'a str,
}

/// A posted SAML Response and what it must match.
#[derive(Clone, Copy)]
pub struct SamlResponseCheck<'a> {
    pub idp: &'a SamlIdp,
    pub sp_entity_id: &'a str,
    pub acs_url: &'a str,
    /// The base64 `SAMLResponse` form field.
    pub saml_response: &'a str,
    /// The AuthnRequest it must answer (its `InResponseTo`); `None`: an IdP-initiated
    /// (unsolicited) response, which must answer no request.
    pub request_id: Option<&'a str>,
}

/// The user a SAML IdP vouched for, read only from the signed element.
#[derive(Debug, Clone)]
pub struct SamlAssertion {
    /// The `NameID`.
    pub subject: String,
    /// The Assertion's ID (one use only).
    pub assertion_id: String,
    /// Attributes by name: a single value as a string, several as a list.
    pub attributes: Map<String, Value>,
    /// When the assertion stops being acceptable (the earliest of its limits).
    pub not_on_or_after: Option<chrono::DateTime<chrono::Utc>>,
}

/// A SAML 2.0 service provider (with `samael`): IdP metadata, AuthnRequests over the
/// HTTP-Redirect binding, and Response validation — the signature by one of the IdP's
/// certificates (nothing unsigned), only the signed element read (no signature wrapping),
/// issuer, audience, destination and recipient, validity window, `InResponseTo`.
#[async_trait]
pub trait SamlServiceProvider: Send + Sync {
    /// The IdP described by metadata XML (its entityID, HTTP-Redirect SSO URL and signing
    /// certificates).
    ///
    /// # Errors
    /// Not metadata, or it lacks one of those.
    fn idp_from_metadata(&self, xml: &str) -> Result<SamlIdp, String>;

    /// The IdP described by the metadata at `url` (fetched like every IdP call: https, public,
    /// no redirects, bounded).
    ///
    /// # Errors
    /// `Unavailable` (the fetch failed), `Refused` (not usable metadata).
    async fn idp_from_metadata_url(&self, url: &str) -> Result<SamlIdp, IdpError>;

    /// A PEM certificate as base64 DER.
    ///
    /// # Errors
    /// Not a PEM X.509 certificate.
    fn certificate_from_pem(&self, pem: &str) -> Result<String, String>;

    /// The URL sending the browser to the IdP with the AuthnRequest.
    ///
    /// # Errors
    /// `Refused` when the request cannot be built.
    fn authn_request_url(&self, request: SamlAuthRequest<'_>) -> Result<String, IdpError>;

    /// Validates a posted Response.
    ///
    /// # Errors
    /// `Refused` with the reason (for logs and audit) when any check fails.
    async fn check_response(&self, check: SamlResponseCheck<'_>)
    -> Result<SamlAssertion, IdpError>;

    /// This server's SP metadata for a connection.
    ///
    /// # Errors
    /// It cannot be written.
    fn sp_metadata(&self, sp_entity_id: &str, acs_url: &str) -> Result<String, String>;
}

/// Clients' social providers and the identities they sign in as (written through
/// [`super::UnitOfWork`]). Every method is scoped by client.
#[async_trait]
pub trait SocialProviderRepository: Send + Sync {
    /// The client's configuration of provider `kind`.
    ///
    /// # Errors
    /// The store failed.
    async fn get(
        &self,
        client: ClientId,
        kind: authservice_domain::social::SocialKind,
    ) -> anyhow::Result<Option<authservice_domain::social::SocialProvider>>;

    /// Every provider the client configured.
    ///
    /// # Errors
    /// The store failed.
    async fn list(
        &self,
        client: ClientId,
    ) -> anyhow::Result<Vec<authservice_domain::social::SocialProvider>>;

    /// The user identity (`kind`, `subject`) signs in as.
    ///
    /// # Errors
    /// The store failed.
    async fn identity_user(
        &self,
        client: ClientId,
        kind: authservice_domain::social::SocialKind,
        subject: &str,
    ) -> anyhow::Result<Option<UserId>>;

    /// The providers `user` has an identity at, with when it was linked.
    ///
    /// # Errors
    /// The store failed.
    async fn identities_of(
        &self,
        client: ClientId,
        user: UserId,
    ) -> anyhow::Result<
        Vec<(
            authservice_domain::social::SocialKind,
            chrono::DateTime<chrono::Utc>,
        )>,
    >;

    /// The provider tokens (sealed) kept with `user`'s identity at `kind`, if any.
    ///
    /// # Errors
    /// The store failed.
    async fn sealed_tokens(
        &self,
        client: ClientId,
        user: UserId,
        kind: SocialKind,
    ) -> anyhow::Result<Option<Vec<u8>>>;
}
