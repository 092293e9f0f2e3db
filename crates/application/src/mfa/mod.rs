//! Second factors and passwordless sign-in: TOTP, recovery codes, passkeys (WebAuthn), and the
//! login challenge that a password login answers when the user has a second factor.
//!
//! A challenge is a random token (kept as its SHA-256 in the ephemeral store for 5 minutes,
//! bound to its client and user) that one correct factor turns into a session. It dies after 5
//! wrong codes.

mod challenge;
mod passkeys;
mod recovery;
mod totp;

pub use challenge::{
    CodeFactor, CompleteChallenge, FirstFactor, TwoFactorChallenge, start_challenge,
};
pub use passkeys::{BeginPasskeyLogin, ManagePasskeys, PasskeyCeremony, PasskeyLogin, PasskeyView};
pub use recovery::{ManageRecoveryCodes, RecoveryCodeStatus};
pub(crate) use totp::check_code as check_totp_code;
pub use totp::{DisableTotpInput, ManageTotp, TotpEnabled, TotpSetup};

use std::time::Duration;

use authservice_domain::secret::{hex, sha256};
use authservice_domain::{UserId, ValidationError};

use crate::error::{ErrorKind, UseCaseError};
use crate::ports::{HashError, Ports, WebauthnRefusal};

/// How long a login challenge, a TOTP setup and a passkey ceremony live.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(5 * 60);
pub const TOTP_SETUP_TTL: Duration = Duration::from_secs(10 * 60);
pub const CEREMONY_TTL: Duration = Duration::from_secs(5 * 60);
/// Recovery codes per set.
pub const RECOVERY_CODES: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("the sign-in attempt is unknown or has expired; sign in again")]
    ChallengeInvalid,
    #[error("the code is not valid")]
    WrongCode,
    #[error("this code has already been used; wait for the next one")]
    CodeReused,
    #[error("two-factor authentication is already enabled")]
    AlreadyEnabled,
    #[error("two-factor authentication is not enabled")]
    NotEnabled,
    #[error("no pending TOTP setup; start again with /totp/setup")]
    SetupMissing,
    #[error("the password is incorrect")]
    WrongPassword,
    #[error("too many attempts; try again later")]
    RateLimited { retry_after: Duration },
    #[error("the account is disabled")]
    AccountDisabled,
    #[error("email address is not verified")]
    EmailNotVerified,
    #[error("the client is suspended")]
    ClientSuspended,
    #[error("passkey verification failed: {0}")]
    PasskeyRefused(String),
    #[error("the passkey ceremony is unknown or has expired; start again")]
    CeremonyInvalid,
    #[error("passkey not found")]
    PasskeyNotFound,
    #[error("this passkey is already registered")]
    PasskeyExists,
    #[error("the authenticator's attestation is not accepted: {0}")]
    AttestationRefused(String),
    #[error(
        "passkeys need a domain name: set the client's webauthn_rp_id (the server's address is an IP address)"
    )]
    PasskeysNotConfigured,
    #[error("server is busy")]
    Busy,
    #[error("this change needs a recent sign-in: re-authenticate first")]
    ReauthenticationRequired,
    #[error("this address signs in through its organization's identity provider")]
    SsoRequired(crate::sso::SsoRequired),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for MfaError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) => ErrorKind::InvalidRequest,
            Self::ChallengeInvalid => ErrorKind::TwoFactorChallengeInvalid,
            Self::WrongCode => ErrorKind::InvalidSecondFactorCode,
            Self::CodeReused => ErrorKind::SecondFactorCodeReused,
            Self::AlreadyEnabled => ErrorKind::TwoFactorAlreadyEnabled,
            Self::NotEnabled => ErrorKind::TwoFactorNotEnabled,
            Self::SetupMissing => ErrorKind::TotpSetupMissing,
            Self::WrongPassword => ErrorKind::InvalidCurrentPassword,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::AccountDisabled => ErrorKind::AccountDisabled,
            Self::EmailNotVerified => ErrorKind::EmailNotVerified,
            Self::ClientSuspended => ErrorKind::ClientSuspended,
            Self::PasskeyRefused(_) => ErrorKind::PasskeyVerificationFailed,
            Self::CeremonyInvalid => ErrorKind::PasskeyCeremonyInvalid,
            Self::PasskeyNotFound => ErrorKind::PasskeyNotFound,
            Self::PasskeyExists => ErrorKind::PasskeyAlreadyRegistered,
            Self::AttestationRefused(_) => ErrorKind::PasskeyAttestationRefused,
            Self::PasskeysNotConfigured => ErrorKind::PasskeysNotConfigured,
            Self::Busy => ErrorKind::ServerBusy,
            Self::ReauthenticationRequired => ErrorKind::ReauthenticationRequired,
            Self::SsoRequired(_) => ErrorKind::SsoRequired,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            Self::SsoRequired(sso) => Some(sso.details()),
            _ => None,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => Some(*retry_after),
            Self::Busy => Some(Duration::from_secs(1)),
            _ => None,
        }
    }
}

