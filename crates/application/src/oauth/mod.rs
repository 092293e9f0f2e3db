//! The OAuth 2.0 endpoints of a tenant's issuer (`{BASE_URL}/t/{slug}`) and the service's
//! machine endpoints (`/oauth/token`, `/oauth/introspect`): who is calling ([`caller`]), the
//! `client_credentials` grant, introspection (RFC 7662), revocation (RFC 7009); and the service
//! accounts operators manage. Failures are [`OAuthError`]s, answered in RFC 6749 form.

mod authorize;
mod caller;
mod client_credentials;
mod code_grant;
mod consents;
mod discovery;
mod error;
mod introspect;
mod logout;
mod revoke;
mod service_accounts;
mod userinfo;

pub use authorize::{
    AuthorizationRequestError, Authorize, AuthorizeOutcome, AuthorizeParams, REQUEST_TTL,
    RequestInfo, binding_cookie,
};
pub use caller::{AuthenticateCaller, OAuthCaller, PresentedClient, PresentedMethod};
pub use client_credentials::{ClientCredentialsGrant, IssuedGrant};
pub use code_grant::{CodeExchange, UserGrant};
pub use consents::{ConsentError, ManageConsents};
pub use discovery::{AUTH_METHODS, TenantIssuer};
pub use error::OAuthError;
pub use introspect::{Introspect, Introspection};
pub use logout::{EndSession, LogoutOutcome, LogoutRequest};
pub use revoke::RevokeToken;
pub use service_accounts::{
    CreatedKey, KeyInput, ManageServiceAccounts, ServiceAccountError, ServiceAccountInput,
    account_snapshot, key_snapshot,
};
pub use userinfo::{UserInfo, UserInfoError};

use authservice_domain::{Client, ClientId};

/// The issuer of a tenant: `{BASE_URL}/t/{slug}`.
#[must_use]
pub fn tenant_issuer(base_url: &str, client: &Client) -> String {
    format!(
        "{}/t/{}",
        base_url.trim_end_matches('/'),
        client.slug.as_str()
    )
}

/// The marker "this service account was disabled or lost a key recently": while it lives,
/// token validation checks the account's machine tokens against the database.
pub(crate) fn account_change_key(client: ClientId, account: uuid::Uuid) -> String {
    format!("sa_changed:{client}:{account}")
}
