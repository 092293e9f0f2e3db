//! The permission of every admin route, in one table, enforced before any handler runs.
//!
//! [`authorize_admin`] (the middleware of the `/api/admin` scope, so before any handler reads a
//! body) authenticates the operator and looks the matched route up here: a route missing from
//! the table is refused for everyone (so a new route cannot ship unguarded), the caller must hold
//! the route's permission, and a route naming a client (`{id}`) or an organization (`{org}`)
//! must be inside the caller's scope. Use cases check again (defence in depth), and lists are
//! filtered by scope in their queries. The route × role matrix test iterates this table.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use authservice_application::ErrorKind;
use authservice_application::admin::AdminCredentialsPresented;
use authservice_domain::organization::OrganizationId;
use authservice_domain::{AdminPrincipal, AdminScope, ClientId, Permission};

use crate::error::ApiError;

/// One admin route: method, path below `/api/admin`, and what it needs.
#[derive(Debug, Clone, Copy)]
pub struct AdminRoute {
    pub method: &'static str,
    pub path: &'static str,
    /// `None`: any authenticated operator (their own session).
    pub permission: Option<Permission>,
    /// Only for scope `all` (creating clients, managing operators, global revocation).
    pub all_scope: bool,
}

const fn route(method: &'static str, path: &'static str, permission: Permission) -> AdminRoute {
    AdminRoute {
        method,
        path,
        permission: Some(permission),
        all_scope: false,
    }
}

const fn global(method: &'static str, path: &'static str, permission: Permission) -> AdminRoute {
    AdminRoute {
        method,
        path,
        permission: Some(permission),
        all_scope: true,
    }
}

const fn own(method: &'static str, path: &'static str) -> AdminRoute {
    AdminRoute {
        method,
        path,
        permission: None,
        all_scope: false,
    }
}

use Permission::{
    AdminsManage, AuditHold, AuditPurge, AuditRead, ClientsCreate, ClientsRead, ClientsRotateKeys,
    ClientsUpdate, TokensRevoke, UsersErase, UsersRead, UsersUpdate,
};

/// Admin routes without operator credentials: signing in.
const PUBLIC: &[(&str, &str)] = &[
    ("POST", "/auth/login"),
    ("POST", "/auth/totp/enable"),
    ("POST", "/auth/refresh"),
    ("GET", "/auth/sso"),
    ("POST", "/auth/sso/start"),
    ("GET", "/auth/sso/callback"),
    ("POST", "/auth/sso/complete"),
];

