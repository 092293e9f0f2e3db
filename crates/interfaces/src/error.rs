//! The error envelope and the one table mapping every [`ErrorKind`] to its HTTP status, gRPC
//! code, stable `code`, `auth_code`, user-facing message and `retryable` flag.
//!
//! 5xx bodies never carry internal text; the full error chain is logged once, with the
//! request id.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use authservice_application::{ErrorKind, UseCaseError};
use serde::Serialize;

tokio::task_local! {
    /// The id of the request being served (set by the request-context middleware).
    pub static REQUEST_ID: String;
}

/// The request id of the current task, if any.
#[must_use]
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct ErrorSpec {
    pub status: StatusCode,
    pub grpc: tonic::Code,
    pub code: &'static str,
    pub auth_code: &'static str,
    pub title: &'static str,
    pub user_message: &'static str,
    pub retryable: bool,
}

/// Builds [`spec`] and [`ALL`] from one row per kind:
/// `Kind status gRPC-code "code" "AUTH_CODE"` then `"title" "user message" retryable`.
macro_rules! table {
    ($($kind:ident $status:literal $grpc:ident $code:literal $auth:literal
        $title:literal $user:literal $retry:literal;)*) => {
        /// The table: every kind's status, gRPC code, stable `code`, `auth_code`, title,
        /// user-facing message and `retryable` flag.
        #[must_use]
        pub fn spec(kind: ErrorKind) -> ErrorSpec {
            match kind {
                $(ErrorKind::$kind => ErrorSpec {
                    status: status($status),
                    grpc: tonic::Code::$grpc,
                    code: $code,
                    auth_code: $auth,
                    title: $title,
                    user_message: $user,
                    retryable: $retry,
                },)*
            }
        }

        /// Every kind, in table order.
        pub const ALL: &[ErrorKind] = &[$(ErrorKind::$kind),*];
    };
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

table! {
    InvalidRequest             400 InvalidArgument    "invalid_request"               "AUTH_INVALID_REQUEST"
        "Invalid request" "Some of the information provided is not valid." false;
    InvalidJson                400 InvalidArgument    "invalid_json"                  "AUTH_INVALID_REQUEST"
        "Malformed JSON body" "The request could not be read." false;
    UnsupportedMediaType       415 InvalidArgument    "unsupported_media_type"        "AUTH_INVALID_REQUEST"
        "Unsupported media type" "The request could not be read." false;
    PayloadTooLarge            413 ResourceExhausted  "payload_too_large"             "AUTH_INVALID_REQUEST"
        "Payload too large" "The request is too large." false;
    RouteNotFound              404 Unimplemented      "not_found"                     "AUTH_NOT_FOUND"
        "Not found" "The requested resource does not exist." false;
    MethodNotAllowed           405 Unimplemented      "method_not_allowed"            "AUTH_METHOD_NOT_ALLOWED"
        "Method not allowed" "This action is not supported here." false;
    ClientNotFound             404 NotFound           "client_not_found"              "AUTH_CLIENT_NOT_FOUND"
        "Client not found" "The application could not be found." false;
    ClientRequired             400 InvalidArgument    "client_required"               "AUTH_CLIENT_REQUIRED"
        "Client required" "Name the client: ?client_id=<client id> or the X-API-Key header." false;
    UserNotFound               404 NotFound           "user_not_found"                "AUTH_USER_NOT_FOUND"
        "User not found" "The account could not be found." false;
    SlugTaken                  409 AlreadyExists      "slug_taken"                    "AUTH_SLUG_TAKEN"
        "Slug already taken" "That identifier is already in use." false;
    Conflict                   409 Aborted            "conflict"                      "AUTH_CONFLICT"
        "Concurrent modification" "Something changed at the same time; please try again." true;
    InvalidCursor              400 InvalidArgument    "invalid_cursor"                "AUTH_INVALID_REQUEST"
        "Invalid cursor" "The page could not be loaded." false;
    MissingApiKey              401 Unauthenticated    "missing_api_key"               "AUTH_MISSING_API_KEY"
        "Missing API key" "This application is not configured correctly." false;
    InvalidApiKey              401 Unauthenticated    "invalid_api_key"               "AUTH_INVALID_API_KEY"
        "Invalid API key" "This application is not configured correctly." false;
    ClientSuspended            403 PermissionDenied   "client_suspended"              "AUTH_CLIENT_SUSPENDED"
        "Client suspended" "This application is currently unavailable." false;
    OriginNotAllowed           403 PermissionDenied   "origin_not_allowed"            "AUTH_ORIGIN_NOT_ALLOWED"
        "Origin not allowed" "This site is not allowed to sign in here." false;
    AdminUnauthorized          401 Unauthenticated    "admin_unauthorized"            "AUTH_ADMIN_UNAUTHORIZED"
        "Admin credentials required" "You are not signed in as an administrator." false;
    Unauthorized               401 Unauthenticated    "unauthorized"                  "AUTH_UNAUTHORIZED"
        "Unauthorized" "You are not signed in." false;
    Forbidden                  403 PermissionDenied   "forbidden"                     "AUTH_FORBIDDEN"
        "Forbidden" "You do not have permission to do this." false;
    RateLimited                429 ResourceExhausted  "rate_limited"                  "AUTH_RATE_LIMITED"
        "Too many requests" "Too many attempts. Please wait and try again." true;
    ServiceUnavailable         503 Unavailable        "service_unavailable"           "AUTH_SERVICE_UNAVAILABLE"
        "Service unavailable" "The service is temporarily unavailable. Please try again." true;
    Internal                   500 Internal           "internal_error"                "AUTH_INTERNAL_ERROR"
        "Internal error" "Something went wrong. Please try again." true;
    EmailTaken                 409 AlreadyExists      "email_taken"                   "AUTH_EMAIL_TAKEN"
        "Email already registered" "An account with this email already exists." false;
    InvalidCredentials         401 Unauthenticated    "invalid_credentials"           "AUTH_INVALID_CREDENTIALS"
        "Invalid credentials" "The email or password is incorrect." false;
    InvalidSetting             422 InvalidArgument    "invalid_setting"               "AUTH_INVALID_REQUEST"
        "Invalid client setting" "Some of the information provided is not valid." false;
    PasswordPolicy             422 InvalidArgument    "password_policy"               "AUTH_PASSWORD_POLICY"
        "Password does not meet the policy" "Please choose a stronger password." false;
    EmailDomainBlocked         422 InvalidArgument    "email_domain_blocked"          "AUTH_EMAIL_DOMAIN_BLOCKED"
        "Email domain not accepted" "Please use a different email address." false;
    ServerBusy                 503 Unavailable        "server_busy"                   "AUTH_SERVER_BUSY"
        "Server busy" "The service is busy. Please try again in a moment." true;
    MissingToken               401 Unauthenticated    "missing_token"                 "AUTH_MISSING_TOKEN"
        "Access token required" "Please sign in." false;
    InvalidToken               401 Unauthenticated    "invalid_token"                 "AUTH_INVALID_TOKEN"
        "Access token does not resolve" "Please sign in again." false;
    MalformedToken             401 Unauthenticated    "malformed_token"               "AUTH_INVALID_TOKEN"
        "Malformed access token" "Please sign in again." false;
    InvalidSignature           401 Unauthenticated    "invalid_signature"             "AUTH_INVALID_TOKEN"
        "Invalid token signature" "Please sign in again." false;
    AlgorithmNotAllowed        401 Unauthenticated    "algorithm_not_allowed"         "AUTH_INVALID_TOKEN"
        "Token algorithm not allowed" "Please sign in again." false;
    UnknownKid                 401 Unauthenticated    "unknown_kid"                   "AUTH_INVALID_TOKEN"
        "Unknown signing key" "Please sign in again." false;
    KeyRetired                 401 Unauthenticated    "key_retired"                   "AUTH_INVALID_TOKEN"
        "Signing key retired" "Please sign in again." false;
    TokenNotYetValid           401 Unauthenticated    "token_not_yet_valid"           "AUTH_INVALID_TOKEN"
        "Token not valid yet" "Please sign in again." false;
    TokenExpired               401 Unauthenticated    "token_expired"                 "AUTH_TOKEN_EXPIRED"
        "Access token expired" "Your session has expired. Please sign in again." true;
    TokenClientMismatch        401 Unauthenticated    "token_client_mismatch"         "AUTH_TOKEN_CLIENT_MISMATCH"
        "Token of another client" "Please sign in again." false;
    RefreshTokenReused         401 Unauthenticated    "refresh_token_reused"          "AUTH_REFRESH_TOKEN_REUSED"
        "Refresh token reused" "Your session has ended. Please sign in again." false;
    InvalidRefreshToken        401 Unauthenticated    "invalid_refresh_token"         "AUTH_INVALID_REFRESH_TOKEN"
        "Invalid refresh token" "Your session has ended. Please sign in again." false;
    AccountDisabled            403 PermissionDenied   "account_disabled"              "AUTH_ACCOUNT_DISABLED"
        "Account disabled" "This account is disabled." false;
    EmailNotVerified           403 PermissionDenied   "email_not_verified"            "AUTH_EMAIL_NOT_VERIFIED"
        "Email not verified" "Please verify your email address first." false;
    AccountLocked              429 ResourceExhausted  "account_locked"                "AUTH_ACCOUNT_LOCKED"
        "Account temporarily locked" "Too many failed sign-in attempts. Please try again later." true;
    InvalidCurrentPassword     403 PermissionDenied   "invalid_current_password"      "AUTH_INVALID_CURRENT_PASSWORD"
        "Current password is incorrect" "Your current password is incorrect." false;
    ReauthenticationRequired   401 Unauthenticated    "reauthentication_required"     "AUTH_REAUTHENTICATION_REQUIRED"
        "Reauthentication required" "Please confirm it's you to continue." false;
    TokenRevoked               401 Unauthenticated    "token_revoked"                 "AUTH_TOKEN_REVOKED"
        "Access token revoked" "Please sign in again." false;
    SessionRevoked             401 Unauthenticated    "session_revoked"               "AUTH_SESSION_ENDED"
        "Session ended" "Your session has ended. Please sign in again." false;
    UserDisabled               401 Unauthenticated    "user_disabled"                 "AUTH_ACCOUNT_DISABLED"
        "User of the token disabled" "This account is disabled." false;
    RefreshTokenNotAccepted    401 Unauthenticated    "refresh_token_not_accepted"    "AUTH_INVALID_TOKEN"
        "Refresh token where an access token belongs" "Please sign in again." false;
    UnknownClient              401 Unauthenticated    "unknown_client"                "AUTH_INVALID_TOKEN"
        "Token of an unknown client" "Please sign in again." false;
    OneTimeTokenInvalid        400 InvalidArgument    "invalid_link"                  "AUTH_INVALID_LINK"
        "Invalid or unknown link token" "This link is not valid. Please request a new one." false;
    OneTimeTokenUsed           400 FailedPrecondition "link_used"                     "AUTH_LINK_USED"
        "Link token already used" "This link has already been used. Please request a new one." false;
    OneTimeTokenExpired        400 FailedPrecondition "link_expired"                  "AUTH_LINK_EXPIRED"
        "Link token expired" "This link has expired. Please request a new one." false;
    OneTimeTokenClientMismatch 400 InvalidArgument    "link_client_mismatch"          "AUTH_LINK_CLIENT_MISMATCH"
        "Link token of another client" "This link is not valid for this application." false;
    TwoFactorChallengeInvalid  401 Unauthenticated    "invalid_two_factor_token"      "AUTH_2FA_TOKEN_INVALID"
        "Unknown or expired sign-in challenge" "Your sign-in attempt has expired. Please sign in again." false;
    InvalidSecondFactorCode    401 Unauthenticated    "invalid_code"                  "AUTH_INVALID_2FA_CODE"
        "Invalid two-factor code" "That code is not valid. Please try again." false;
    SecondFactorCodeReused     401 Unauthenticated    "code_already_used"             "AUTH_2FA_CODE_REUSED"
        "Code already used" "This code has already been used. Please wait for a new one." true;
    TwoFactorAlreadyEnabled    409 FailedPrecondition "totp_already_enabled"          "AUTH_2FA_ALREADY_ENABLED"
        "Two-factor authentication already enabled" "Two-factor authentication is already on." false;
    TwoFactorNotEnabled        409 FailedPrecondition "totp_not_enabled"              "AUTH_2FA_NOT_ENABLED"
        "Two-factor authentication not enabled" "Two-factor authentication is not on." false;
    TotpSetupMissing           400 FailedPrecondition "totp_setup_expired"            "AUTH_2FA_SETUP_EXPIRED"
        "No pending TOTP setup" "The setup has expired. Please start again." false;
    PasskeyVerificationFailed  401 Unauthenticated    "passkey_verification_failed"   "AUTH_PASSKEY_FAILED"
        "Passkey verification failed" "That passkey could not be verified." false;
    PasskeyCeremonyInvalid     400 FailedPrecondition "invalid_passkey_session"       "AUTH_PASSKEY_SESSION_INVALID"
        "Unknown or expired passkey ceremony" "That took too long. Please try again." false;
    PasskeyNotFound            404 NotFound           "passkey_not_found"             "AUTH_PASSKEY_NOT_FOUND"
        "Passkey not found" "That passkey does not exist." false;
    PasskeyAlreadyRegistered   409 AlreadyExists      "passkey_already_registered"    "AUTH_PASSKEY_EXISTS"
        "Passkey already registered" "This passkey is already registered." false;
    PasskeyAttestationRefused  400 FailedPrecondition "attestation_not_allowed"       "AUTH_PASSKEY_ATTESTATION"
        "Authenticator not accepted" "This security key is not accepted here." false;
    PasskeysNotConfigured      409 FailedPrecondition "passkeys_not_configured"       "AUTH_PASSKEYS_NOT_CONFIGURED"
        "Passkeys are not configured" "Passkeys are not available here." false;
    RedirectUriNotAllowed      400 InvalidArgument    "redirect_uri_not_allowed"      "AUTH_REDIRECT_URI_NOT_ALLOWED"
        "Redirect URI not allowed" "This app cannot receive the sign-in. Please contact its owner." false;
    RedirectUriMismatch        400 InvalidArgument    "redirect_uri_mismatch"         "AUTH_REDIRECT_URI_MISMATCH"
        "Redirect URI mismatch" "Please sign in again." false;
    RedirectCodeInvalid        400 InvalidArgument    "invalid_redirect_code"         "AUTH_INVALID_CODE"
        "Invalid redirect code" "Please sign in again." false;
    RedirectCodeClientMismatch 400 InvalidArgument    "redirect_code_client_mismatch" "AUTH_INVALID_CODE"
        "Redirect code of another client" "Please sign in again." false;
    CodeVerifierInvalid        400 InvalidArgument    "invalid_code_verifier"         "AUTH_INVALID_CODE_VERIFIER"
        "Invalid code verifier" "Please sign in again." false;
    EmailAlreadyVerified       409 FailedPrecondition "email_already_verified"        "AUTH_EMAIL_ALREADY_VERIFIED"
        "Email already verified" "Your email address is already verified." false;
    SessionNotFound            404 NotFound           "session_not_found"             "AUTH_SESSION_NOT_FOUND"
        "Session not found" "That session no longer exists." false;
    OrganizationNotFound       404 NotFound           "organization_not_found"        "AUTH_ORGANIZATION_NOT_FOUND"
        "Organization not found" "That organization does not exist." false;
    MemberNotFound             404 NotFound           "member_not_found"              "AUTH_MEMBER_NOT_FOUND"
        "Member not found" "That person is not a member of this organization." false;
    DomainNotFound             404 NotFound           "domain_not_found"              "AUTH_DOMAIN_NOT_FOUND"
        "Domain not found" "That domain is not claimed by this organization." false;
    DomainTaken                409 AlreadyExists      "domain_taken"                  "AUTH_DOMAIN_TAKEN"
        "Domain taken" "That domain is already claimed here or verified by another organization." false;
    DomainNotVerified          422 FailedPrecondition "domain_not_verified"           "AUTH_DOMAIN_NOT_VERIFIED"
        "Domain not verified" "The DNS record was not found yet. Publish it, wait a few minutes, then try again." true;
    DnsUnavailable             503 Unavailable        "dns_unavailable"               "AUTH_DNS_UNAVAILABLE"
        "DNS lookup failed" "The domain could not be checked right now. Try again shortly." true;
    SsoConnectionNotFound      404 NotFound           "sso_connection_not_found"      "AUTH_SSO_CONNECTION_NOT_FOUND"
        "SSO connection not found" "That single sign-on connection does not exist." false;
    ScimDirectoryNotFound      404 NotFound           "scim_directory_not_found"      "AUTH_SCIM_DIRECTORY_NOT_FOUND"
        "SCIM directory not found" "That SCIM directory does not exist." false;
    SsoNotConfigured           404 NotFound           "sso_not_configured"            "AUTH_SSO_NOT_CONFIGURED"
        "SSO not configured" "Single sign-on is not set up for that address. Sign in another way." false;
    SsoConnectionDisabled      403 FailedPrecondition "sso_connection_disabled"       "AUTH_SSO_CONNECTION_DISABLED"
        "SSO connection disabled" "Single sign-on through this connection is turned off." false;
    SsoStateInvalid            400 InvalidArgument    "sso_state_invalid"             "AUTH_SSO_STATE_INVALID"
        "SSO sign-in expired" "This single sign-on attempt expired or began in another browser. Start again." false;
    SsoFailed                  401 Unauthenticated    "sso_failed"                    "AUTH_SSO_FAILED"
        "SSO sign-in failed" "Your identity provider did not confirm the sign-in. Try again or contact your administrator." false;
    IdpUnavailable             502 Unavailable        "idp_unavailable"               "AUTH_IDP_UNAVAILABLE"
        "Identity provider unavailable" "Your identity provider could not be reached. Try again shortly." true;
    SsoAccountConflict         409 AlreadyExists      "sso_account_conflict"          "AUTH_SSO_ACCOUNT_CONFLICT"
        "Account exists" "An account with this email address already exists and cannot be joined to single sign-on. Sign in as before or contact your administrator." false;
    SsoUserNotProvisioned      403 PermissionDenied   "sso_user_not_provisioned"      "AUTH_SSO_USER_NOT_PROVISIONED"
        "No account" "Your organization has not given you an account here yet. Contact your administrator." false;
    SsoRequired                403 PermissionDenied   "sso_required"                  "AUTH_SSO_REQUIRED"
        "Single sign-on required" "Your organization signs you in through its identity provider. Use Sign in with SSO." false;
    SsoTestNotFound            404 NotFound           "sso_test_not_found"            "AUTH_SSO_TEST_NOT_FOUND"
        "Test result not found" "That test sign-in has not finished yet or has expired." false;
    SocialProviderNotFound     404 NotFound           "social_provider_not_found"     "AUTH_SOCIAL_PROVIDER_NOT_FOUND"
        "Provider not available" "Signing in with that provider is not available here." false;
    LastSignInMethod           409 FailedPrecondition "last_sign_in_method"           "AUTH_LAST_SIGN_IN_METHOD"
        "Last way to sign in" "Set a password or add a passkey first: this is your only way to sign in." false;
    LastOwner                  409 FailedPrecondition "last_owner"                    "AUTH_LAST_OWNER"
        "Last owner" "An organization needs at least one owner. Make someone else an owner first." false;
    RoleNotFound               422 InvalidArgument    "role_not_found"                "AUTH_ROLE_NOT_FOUND"
        "Role not found" "That role does not exist in this organization." false;
    AlreadyMember              409 AlreadyExists      "already_member"                "AUTH_ALREADY_MEMBER"
        "Already a member" "This person is already a member of the organization." false;
    InvitationNotFound         404 NotFound           "invitation_not_found"          "AUTH_INVITATION_NOT_FOUND"
        "Invitation not found" "This invitation link is not valid." false;
    InvitationExpired          410 FailedPrecondition "invitation_expired"            "AUTH_INVITATION_EXPIRED"
        "Invitation expired" "This invitation has expired. Ask for a new one." false;
    InvitationRevoked          410 FailedPrecondition "invitation_revoked"            "AUTH_INVITATION_REVOKED"
        "Invitation revoked" "This invitation was withdrawn." false;
    InvitationAlreadyAccepted  409 FailedPrecondition "invitation_already_accepted"   "AUTH_INVITATION_USED"
        "Invitation already accepted" "This invitation has already been used." false;
    InvitationEmailMismatch    403 PermissionDenied   "invitation_email_mismatch"     "AUTH_INVITATION_EMAIL_MISMATCH"
        "Invitation for another address" "This invitation was sent to another email address. Sign in with that address." false;
    MfaRequired                403 PermissionDenied   "mfa_required"                  "AUTH_MFA_REQUIRED"
        "Second factor required" "This organization requires two-step verification. Add an authenticator app or a passkey first." false;
    MembershipEnded            401 Unauthenticated    "membership_ended"              "AUTH_MEMBERSHIP_ENDED"
        "Membership ended" "You are no longer a member of this organization." false;
    MembershipChanged          401 Unauthenticated    "membership_changed"            "AUTH_MEMBERSHIP_CHANGED"
        "Membership changed" "Your role in this organization changed. Please switch to it again." false;
    InvalidPolicy              422 InvalidArgument    "invalid_policy"                "AUTH_INVALID_POLICY"
        "Invalid authorization policy" "The authorization policy is not valid." false;
    PolicyVersionNotFound      404 NotFound           "policy_version_not_found"      "AUTH_POLICY_VERSION_NOT_FOUND"
        "Policy version not found" "That version of the policy does not exist." false;
    GroupMappingNotFound       404 NotFound           "group_mapping_not_found"       "AUTH_GROUP_MAPPING_NOT_FOUND"
        "Group mapping not found" "That group mapping does not exist." false;
    OidcAppNotFound            404 NotFound           "oidc_app_not_found"            "AUTH_OIDC_APP_NOT_FOUND"
        "OIDC application not found" "That application does not exist." false;
    ServiceAccountNotFound     404 NotFound           "service_account_not_found"     "AUTH_SERVICE_ACCOUNT_NOT_FOUND"
        "Service account not found" "That service account does not exist." false;
    ServiceAccountKeyNotFound  404 NotFound           "service_account_key_not_found" "AUTH_SERVICE_ACCOUNT_KEY_NOT_FOUND"
        "Service account key not found" "That key does not exist or is no longer active." false;
    TooManyKeys                409 FailedPrecondition "too_many_keys"                 "AUTH_TOO_MANY_KEYS"
        "Too many keys" "This service account already holds the most keys it may; revoke one first." false;
    ServiceAccountDisabled     401 Unauthenticated    "service_account_disabled"      "AUTH_SERVICE_ACCOUNT_DISABLED"
        "Service account disabled" "This service account is disabled." false;
    OAuthRequestNotFound       404 NotFound           "oauth_request_not_found"       "AUTH_OAUTH_REQUEST_NOT_FOUND"
        "Authorization request not found" "This sign-in request is unknown or has expired; start again from the application." false;
    ConsentNotFound            404 NotFound           "consent_not_found"             "AUTH_CONSENT_NOT_FOUND"
        "Consent not found" "This application is not connected to the account." false;
    AdminUserNotFound          404 NotFound           "admin_user_not_found"          "AUTH_ADMIN_USER_NOT_FOUND"
        "Admin user not found" "That administrator does not exist." false;
    AdminRoleNotFound          404 NotFound           "admin_role_not_found"          "AUTH_ADMIN_ROLE_NOT_FOUND"
        "Admin role not found" "That role does not exist." false;
    TotpRequired               401 Unauthenticated    "totp_required"                 "AUTH_TOTP_REQUIRED"
        "Authenticator code required" "Enter the code from your authenticator app." false;
    EnrollmentTokenInvalid     401 Unauthenticated    "enrollment_token_invalid"      "AUTH_ENROLLMENT_TOKEN_INVALID"
        "Enrolment expired" "This setup has expired; sign in again to start over." false;
    SetupTokenRequired         401 Unauthenticated    "setup_token_required"          "AUTH_SETUP_TOKEN_REQUIRED"
        "Setup code required" "Enter the setup code you were given with your account." false;
    LegalHoldNotFound          404 NotFound           "legal_hold_not_found"          "AUTH_LEGAL_HOLD_NOT_FOUND"
        "Legal hold not found" "That legal hold does not exist or was released." false;
    WebhookNotFound            404 NotFound           "webhook_not_found"             "AUTH_WEBHOOK_NOT_FOUND"
        "Webhook not found" "That webhook endpoint does not exist." false;
    WebhookDeliveryNotFound    404 NotFound           "webhook_delivery_not_found"    "AUTH_WEBHOOK_DELIVERY_NOT_FOUND"
        "Delivery not found" "That webhook delivery does not exist." false;
}

/// The JSON body of every failure.
#[derive(Debug, Serialize)]
pub struct Envelope<'a> {
    pub error: &'a str,
    pub code: &'a str,
    pub message: &'a str,
    pub auth_code: &'a str,
    pub user_message: &'a str,
    pub retryable: bool,
    pub request_id: Option<&'a str>,
    /// Structured detail, e.g. every broken password rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<&'a serde_json::Value>,
}

