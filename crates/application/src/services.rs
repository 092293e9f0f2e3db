//! Wiring: the ports the use cases share, and the bundle of use cases the interfaces call.

use authservice_domain::AllowedOrigin;
use secrecy::SecretString;

use crate::organizations::{
    IssueOrgToken, ManageAuthorization, ManageInvitations, ManageMembers, ManageOrganizations,
    OperateOrganizations,
};

use crate::admin::{AdminAuthConfig, AdminPorts, AdminSignIn, AuthenticateAdmin, ManageAdmins};
use crate::audit::{ListAuditEvents, RecordAudit};
use crate::auth::{
    AuthConfig, AuthenticateUser, ChangePassword, Login, Logout, ManageSessions, PublishJwks,
    PurgeExpiredSessions, Reauthenticate, RefreshSession, Signup, UpdateProfile,
};
use crate::clients::{
    AuthenticateClient, CheckOrigin, CreateClient, GetClient, ListClients, ManageSigningKeys,
    RotateApiKey, RotateJwtSecret, UpdateClient,
};
use crate::email::{
    DeliverOutbox, ExchangeRedirectCode, ForgotPassword, IssueRedirectCode, MailConfig,
    ManageEmailConfig, ResendVerification, ResetPassword, SendMagicLink, VerifyEmail,
    VerifyMagicLink,
};
use crate::health::CheckReadiness;
use crate::mfa::{
    CompleteChallenge, ManagePasskeys, ManageRecoveryCodes, ManageTotp, PasskeyLogin,
};
use crate::ports::Ports;
use crate::tokens::{RevokeAccessToken, ValidateToken};
use crate::users::ManageUser;

/// Static configuration some use cases need.
#[derive(Clone)]
pub struct UseCaseConfig {
    pub admin_api_key: SecretString,
    /// Lifetimes of admin users' sessions.
    pub admin_auth: AdminAuthConfig,
    /// Operators' sign-in through their identity provider (`ADMIN_OIDC_*`), when configured.
    pub admin_sso: Option<crate::admin::AdminSsoConfig>,
    /// `AUDIT_RETENTION_DAYS`: how long audit events are kept before a purge may remove them.
    pub audit_retention: std::time::Duration,
    /// `ALLOW_ORIGIN`: origins allowed for every client and for the admin API.
    pub global_origins: Vec<AllowedOrigin>,
    pub auth: AuthConfig,
    pub mail: MailConfig,
    /// `ALLOW_INSECURE_IDP_URLS`: SSO IdPs on http and loopback or private hosts (development
    /// and tests only).
    pub allow_insecure_idp_urls: bool,
    /// What webhook endpoints may target.
    pub webhooks: crate::webhooks::WebhookSettings,
    /// How webhook deliveries are retried.
    pub webhook_delivery: crate::webhooks::DeliveryConfig,
}