/// Every admin route that takes operator credentials.
pub const ADMIN_ROUTES: &[AdminRoute] = &[
    own("GET", "/auth/me"),
    own("POST", "/auth/logout"),
    global("GET", "/users", AdminsManage),
    global("POST", "/users", AdminsManage),
    global("GET", "/users/{admin}", AdminsManage),
    global("PATCH", "/users/{admin}", AdminsManage),
    global("DELETE", "/users/{admin}", AdminsManage),
    global("GET", "/roles", AdminsManage),
    global("PUT", "/roles/{name}", AdminsManage),
    global("DELETE", "/roles/{name}", AdminsManage),
    global("POST", "/clients", ClientsCreate),
    route("GET", "/clients", ClientsRead),
    route("GET", "/client-settings", ClientsRead),
    route("GET", "/clients/{id}", ClientsRead),
    route("PATCH", "/clients/{id}", ClientsUpdate),
    route("POST", "/clients/{id}/rotate-api-key", ClientsRotateKeys),
    route("POST", "/clients/{id}/rotate-key", ClientsRotateKeys),
    route("POST", "/clients/{id}/rotate-secret", ClientsRotateKeys),
    route("POST", "/clients/{id}/rotate-jwt", ClientsRotateKeys),
    route("GET", "/clients/{id}/signing-keys", ClientsRead),
    route(
        "POST",
        "/clients/{id}/signing-keys/rotate",
        ClientsRotateKeys,
    ),
    route("GET", "/clients/{id}/users", UsersRead),
    route("GET", "/clients/{id}/users/{user_id}", UsersRead),
    route("PATCH", "/clients/{id}/users/{user_id}", UsersUpdate),
    route(
        "POST",
        "/clients/{id}/users/{user_id}/sessions/revoke",
        UsersUpdate,
    ),
    route("DELETE", "/clients/{id}/users/{user_id}", UsersErase),
    route(
        "POST",
        "/clients/{id}/users/{user_id}/mfa/reset",
        UsersUpdate,
    ),
    route(
        "POST",
        "/clients/{id}/users/{user_id}/send-password-reset",
        UsersUpdate,
    ),
    route(
        "POST",
        "/clients/{id}/users/{user_id}/resend-verification",
        UsersUpdate,
    ),
    route("GET", "/clients/{id}/users/{user_id}/export", UsersRead),
    route("GET", "/clients/{id}/email-config", ClientsRead),
    route("PUT", "/clients/{id}/email-config", ClientsUpdate),
    route("POST", "/clients/{id}/email-config", ClientsUpdate),
    route("PATCH", "/clients/{id}/email-config", ClientsUpdate),
    route("DELETE", "/clients/{id}/email-config", ClientsUpdate),
    route("GET", "/clients/{id}/organizations", UsersRead),
    route(
        "GET",
        "/clients/{id}/organizations/{org}/members",
        UsersRead,
    ),
    route(
        "PUT",
        "/clients/{id}/organizations/{org}/members/{user_id}/groups",
        UsersUpdate,
    ),
    route("GET", "/clients/{id}/domains", UsersRead),
    route("POST", "/clients/{id}/domains", ClientsUpdate),
    route("DELETE", "/clients/{id}/domains/{domain}", ClientsUpdate),
    route(
        "POST",
        "/clients/{id}/domains/{domain}/verify",
        ClientsUpdate,
    ),
    route("GET", "/clients/{id}/sso-connections", UsersRead),
    route("POST", "/clients/{id}/sso-connections", ClientsUpdate),
    route(
        "GET",
        "/clients/{id}/sso-connections/{connection}",
        UsersRead,
    ),
    route(
        "PATCH",
        "/clients/{id}/sso-connections/{connection}",
        ClientsUpdate,
    ),
    route(
        "DELETE",
        "/clients/{id}/sso-connections/{connection}",
        ClientsUpdate,
    ),
    route(
        "POST",
        "/clients/{id}/sso-connections/{connection}/test-sign-in",
        ClientsUpdate,
    ),
    route(
        "GET",
        "/clients/{id}/sso-connections/{connection}/test-sign-in/{test}",
        UsersRead,
    ),
    route("GET", "/clients/{id}/scim-directories", UsersRead),
    route("POST", "/clients/{id}/scim-directories", ClientsUpdate),
    route(
        "GET",
        "/clients/{id}/scim-directories/{directory}",
        UsersRead,
    ),
    route(
        "PATCH",
        "/clients/{id}/scim-directories/{directory}",
        ClientsUpdate,
    ),
    route(
        "POST",
        "/clients/{id}/scim-directories/{directory}/rotate-token",
        ClientsUpdate,
    ),
    route("GET", "/clients/{id}/social-providers", UsersRead),
    route(
        "PUT",
        "/clients/{id}/social-providers/{provider}",
        ClientsUpdate,
    ),
    route(
        "DELETE",
        "/clients/{id}/social-providers/{provider}",
        ClientsUpdate,
    ),
    route("GET", "/clients/{id}/oidc-apps", ClientsRead),
    route("POST", "/clients/{id}/oidc-apps", ClientsUpdate),
    route("GET", "/clients/{id}/oidc-apps/{app}", ClientsRead),
    route("PATCH", "/clients/{id}/oidc-apps/{app}", ClientsUpdate),
    route("DELETE", "/clients/{id}/oidc-apps/{app}", ClientsUpdate),
    route(
        "POST",
        "/clients/{id}/oidc-apps/{app}/rotate-secret",
        ClientsRotateKeys,
    ),
    route("GET", "/clients/{id}/webhooks", ClientsRead),
    route("POST", "/clients/{id}/webhooks", ClientsUpdate),
    route("GET", "/clients/{id}/webhooks/{hook}", ClientsRead),
    route("PATCH", "/clients/{id}/webhooks/{hook}", ClientsUpdate),
    route("DELETE", "/clients/{id}/webhooks/{hook}", ClientsUpdate),
    route(
        "POST",
        "/clients/{id}/webhooks/{hook}/rotate-secret",
        ClientsUpdate,
    ),
    route(
        "GET",
        "/clients/{id}/webhooks/{hook}/deliveries",
        ClientsRead,
    ),
    route(
        "POST",
        "/clients/{id}/webhooks/{hook}/deliveries/{delivery}/replay",
        ClientsUpdate,
    ),
    route(
        "POST",
        "/clients/{id}/webhooks/{hook}/replay",
        ClientsUpdate,
    ),
    route("GET", "/clients/{id}/service-accounts", ClientsRead),
    route("POST", "/clients/{id}/service-accounts", ClientsUpdate),
    route("GET", "/clients/{id}/service-accounts/{sa}", ClientsRead),
    route(
        "PATCH",
        "/clients/{id}/service-accounts/{sa}",
        ClientsUpdate,
    ),
    route(
        "DELETE",
        "/clients/{id}/service-accounts/{sa}",
        ClientsUpdate,
    ),
    route(
        "GET",
        "/clients/{id}/service-accounts/{sa}/keys",
        ClientsRead,
    ),
    route(
        "POST",
        "/clients/{id}/service-accounts/{sa}/keys",
        ClientsRotateKeys,
    ),
    route(
        "DELETE",
        "/clients/{id}/service-accounts/{sa}/keys/{key}",
        ClientsRotateKeys,
    ),
    route(
        "POST",
        "/clients/{id}/service-accounts/{sa}/keys/{key}/rotate",
        ClientsRotateKeys,
    ),
    route("GET", "/audit-events", AuditRead),
    route("GET", "/audit-events/export", AuditRead),
    route("GET", "/audit-events/chain/verify", AuditRead),
    route("POST", "/audit-events/legal-hold", AuditHold),
    route("GET", "/audit-events/legal-holds", AuditHold),
    route("DELETE", "/audit-events/legal-holds/{hold}", AuditHold),
    global("POST", "/audit-events/retention/purge", AuditPurge),
    route("GET", "/event-types", AuditRead),
    global("POST", "/tokens/revoke", TokensRevoke),
];

