use async_trait::async_trait;
use authservice_domain::{ClientId, UserId};
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::SealedSecret;

/// A user's TOTP enrolment.
#[derive(Debug, Clone)]
pub struct TotpState {
    pub secret: SealedSecret,
    /// The last accepted time step (a code of that step or earlier is refused).
    pub last_step: Option<u64>,
}

/// Second factors of users: TOTP and recovery codes. Every query is scoped by client.
#[async_trait]
pub trait MfaRepository: Send + Sync {
    /// The user's enabled TOTP, if any.
    ///
    /// # Errors
    /// The store failed.
    async fn totp(&self, client: ClientId, user: UserId) -> anyhow::Result<Option<TotpState>>;

    /// Records `step` as used if it is later than the last used one (one conditional UPDATE);
    /// `false` means the code was already used.
    ///
    /// # Errors
    /// The store failed.
    async fn use_totp_step(
        &self,
        client: ClientId,
        user: UserId,
        step: u64,
    ) -> anyhow::Result<bool>;

    /// `(unused, total)` recovery codes of the user.
    ///
    /// # Errors
    /// The store failed.
    async fn recovery_code_counts(
        &self,
        client: ClientId,
        user: UserId,
    ) -> anyhow::Result<(u32, u32)>;

    /// Uses a recovery code (one conditional UPDATE); `false` when unknown or already used.
    ///
    /// # Errors
    /// The store failed.
    async fn use_recovery_code(
        &self,
        client: ClientId,
        user: UserId,
        hash: &[u8; 32],
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool>;
}

/// RFC 6238 TOTP (SHA-1, 6 digits, 30 s steps).
pub trait TotpEngine: Send + Sync {
    /// The step of `code` for `secret` at `unix_time` with ±1 step of skew, if it matches.
    fn check(&self, secret: &[u8], code: &str, unix_time: u64) -> Option<u64>;

    /// Base32 secret, `otpauth://` URI and a QR code (PNG, base64) of the URI.
    ///
    /// # Errors
    /// The secret is shorter than 128 bits, the account name is empty, or the URI is too long
    /// for a QR code.
    fn provisioning(
        &self,
        secret: &[u8],
        issuer: &str,
        account: &str,
    ) -> anyhow::Result<TotpProvisioning>;
}

#[derive(Clone)]
pub struct TotpProvisioning {
    pub secret_base32: String,
    pub otpauth_url: String,
    pub qr_png_base64: String,
}

impl std::fmt::Debug for TotpProvisioning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret is in all three fields.
        f.write_str("TotpProvisioning([redacted])")
    }
}

/// A stored passkey.
#[derive(Debug, Clone)]
pub struct StoredPasskey {
    pub id: Uuid,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub credential_id: Vec<u8>,
    /// The credential record of the WebAuthn library (opaque here).
    pub passkey: Value,
    pub name: String,
    pub sign_count: u32,
    pub attestation_format: Option<String>,
    pub backed_up: bool,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Passkeys of users; every query is scoped by client.
#[async_trait]
pub trait PasskeyRepository: Send + Sync {
    /// The user's passkeys, oldest first.
    ///
    /// # Errors
    /// The store failed.
    async fn list(&self, client: ClientId, user: UserId) -> anyhow::Result<Vec<StoredPasskey>>;

    /// The passkey of `client` with this credential id, whoever its user.
    ///
    /// # Errors
    /// The store failed.
    async fn find_by_credential(
        &self,
        client: ClientId,
        credential_id: &[u8],
    ) -> anyhow::Result<Option<StoredPasskey>>;