/// All use cases, built once at startup and shared by REST and gRPC.
pub struct Services {
    pub authenticate_admin: AuthenticateAdmin,
    pub admin_sign_in: AdminSignIn,
    pub audit_retention: crate::audit::ManageRetention,
    pub verify_audit_chain: crate::audit::VerifyAuditChain,
    pub seal_audit_chain: crate::audit::SealAuditChain,
    pub webhooks: crate::webhooks::ManageWebhooks,
    pub deliver_webhooks: crate::webhooks::DeliverWebhooks,
    pub manage_admins: ManageAdmins,
    pub authenticate_client: AuthenticateClient,
    pub check_origin: CheckOrigin,
    pub create_client: CreateClient,
    pub get_client: GetClient,
    pub list_clients: ListClients,
    pub update_client: UpdateClient,
    pub rotate_api_key: RotateApiKey,
    pub rotate_jwt_secret: RotateJwtSecret,
    pub list_audit_events: ListAuditEvents,
    pub record_audit: RecordAudit,
    pub check_readiness: CheckReadiness,
    pub signup: Signup,
    pub login: Login,
    pub refresh_session: RefreshSession,
    pub logout: Logout,
    pub authenticate_user: AuthenticateUser,
    pub publish_jwks: PublishJwks,
    pub update_profile: UpdateProfile,
    pub change_password: ChangePassword,
    pub sessions: ManageSessions,
    pub purge_sessions: PurgeExpiredSessions,
    pub signing_keys: ManageSigningKeys,
    pub validate_token: ValidateToken,
    pub revoke_access_token: RevokeAccessToken,
    pub verify_email: VerifyEmail,
    pub resend_verification: ResendVerification,
    pub forgot_password: ForgotPassword,
    pub reset_password: ResetPassword,
    pub send_magic_link: SendMagicLink,
    pub verify_magic_link: VerifyMagicLink,
    pub exchange_redirect_code: ExchangeRedirectCode,
    pub issue_redirect_code: IssueRedirectCode,
    pub email_config: ManageEmailConfig,
    pub deliver_outbox: DeliverOutbox,
    pub totp: ManageTotp,
    pub recovery_codes: ManageRecoveryCodes,
    pub complete_challenge: CompleteChallenge,
    pub passkeys: ManagePasskeys,
    pub passkey_login: PasskeyLogin,
    pub manage_user: ManageUser,
    pub reauthenticate: Reauthenticate,
    pub organizations: ManageOrganizations,
    pub members: ManageMembers,
    pub org_audit_events: crate::organizations::OrgAuditEvents,
    pub invitations: ManageInvitations,
    pub org_token: IssueOrgToken,
    pub org_authorization: ManageAuthorization,
    pub operate_organizations: OperateOrganizations,
    pub domains: crate::organizations::ManageDomains,
    pub sso_connections: crate::organizations::ManageSsoConnections,
    pub scim_directories: crate::organizations::ManageScimDirectories,
    pub scim: crate::scim::Scim,
    pub sso_sign_in: crate::sso::SsoSignIn,
    pub social_providers: crate::social::ManageSocialProviders,
    pub social_sign_in: crate::social::SocialSignIn,
    pub connected_accounts: crate::social::ConnectedAccounts,
    pub oidc_apps: crate::oidc::ManageOidcApps,
    pub service_accounts: crate::oauth::ManageServiceAccounts,
    pub oauth_caller: crate::oauth::AuthenticateCaller,
    pub client_credentials: crate::oauth::ClientCredentialsGrant,
    pub introspect: crate::oauth::Introspect,
    pub revoke_token: crate::oauth::RevokeToken,
    pub tenant_issuer: crate::oauth::TenantIssuer,
    pub authorize: crate::oauth::Authorize,
    pub code_exchange: crate::oauth::CodeExchange,
    pub userinfo: crate::oauth::UserInfo,
    pub end_session: crate::oauth::EndSession,
    pub consents: crate::oauth::ManageConsents,
}