/// The table's entry for the matched pattern (`/api/admin/...`) and method.
#[must_use]
pub fn lookup(method: &str, pattern: &str) -> Option<&'static AdminRoute> {
    let path = pattern.strip_prefix("/api/admin")?;
    ADMIN_ROUTES
        .iter()
        .find(|r| r.method == method && r.path == path)
}

fn forbidden(what: &str) -> ApiError {
    ApiError::new(ErrorKind::Forbidden, format!("not allowed: {what}"))
}

/// Whether `admin` may call `route` with these path parameters (`{id}`: a client, `{org}`: an
/// organization).
///
/// # Errors
/// `forbidden` naming what is missing.
pub fn authorize(
    admin: &AdminPrincipal,
    route: &AdminRoute,
    client: Option<&str>,
    organization: Option<&str>,
) -> Result<(), ApiError> {
    if let Some(permission) = route.permission
        && !admin.has(permission)
    {
        return Err(forbidden(permission.as_str()));
    }
    if route.all_scope && admin.scope != AdminScope::All {
        return Err(forbidden("this route needs scope all"));
    }
    let Some(client) = client else {
        return Ok(());
    };
    // The raw path segment must be the id itself: anything else (percent-encoded, padded) is
    // refused to a scoped operator rather than left to the handler's decoding.
    let parsed = (client.len() == 36 || client.len() == 32)
        .then(|| ClientId::parse(client).ok())
        .flatten();
    let Some(client) = parsed else {
        return if admin.scope == AdminScope::All {
            Ok(())
        } else {
            Err(forbidden("outside the operator's scope"))
        };
    };
    let organization = organization
        .and_then(|o| uuid::Uuid::parse_str(o).ok())
        .map(OrganizationId::from_uuid);
    let allowed = match (&admin.scope, organization) {
        (AdminScope::Organization { .. }, Some(org)) => admin.can_access_organization(client, org),
        _ => admin.can_access_client(client),
    };
    if allowed {
        Ok(())
    } else {
        Err(forbidden("outside the operator's scope"))
    }
}

/// The value of `{name}` in `path` for route `pattern` (same number of segments).
fn param<'a>(pattern: &str, path: &'a str, name: &str) -> Option<&'a str> {
    let wanted = format!("{{{name}}}");
    pattern
        .split('/')
        .zip(path.split('/'))
        .find(|(p, _)| *p == wanted)
        .map(|(_, v)| v)
}

/// Authenticates the operator of every `/api/admin` request (but signing in) and authorizes it
/// against [`ADMIN_ROUTES`]; the principal is left in the request for
/// [`super::AdminCtx`]. Unknown paths still need credentials (probing them is audited and
/// rate limited); a known path with another method passes to the router (405).
pub async fn authorize_admin(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let pattern = req.match_pattern();
    let method = req.method().as_str().to_owned();
    let path_below = pattern
        .as_deref()
        .and_then(|p| p.strip_prefix("/api/admin"))
        .map(str::to_owned);
    if let Some(below) = &path_below
        && PUBLIC.contains(&(method.as_str(), below.as_str()))
    {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    match authenticate(&req, pattern.as_deref(), &method).await {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            next.call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        }
        Err(err) => Ok(req.error_response(err)),
    }
}

async fn authenticate(
    req: &ServiceRequest,
    pattern: Option<&str>,
    method: &str,
) -> Result<AdminPrincipal, ApiError> {
    let http = req.request();
    let state = super::extractors::state(http)?;
    let ctx = super::extractors::base_ctx(http);
    let key = super::extractors::header(http, "x-admin-key");
    let bearer = super::extractors::bearer(http);
    let principal = state
        .services
        .authenticate_admin
        .execute(
            &ctx,
            AdminCredentialsPresented {
                key: key.as_deref(),
                bearer: bearer.as_deref(),
            },
        )
        .await?;
    // Authenticated: a refusal below is audited as this operator's failed request.
    req.extensions_mut().insert(principal.clone());
    let Some(pattern) = pattern else {
        return Ok(principal);
    };
    match lookup(method, pattern) {
        Some(route) => {
            let path = req.path();
            authorize(
                &principal,
                route,
                param(pattern, path, "id"),
                param(pattern, path, "org"),
            )?;
        }
        None => {
            // Known path, another method: answered here, so a method added to a resource
            // without a table entry is never reached.
            let below = pattern.strip_prefix("/api/admin").unwrap_or(pattern);
            if ADMIN_ROUTES.iter().any(|r| r.path == below) {
                return Err(ApiError::new(
                    ErrorKind::MethodNotAllowed,
                    format!("{method} is not allowed here"),
                ));
            }
            return Err(forbidden("this admin route has no permission entry"));
        }
    }
    Ok(principal)
}