/// An error on its way to the caller.
#[derive(Debug)]
pub struct ApiError {
    pub kind: ErrorKind,
    /// Developer-facing detail (never internal text for 5xx).
    pub message: String,
    pub retry_after: Option<Duration>,
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    #[must_use]
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after: None,
            details: None,
        }
    }

    /// The envelope JSON for this error.
    #[must_use]
    pub fn body(&self, request_id: Option<&str>) -> String {
        let s = spec(self.kind);
        // A 5xx never carries the detail: it may be internal text.
        let message = if s.status.is_server_error() {
            s.user_message
        } else {
            &self.message
        };
        serde_json::to_string(&Envelope {
            error: s.title,
            code: s.code,
            message,
            auth_code: s.auth_code,
            user_message: s.user_message,
            retryable: s.retryable,
            request_id,
            details: self.details.as_ref(),
        })
        .unwrap_or_default()
    }

    /// As a gRPC status: the message, with `x-error-code` and `x-request-id` metadata.
    #[must_use]
    pub fn to_status(&self, request_id: &str) -> tonic::Status {
        let s = spec(self.kind);
        // As in the REST body: a 5xx never carries the detail (it may be internal text).
        let message = if s.status.is_server_error() {
            s.user_message.to_owned()
        } else {
            self.message.clone()
        };
        let mut status = tonic::Status::new(s.grpc, message);
        let meta = status.metadata_mut();
        if let Ok(v) = s.code.parse() {
            meta.insert("x-error-code", v);
        }
        if let Ok(v) = request_id.parse() {
            meta.insert("x-request-id", v);
        }
        if let Some(after) = self.retry_after
            && let Ok(v) = retry_after_secs(after).to_string().parse()
        {
            meta.insert("retry-after", v);
        }
        status
    }
}

fn retry_after_secs(after: Duration) -> u64 {
    after.as_secs() + u64::from(after.subsec_nanos() > 0)
}

impl<E: UseCaseError> From<E> for ApiError {
    fn from(err: E) -> Self {
        let kind = err.kind();
        let s = spec(kind);
        let message = if s.status.is_server_error() {
            tracing::error!(
                request_id = current_request_id().as_deref().unwrap_or("-"),
                error = %error_chain(&err),
                "request failed"
            );
            s.user_message.to_owned()
        } else {
            err.to_string()
        };
        Self {
            kind,
            message,
            retry_after: err.retry_after(),
            details: err.details(),
        }
    }
}

/// `outer: inner: innermost` for logs.
#[must_use]
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        out.push_str(": ");
        out.push_str(&inner.to_string());
        source = inner.source();
    }
    out
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", spec(self.kind).code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        spec(self.kind).status
    }

    fn error_response(&self) -> HttpResponse {
        let request_id = current_request_id();
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ));
        if let Some(after) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, retry_after_secs(after).to_string()));
        }
        res.body(self.body(request_id.as_deref()))
    }
}

#[cfg(test)]
mod tests;
