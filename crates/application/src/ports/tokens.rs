use async_trait::async_trait;
use authservice_domain::{Client, SigningAlgorithm};
use serde_json::Value;

/// The claims of an access token (see ARCHITECTURE.md, "Tokens").
#[derive(Debug, Clone, PartialEq)]
pub struct AccessClaims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub client_id: String,
    pub email: String,
    pub email_verified: bool,
    pub role: String,
    /// The session family (login) the token belongs to.
    pub sid: String,
    /// When the user last authenticated in this session (sign-in or re-authentication), Unix
    /// seconds; carried through refreshes unchanged. 0 for tokens from before the claim existed.
    pub auth_time: i64,
    /// How the user signed in to the session (`amr`, RFC 8176: `pwd`, `otp`, `hwk`, `mfa`, …);
    /// empty for machine tokens and tokens from before the claim existed.
    pub amr: Vec<String>,
    /// An organization token's organization and what its member may do there.
    pub org: Option<OrgClaims>,
    /// A token issued by an OAuth grant (`token_use`, `scope`, `azp`, a service account's name).
    pub grant: Option<GrantClaims>,
}

impl AccessClaims {
    /// The service account a machine token was issued to.
    #[must_use]
    pub fn service_account(&self) -> Option<&str> {
        self.grant
            .as_ref()
            .filter(|g| g.service_account_name.is_some())
            .map(|_| self.sub.as_str())
    }
}

/// What an OAuth grant adds to an access token: `token_use` (`client_credentials` for machine
/// tokens, `access` for tokens of a user through an OIDC app), the granted scopes (`scope`,
/// space-separated, and `scopes`), the authorized party (`azp`: the app or service account
/// that asked), and for machine tokens `service_account_id` (= `sub`) and
/// `service_account_name`.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantClaims {
    pub token_use: String,
    pub scopes: Vec<String>,
    pub azp: String,
    pub service_account_name: Option<String>,
}

/// The organization claims (`org_id`, `org_slug`, `org_role`, `org_permissions`): the member's
/// effective permissions when the token was issued.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgClaims {
    pub id: String,
    pub slug: String,
    pub role: String,
    pub permissions: Vec<String>,
}

/// Why a presented access token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token was issued for another client")]
    ClientMismatch,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("signature does not verify")]
    BadSignature,
    #[error("algorithm not allowed for this client")]
    AlgorithmNotAllowed,
    #[error("unknown signing key")]
    UnknownKey,
    #[error("signing key is retired")]
    RetiredKey,
    #[error("token is not valid")]
    Invalid,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A freshly generated signing key, ready to store.
#[derive(Clone)]
pub struct NewSigningKey {
    pub kid: String,
    pub alg: String,
    /// PKCS#8 DER of the private key, sealed with `SecretBox` before it is stored.
    pub private_key_der: Vec<u8>,
    pub public_jwk: Value,
}

impl std::fmt::Debug for NewSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Signs and verifies access tokens with each client's keys (cached; parsed once).
#[async_trait]
pub trait AccessTokens: Send + Sync {
    /// Generates a key pair (ES256, RS256 2048-bit, or Ed25519).
    /// Runs off the async runtime (RSA generation takes a while).
    ///
    /// # Errors
    /// Key generation failed.
    async fn generate_key(&self, algorithm: SigningAlgorithm) -> anyhow::Result<NewSigningKey>;

    /// Signs `claims` with the client's active signing key (`v2_jwks`) or its HS256 secret
    /// (`v1_hs256`).
    ///
    /// # Errors
    /// The client has no active key or secret, the store failed, or the key could not be opened.
    async fn sign(&self, client: &Client, claims: &AccessClaims) -> anyhow::Result<String>;

    /// Signs an OpenID Connect ID token (`claims` as they are, plus `at_hash` of
    /// `access_token` when given, hashed as the key's algorithm requires) with the client's
    /// active asymmetric key. ID tokens are never signed with a shared secret.
    ///
    /// # Errors
    /// The client has no asymmetric key (`v1_hs256`), the store failed, or signing failed.
    async fn sign_id_token(
        &self,
        client: &Client,
        claims: &Value,
        access_token: Option<&str>,
    ) -> anyhow::Result<String>;

    /// The claims of an ID token this service signed for `client` (an `id_token_hint`):
    /// signature by one of the client's keys that still verifies; expiry is NOT checked (a
    /// logout may present an expired hint), the caller checks `iss` and `aud`.
    ///
    /// # Errors
    /// `Malformed`, `BadSignature`, `UnknownKey`, `ClientMismatch`, `RetiredKey`,
    /// `AlgorithmNotAllowed`; `Unexpected` when the keys cannot be loaded.
    async fn verify_id_token(&self, client: &Client, token: &str) -> Result<Value, TokenError>;

    /// Verifies signature, expiry and issuer, and that the token belongs to `client`.
    ///
    /// # Errors
    /// `ClientMismatch` (another client's token), `Expired`, `NotYetValid`, `BadSignature`,
    /// `AlgorithmNotAllowed`, `UnknownKey`, `RetiredKey`; `Malformed`/`Invalid` otherwise;
    /// `Unexpected` when the client's keys cannot be loaded.
    async fn verify(&self, client: &Client, token: &str) -> Result<AccessClaims, TokenError>;

    /// Forgets what is cached for `client` (after a key rotation), on this replica. Other
    /// replicas reload within their cache TTL.
    fn forget_client(&self, client: authservice_domain::ClientId);

    /// Public keys (JWKs) of active clients, or of one client.
    ///
    /// # Errors
    /// The store failed.
    async fn published_keys(
        &self,
        client: Option<authservice_domain::ClientId>,
    ) -> anyhow::Result<Vec<Value>>;
}

/// Password hashing off the async runtime on a bounded pool.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The hashing queue is full: answer 503 with Retry-After.
    #[error("password hashing is saturated")]
    Busy,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// A hash of `password` with a fresh salt, in the configured algorithm and cost.
    ///
    /// # Errors
    /// `Busy` when the hashing queue is full; `Unexpected` when hashing fails.
    async fn hash(&self, password: &str) -> Result<String, HashError>;

    /// Constant-effort check; a malformed hash is `Ok(false)`.
    ///
    /// # Errors
    /// `Busy` when the hashing queue is full; `Unexpected` when the hashing task fails.
    async fn verify(&self, password: &str, hash: &str) -> Result<bool, HashError>;

    /// Spends the same effort as `verify` against a dummy hash (for unknown emails).
    ///
    /// # Errors
    /// `Busy` when the hashing queue is full; `Unexpected` when hashing fails.
    async fn verify_dummy(&self, password: &str) -> Result<(), HashError>;

    /// Whether `hash` is weaker than the configured cost.
    fn needs_rehash(&self, hash: &str) -> bool;
}