/// Adding a second factor, removing a passkey or replacing recovery codes needs a recent
/// authentication: a stolen access token alone must not be able to plant the attacker's own
/// factor (which would survive every password reset) or remove the user's.
pub(crate) fn require_recent_auth(
    ports: &Ports,
    config: &crate::auth::AuthConfig,
    caller: &crate::auth::AuthenticatedUser,
) -> Result<(), MfaError> {
    if crate::auth::recently_authenticated(config, &caller.claims, ports.clock.now()) {
        Ok(())
    } else {
        Err(MfaError::ReauthenticationRequired)
    }
}

impl From<authservice_domain::sign_in::Refusal> for MfaError {
    fn from(refusal: authservice_domain::sign_in::Refusal) -> Self {
        use authservice_domain::sign_in::Refusal;
        match refusal {
            Refusal::ClientSuspended => Self::ClientSuspended,
            Refusal::AccountDisabled => Self::AccountDisabled,
            Refusal::EmailNotVerified => Self::EmailNotVerified,
        }
    }
}

impl From<HashError> for MfaError {
    fn from(err: HashError) -> Self {
        match err {
            HashError::Busy => Self::Busy,
            HashError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

impl From<WebauthnRefusal> for MfaError {
    fn from(err: WebauthnRefusal) -> Self {
        Self::PasskeyRefused(err.0)
    }
}

/// Crockford's base32 alphabet (no i, l, o, u).
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A fresh set of recovery codes (`xxxxx-xxxxx`, 50 bits each) and their digests.
fn new_recovery_codes(ports: &Ports, user: UserId) -> (Vec<String>, Vec<[u8; 32]>) {
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    let mut hashes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let bytes = ports.random.bytes32();
        let chars: String = bytes[..10]
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
            .collect();
        let code = format!("{}-{}", &chars[..5], &chars[5..]);
        hashes.push(recovery_digest(ports, user, &chars));
        codes.push(code);
    }
    (codes, hashes)
}

/// A presented recovery code, normalised (case, dashes, spaces, Crockford look-alikes).
fn normalise_recovery_code(raw: &str) -> Option<String> {
    let code: String = raw
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            other => other,
        })
        .collect();
    (code.len() == 10 && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// The stored digest of a recovery code: HMAC under a key derived from ENCRYPTION_KEY (50-bit
/// codes must not be brute-forceable from a database dump), salted by the user.
fn recovery_digest(ports: &Ports, user: UserId, normalised: &str) -> [u8; 32] {
    ports
        .secret_box
        .keyed_digest("recovery_code", format!("{user}:{normalised}").as_bytes())
}

/// Ephemeral-store key of a token (only its digest is stored).
fn token_key(prefix: &str, token: &str) -> String {
    format!("{prefix}:{}", hex(&sha256(token.as_bytes())))
}

/// A 256-bit random token as hex.
fn new_token(ports: &Ports) -> String {
    hex(&ports.random.bytes32())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_normalise() {
        assert_eq!(
            normalise_recovery_code("ABCDE-FGH1O").as_deref(),
            Some("abcdefgh10")
        );
        assert_eq!(
            normalise_recovery_code("abcde fghiL").as_deref(),
            Some("abcdefgh11")
        );
        assert!(normalise_recovery_code("abc").is_none());
        assert!(normalise_recovery_code("abcde-fghu!").is_none());
    }
}
