//! The traits adapters implement. Each method documents the errors an adapter must return;
//! anything else is `Unexpected` and reaches the caller as an opaque 500.
#![deny(clippy::missing_errors_doc)]

use std::sync::Arc;

mod admins;
mod audit;
mod client_assertions;
mod clients;
mod consents;
mod crypto;
mod email;
mod ephemeral;
mod health;
mod mfa;
mod oidc_apps;
mod org_domains;
mod organizations;
mod rate_limit;
mod scim;
mod service_accounts;
mod sessions;
mod signing_keys;
mod sso;
mod tokens;
mod unit_of_work;
mod users;
mod webhooks;

pub use admins::{
    AdminCredentials, AdminRepository, AdminSession, AdminWriteError, NewAdminSession, RefreshMatch,
};
pub use audit::{AuditChain, AuditFilter, AuditLog, AuditRetention, LegalHold, PurgeCount};
pub use client_assertions::{ClientAssertions, VerifiedAssertion as VerifiedClientAssertion};
pub use clients::{ClientRepository, ClientWriteError, SealedSigningKey};
pub use consents::{Consent, ConsentRepository};
pub use crypto::{Clock, Random, SealedSecret, SecretBox, SystemClock};
pub use email::{
    ClaimedEmail, ConsumeOutcome, EmailConfigRepository, EmailContent, EmailOutbox, EmailRenderer,
    Mailbox, Mailer, NewOneTimeToken, OneTimeTokenRecord, OneTimeTokenRepository, OutboundEmail,
    OutboxSignal, OutboxStats, PendingEmail, QueuedEmail, RenderedEmail, SendError, SmtpRoute,
    StoredEmailConfig,
};
pub use ephemeral::EphemeralStore;
pub use health::{PoolStats, Probe};
pub use mfa::{
    MfaRepository, PasskeyRepository, RegisteredPasskey, RelyingParty, StoredPasskey, TotpEngine,
    TotpProvisioning, TotpState, VerifiedAssertion, WebauthnEngine, WebauthnRefusal,
};
pub use oidc_apps::OidcAppRepository;
pub use org_domains::{DnsError, DnsResolver, OrgDomainRepository};
pub use organizations::{
    AcceptOutcome, CheckedMember, InvitationRepository, MemberView, OrgAuthorizationRepository,
    OrgWriteError, OrganizationRepository, PolicyVersion,
};
pub use rate_limit::{RateDecision, RateLimiter, RateRule};
pub use scim::{
    GroupPage, GroupRef, ScimDirectoryRepository, ScimGroupRepository, ScimQuery,
    ScimUserRepository, UserPage,
};
pub use service_accounts::ServiceAccountRepository;
pub use sessions::{
    NewSession, PasswordRehash, PresentedToken, SessionGrant, SessionInfo, SessionRepository,
};
pub use signing_keys::{SigningKeyInfo, SigningKeyStore};
pub use sso::{
    IdpAssertion, IdpError, OAuth2AuthRequest, OAuth2Callback, OAuth2Client, OidcAuthRequest,
    OidcCallback, OidcQuirks, OidcRelyingParty, SamlAssertion, SamlAuthRequest, SamlResponseCheck,
    SamlServiceProvider, SocialProviderRepository, SsoConnectionRepository,
};
pub use tokens::{
    AccessClaims, AccessTokens, GrantClaims, HashError, NewSigningKey, OrgClaims, PasswordHasher,
    TokenError,
};
pub use unit_of_work::{Committed, UnitOfWork, Write, Written};
pub use users::{UserFilter, UserRepository, UserWithPassword, UserWriteError};
pub use webhooks::{
    AttemptResult, Delivery, DueDelivery, SendOutcome, StoredEndpoint, WebhookRepository,
    WebhookSender,
};

/// Every adapter the use cases need.
#[derive(Clone)]
pub struct Ports {
    /// Admin users, their sessions and the custom admin roles.
    pub admins: Arc<dyn AdminRepository>,
    pub clients: Arc<dyn ClientRepository>,
    pub users: Arc<dyn UserRepository>,
    pub sessions: Arc<dyn SessionRepository>,
    pub tokens: Arc<dyn AccessTokens>,
    pub signing_keys: Arc<dyn SigningKeyStore>,
    pub passwords: Arc<dyn PasswordHasher>,
    pub audit: Arc<dyn AuditLog>,
    /// Legal holds and retention purges of the audit trail.
    pub audit_retention: Arc<dyn AuditRetention>,
    /// The audit trail's hash chain.
    pub audit_chain: Arc<dyn AuditChain>,
    /// Webhook endpoints and the delivery queue.
    pub webhooks: Arc<dyn WebhookRepository>,
    /// Sends signed webhook messages.
    pub webhook_sender: Arc<dyn WebhookSender>,
    /// Every rate limit, by name ([`crate::limits`]).
    pub limits: crate::limits::Limits,
    pub ephemeral: Arc<dyn EphemeralStore>,
    pub one_time_tokens: Arc<dyn OneTimeTokenRepository>,
    pub outbox: Arc<dyn EmailOutbox>,
    pub outbox_signal: Arc<dyn OutboxSignal>,
    pub email_configs: Arc<dyn EmailConfigRepository>,
    pub email_renderer: Arc<dyn EmailRenderer>,
    pub mailer: Arc<dyn Mailer>,
    pub mfa: Arc<dyn MfaRepository>,
    pub totp: Arc<dyn TotpEngine>,
    pub passkeys: Arc<dyn PasskeyRepository>,
    pub organizations: Arc<dyn OrganizationRepository>,
    pub invitations: Arc<dyn InvitationRepository>,
    pub org_authorization: Arc<dyn OrgAuthorizationRepository>,
    pub org_domains: Arc<dyn OrgDomainRepository>,
    /// DNS lookups (domain verification).
    pub dns: Arc<dyn DnsResolver>,
    pub sso_connections: Arc<dyn SsoConnectionRepository>,
    pub scim_directories: Arc<dyn ScimDirectoryRepository>,
    pub scim_users: Arc<dyn ScimUserRepository>,
    pub scim_groups: Arc<dyn ScimGroupRepository>,
    /// The OpenID Connect relying party (enterprise SSO).
    pub oidc_rp: Arc<dyn OidcRelyingParty>,
    pub social_providers: Arc<dyn SocialProviderRepository>,
    /// OAuth 2.0 providers without OpenID Connect (social sign-in through GitHub, Discord).
    pub oauth2: Arc<dyn OAuth2Client>,
    /// The SAML 2.0 service provider (enterprise SSO).
    pub saml_sp: Arc<dyn SamlServiceProvider>,
    pub oidc_apps: Arc<dyn OidcAppRepository>,
    pub consents: Arc<dyn ConsentRepository>,
    pub service_accounts: Arc<dyn ServiceAccountRepository>,
    pub client_assertions: Arc<dyn ClientAssertions>,
    pub webauthn: Arc<dyn WebauthnEngine>,
    pub secret_box: Arc<dyn SecretBox>,
    /// Writes that span aggregates, in one transaction.
    pub uow: Arc<dyn UnitOfWork>,
    pub random: Arc<dyn Random>,
    pub clock: Arc<dyn Clock>,
    pub probes: Vec<Arc<dyn Probe>>,
}