    /// Stores the credential record and counter after a login, only if the stored counter is
    /// still `previous` (a concurrent login with the same counter loses). Returns whether it did.
    ///
    /// # Errors
    /// The store failed.
    async fn record_use(
        &self,
        id: Uuid,
        passkey: &Value,
        previous: u32,
        sign_count: u32,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool>;
}

/// The relying party of a client's passkeys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    pub id: String,
    pub origin: String,
    /// Other origins (of the same site) allowed to run ceremonies.
    pub extra_origins: Vec<String>,
    pub name: String,
    /// `none`, `indirect`, `direct` or `enterprise`.
    pub attestation: String,
}

/// A registration verified by the WebAuthn library.
#[derive(Debug, Clone)]
pub struct RegisteredPasskey {
    pub credential_id: Vec<u8>,
    pub passkey: Value,
    /// The verified attestation format (`none`, `packed`, `tpm`, ...).
    pub attestation_format: String,
    /// The verified attestation type: `None`, `Self_`, `Basic`, `AttCa`, `AnonCa`, ...
    pub attestation_type: String,
    pub backed_up: bool,
    /// The authenticator's signature counter at registration.
    pub counter: u32,
}

/// An assertion verified by the WebAuthn library.
#[derive(Debug, Clone)]
pub struct VerifiedAssertion {
    pub counter: u32,
    /// The credential record with its counter and flags brought up to date.
    pub updated: Value,
}

/// Why a ceremony step was refused (never retried: the ceremony is over).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct WebauthnRefusal(pub String);

impl WebauthnRefusal {
    /// The reason given when an assertion's counter does not move forward (a cloned
    /// authenticator).
    pub const SIGN_COUNT_REGRESSION: &'static str = "sign count went backwards";

    #[must_use]
    pub fn is_sign_count_regression(&self) -> bool {
        self.0.starts_with(Self::SIGN_COUNT_REGRESSION)
    }
}

/// WebAuthn ceremonies (webauthn-rs). Options and responses are the browser's JSON;
/// ceremony states are opaque JSON to keep in the ephemeral store.
pub trait WebauthnEngine: Send + Sync {
    /// Registration options (the credentials of `exclude` excluded) and the ceremony state.
    ///
    /// # Errors
    /// The relying party is unusable (its id does not fit its origin), a stored passkey record
    /// is unreadable, or webauthn-rs refused to start.
    fn start_registration(
        &self,
        rp: &RelyingParty,
        user_handle: Uuid,
        user_name: &str,
        display_name: &str,
        exclude: &[StoredPasskey],
    ) -> anyhow::Result<(Value, Value)>;

    /// Verifies a registration `response` against the ceremony `state`.
    ///
    /// # Errors
    /// The response or state is malformed, the registration does not verify for `rp` (origin,
    /// challenge, attestation), or the relying party is unusable.
    fn finish_registration(
        &self,
        rp: &RelyingParty,
        response: &Value,
        state: &Value,
    ) -> Result<RegisteredPasskey, WebauthnRefusal>;

    /// Options allowing only `credentials` (email-first login, second factor).
    ///
    /// # Errors
    /// The relying party is unusable, a stored passkey record is unreadable, or webauthn-rs
    /// refused to start.
    fn start_authentication(
        &self,
        rp: &RelyingParty,
        credentials: &[StoredPasskey],
    ) -> anyhow::Result<(Value, Value)>;

    /// Options for a discoverable (usernameless) login.
    ///
    /// # Errors
    /// The relying party is unusable (its id does not fit its origin), or webauthn-rs refused
    /// to start.
    fn start_discoverable(&self, rp: &RelyingParty) -> anyhow::Result<(Value, Value)>;

    /// The user handle (when the authenticator sent one) and credential id an assertion
    /// claims (not yet verified).
    ///
    /// # Errors
    /// The credential id is missing, malformed or too long, or the user handle is not a UUID.
    fn identify(&self, response: &Value) -> Result<(Option<Uuid>, Vec<u8>), WebauthnRefusal>;

    /// Verifies an assertion of `credential` against the ceremony `state`; the credential record
    /// comes back with its counter and flags brought up to date.
    ///
    /// # Errors
    /// The response, state or stored record is malformed, the assertion does not verify or is of
    /// another credential, or its counter went backwards (`SIGN_COUNT_REGRESSION`).
    fn finish_authentication(
        &self,
        rp: &RelyingParty,
        response: &Value,
        state: &Value,
        discoverable: bool,
        credential: &StoredPasskey,
    ) -> Result<VerifiedAssertion, WebauthnRefusal>;
}
