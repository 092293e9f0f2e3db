//! Stable error kinds. Every use-case error maps each of its variants to exactly one kind; the
//! interfaces crate maps each kind, once, to an HTTP status, a gRPC code and the envelope fields.

use std::time::Duration;

/// Every failure a caller can observe. The snake_case `code` of each is part of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    InvalidRequest,
    /// A client setting is unknown or its value is not valid (`details.setting` names it).
    InvalidSetting,
    InvalidJson,
    UnsupportedMediaType,
    PayloadTooLarge,
    RouteNotFound,
    MethodNotAllowed,
    ClientNotFound,
    ClientRequired,
    UserNotFound,
    SlugTaken,
    Conflict,
    InvalidCursor,
    MissingApiKey,
    InvalidApiKey,
    ClientSuspended,
    OriginNotAllowed,
    AdminUnauthorized,
    Unauthorized,
    Forbidden,
    RateLimited,
    ServiceUnavailable,
    Internal,
    EmailTaken,
    InvalidCredentials,
    PasswordPolicy,
    EmailDomainBlocked,
    ServerBusy,
    MissingToken,
    /// An access token whose subject or session does not resolve.
    InvalidToken,
    MalformedToken,
    InvalidSignature,
    AlgorithmNotAllowed,
    UnknownKid,
    KeyRetired,
    TokenNotYetValid,
    TokenExpired,
    TokenClientMismatch,
    /// The access token's session ended (logout, revocation, password change, expiry).
    SessionRevoked,
    /// The access token's user is disabled.
    UserDisabled,
    /// A refresh token presented where an access token is expected (`ValidateToken`).
    RefreshTokenNotAccepted,
    /// A token's `client_id` names no client (`ValidateToken` without a key).
    UnknownClient,
    RefreshTokenReused,
    InvalidRefreshToken,
    AccountDisabled,
    EmailNotVerified,
    SessionNotFound,
    AccountLocked,
    InvalidCurrentPassword,
    TokenRevoked,
    /// A sensitive change needs a recent sign-in (`POST /api/auth/reauthenticate`).
    ReauthenticationRequired,
    /// An emailed one-time token (verify, reset, magic link, redirect code) is unknown.
    OneTimeTokenInvalid,
    OneTimeTokenUsed,
    OneTimeTokenExpired,
    OneTimeTokenClientMismatch,
    RedirectUriNotAllowed,
    RedirectUriMismatch,
    /// A redirect code is unknown, used or expired.
    RedirectCodeInvalid,
    /// A redirect code was issued for another client.
    RedirectCodeClientMismatch,
    CodeVerifierInvalid,
    EmailAlreadyVerified,
    TwoFactorChallengeInvalid,
    InvalidSecondFactorCode,
    SecondFactorCodeReused,
    TwoFactorAlreadyEnabled,
    TwoFactorNotEnabled,
    TotpSetupMissing,
    PasskeyVerificationFailed,
    PasskeyCeremonyInvalid,
    PasskeyNotFound,
    PasskeyAlreadyRegistered,
    PasskeyAttestationRefused,
    /// Passkeys need a domain name as relying party id (`BASE_URL` is an IP address and the
    /// client sets no `webauthn_rp_id`).
    PasskeysNotConfigured,
    OrganizationNotFound,
    MemberNotFound,
    DomainNotFound,
    /// The organization claims the domain already, or it is verified for another one.
    DomainTaken,
    /// The domain's TXT record is missing or says something else.
    DomainNotVerified,
    /// No DNS answer (the resolver failed or timed out).
    DnsUnavailable,
    SsoConnectionNotFound,
    ScimDirectoryNotFound,
    /// No active SSO connection routes this domain (or address).
    SsoNotConfigured,
    /// The SSO connection is disabled.
    SsoConnectionDisabled,
    /// The SSO sign-in's state is unknown, expired, used, or began in another browser.
    SsoStateInvalid,
    /// The identity provider refused the sign-in, or its answer failed a check.
    SsoFailed,
    /// The identity provider could not be reached.
    IdpUnavailable,
    /// An account with the IdP's address exists and may not be linked to this identity.
    SsoAccountConflict,
    /// The user is unknown and the connection does not create users.
    SsoUserNotProvisioned,
    /// The address's organization signs its people in through its identity provider only.
    SsoRequired,
    /// No finished test sign-in with that id (not yet, expired, or of another connection).
    SsoTestNotFound,
    /// The client has not configured (or has disabled) that social provider.
    SocialProviderNotFound,
    /// Removing it would leave the account without a way to sign in.
    LastSignInMethod,
    /// The change would leave an organization without an owner.
    LastOwner,
    RoleNotFound,
    AlreadyMember,
    InvitationNotFound,
    InvitationExpired,
    InvitationRevoked,
    InvitationAlreadyAccepted,
    InvitationEmailMismatch,
    /// The organization's policy wants a second factor the member does not have.
    MfaRequired,
    /// An organization token whose membership (or organization) is gone.
    MembershipEnded,
    /// An organization token whose member's role changed since it was issued.
    MembershipChanged,
    /// An organization's authorization policy was refused (`details` say why).
    InvalidPolicy,
    PolicyVersionNotFound,
    GroupMappingNotFound,
    OidcAppNotFound,
    ServiceAccountNotFound,
    ServiceAccountKeyNotFound,
    /// A service account already holds the most keys it may.
    TooManyKeys,
    /// A machine token whose service account was disabled.
    ServiceAccountDisabled,
    /// An OIDC authorization request handle that is unknown or expired.
    OAuthRequestNotFound,
    /// No consent of the user to that app.
    ConsentNotFound,
    AdminUserNotFound,
    AdminRoleNotFound,
    /// An admin sign-in without `totp_code` (TOTP is mandatory for admin users).
    TotpRequired,
    /// An admin TOTP enrolment token that is unknown, used or expired.
    EnrollmentTokenInvalid,
    /// A first admin sign-in (no TOTP yet) without its valid one-time setup token.
    SetupTokenRequired,
    LegalHoldNotFound,
    WebhookNotFound,
    WebhookDeliveryNotFound,
}

/// Implemented by every use-case error.
pub trait UseCaseError: std::error::Error + Send + Sync + 'static {
    fn kind(&self) -> ErrorKind;

    /// For `RateLimited` and `ServiceUnavailable`: when to try again.
    fn retry_after(&self) -> Option<Duration> {
        None
    }

    /// Structured detail for the envelope's `details` field (e.g. every broken password rule).
    fn details(&self) -> Option<serde_json::Value> {
        None
    }
}