impl Services {
    #[must_use]
    pub fn new(ports: &Ports, config: &UseCaseConfig) -> Self {
        let sso = crate::organizations::SsoSettings {
            base_url: config
                .mail
                .base_url
                .as_str()
                .trim_end_matches('/')
                .to_owned(),
            allow_insecure_idp_urls: config.allow_insecure_idp_urls,
            access_ttl: config.auth.access_ttl,
        };
        Self {
            authenticate_admin: AuthenticateAdmin::new(
                ports,
                config.admin_api_key.clone(),
                config.admin_auth,
            ),
            admin_sign_in: AdminSignIn::new(
                AdminPorts::of(ports),
                config.admin_auth,
                config
                    .admin_sso
                    .clone()
                    .map(|c| crate::admin::AdminSso::new(c, ports)),
            ),
            audit_retention: crate::audit::ManageRetention::new(ports, config.audit_retention),
            verify_audit_chain: crate::audit::VerifyAuditChain::new(ports),
            seal_audit_chain: crate::audit::SealAuditChain::new(ports),
            webhooks: crate::webhooks::ManageWebhooks::new(ports, config.webhooks),
            deliver_webhooks: crate::webhooks::DeliverWebhooks::new(ports, config.webhook_delivery),
            manage_admins: ManageAdmins::new(AdminPorts::of(ports)),
            authenticate_client: AuthenticateClient::new(ports, config.global_origins.clone()),
            check_origin: CheckOrigin::new(ports, config.global_origins.clone()),
            create_client: CreateClient::new(ports),
            get_client: GetClient::new(ports),
            list_clients: ListClients::new(ports),
            update_client: UpdateClient::new(ports),
            rotate_api_key: RotateApiKey::new(ports),
            rotate_jwt_secret: RotateJwtSecret::new(ports),
            list_audit_events: ListAuditEvents::new(ports),
            record_audit: RecordAudit::new(ports),
            check_readiness: CheckReadiness::new(ports),
            signup: Signup::new(ports, &config.auth, &config.mail),
            login: Login::new(ports, &config.auth),
            refresh_session: RefreshSession::new(ports, &config.auth),
            logout: Logout::new(ports, &config.auth),
            authenticate_user: AuthenticateUser::new(ports),
            publish_jwks: PublishJwks::new(ports, &config.auth),
            update_profile: UpdateProfile::new(ports),
            change_password: ChangePassword::new(ports, &config.auth, &config.mail),
            sessions: ManageSessions::new(ports, &config.auth),
            purge_sessions: PurgeExpiredSessions::new(ports),
            signing_keys: ManageSigningKeys::new(ports),
            validate_token: ValidateToken::new(
                ports,
                AuthenticateClient::new(ports, config.global_origins.clone()),
            ),
            revoke_access_token: RevokeAccessToken::new(ports),
            verify_email: VerifyEmail::new(ports),
            resend_verification: ResendVerification::new(ports, &config.mail),
            forgot_password: ForgotPassword::new(ports, &config.mail),
            reset_password: ResetPassword::new(ports, &config.auth),
            send_magic_link: SendMagicLink::new(ports, &config.mail),
            verify_magic_link: VerifyMagicLink::new(ports, &config.auth),
            exchange_redirect_code: ExchangeRedirectCode::new(ports, &config.auth),
            issue_redirect_code: IssueRedirectCode::new(ports, &config.auth, &config.mail),
            email_config: ManageEmailConfig::new(ports, &config.mail),
            deliver_outbox: DeliverOutbox::new(ports, &config.mail),
            totp: ManageTotp::new(ports, &config.auth, &config.mail),
            recovery_codes: ManageRecoveryCodes::new(ports, &config.auth, &config.mail),
            complete_challenge: CompleteChallenge::new(ports, &config.auth),
            passkeys: ManagePasskeys::new(ports, &config.auth, &config.mail),
            passkey_login: PasskeyLogin::new(ports, &config.auth, &config.mail.base_url),
            manage_user: ManageUser::new(ports, &config.auth, &config.mail),
            reauthenticate: Reauthenticate::new(
                ports,
                &config.auth,
                PasskeyLogin::new(ports, &config.auth, &config.mail.base_url),
            ),
            organizations: ManageOrganizations::new(ports, &config.auth),
            members: ManageMembers::new(ports, &config.auth),
            org_audit_events: crate::organizations::OrgAuditEvents::new(ports),
            invitations: ManageInvitations::new(ports, &config.auth, &config.mail),
            org_token: IssueOrgToken::new(ports, &config.auth),
            org_authorization: ManageAuthorization::new(ports, &config.auth),
            operate_organizations: OperateOrganizations::new(ports, &config.auth),
            domains: crate::organizations::ManageDomains::new(ports),
            sso_connections: crate::organizations::ManageSsoConnections::new(ports, &sso),
            scim_directories: crate::organizations::ManageScimDirectories::new(ports, &config.auth),
            scim: crate::scim::Scim::new(ports, config.auth.access_ttl),
            sso_sign_in: crate::sso::SsoSignIn::new(ports, &sso),
            social_providers: crate::social::ManageSocialProviders::new(ports, &sso),
            social_sign_in: crate::social::SocialSignIn::new(ports, &sso),
            connected_accounts: crate::social::ConnectedAccounts::new(ports, &sso, &config.auth),
            oidc_apps: crate::oidc::ManageOidcApps::new(ports),
            service_accounts: crate::oauth::ManageServiceAccounts::new(
                ports,
                config.auth.access_ttl,
            ),
            oauth_caller: crate::oauth::AuthenticateCaller::new(ports, &config.auth.issuer),
            client_credentials: crate::oauth::ClientCredentialsGrant::new(
                ports,
                &config.auth.issuer,
                config.auth.access_ttl,
            ),
            introspect: crate::oauth::Introspect::new(ValidateToken::new(
                ports,
                AuthenticateClient::new(ports, config.global_origins.clone()),
            )),
            revoke_token: crate::oauth::RevokeToken::new(ports, config.auth.access_ttl),
            tenant_issuer: crate::oauth::TenantIssuer::new(ports, &config.auth.issuer),
            authorize: crate::oauth::Authorize::new(ports, &config.auth),
            code_exchange: crate::oauth::CodeExchange::new(ports, &config.auth),
            userinfo: crate::oauth::UserInfo::new(ports),
            end_session: crate::oauth::EndSession::new(ports, &config.auth),
            consents: crate::oauth::ManageConsents::new(ports, config.auth.access_ttl),
        }
    }
}
