//! Organizations (the customer companies of a tenant's app), their members and roles, on the
//! K+B routes (`X-API-Key` + bearer). Every action checks a permission of the caller's role in
//! the organization, never a role name; someone who is not a member sees no organization at
//! all (404, never 403); an organization of another client does not exist here.

mod authorization;
mod domains;
mod invitations;
mod manage;
mod mappings;
mod members;
mod operate;
mod org_audit;
mod scim_directories;
mod sso_connections;
mod token;

pub use authorization::{ManageAuthorization, Simulation, SimulationSubject};
pub use domains::{DomainActor, ManageDomains};
pub use invitations::{ManageInvitations, NewInvitation};
pub use manage::{ManageOrganizations, NewOrganization, OrganizationPatch, OrganizationView};
pub use mappings::{MappingInput, mapping_json};
pub use members::ManageMembers;
pub use operate::OperateOrganizations;
pub use org_audit::OrgAuditEvents;
pub use scim_directories::{DirectoryInput, ManageScimDirectories, directory_snapshot};
pub use sso_connections::{
    ConnectionInput, ManageSsoConnections, SsoSettings, snapshot as connection_snapshot,
};
pub use token::{IssueOrgToken, OrgToken};

use std::collections::BTreeMap;

use authservice_domain::organization::{
    Grant, MemberGroups, Membership, OrgPermission, OrgRef, OrgRole, Organization, PolicyError,
    RoleSet, effective_permissions,
};
use authservice_domain::{EventType, User, ValidationError};
use serde_json::{Value, json};

use crate::auth::{AuthConfig, AuthenticatedUser};
use crate::context::{AuditDraft, RequestCtx};
use crate::error::{ErrorKind, UseCaseError};
use crate::pagination::PageError;
use crate::ports::{OrgWriteError, Ports};

#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Page(#[from] PageError),
    #[error("organization not found")]
    NotFound,
    #[error("member not found")]
    MemberNotFound,
    #[error("no such domain claim")]
    DomainNotFound,
    #[error("the domain is already claimed by this organization or verified by another")]
    DomainTaken,
    #[error("no TXT record {txt_name} with the expected value was found")]
    DomainNotVerified {
        txt_name: String,
        txt_value: String,
        found: Vec<String>,
    },
    #[error("the DNS lookup failed")]
    DnsUnavailable,
    #[error("no such SSO connection")]
    ConnectionNotFound,
    #[error("no such SCIM directory")]
    DirectoryNotFound,
    #[error("the identity provider is unavailable: {0}")]
    IdpUnavailable(String),
    #[error("no finished test sign-in with that id")]
    TestNotFound,
    #[error("no such client")]
    ClientNotFound,
    #[error("that social provider is not configured")]
    ProviderNotFound,
    #[error("your role in this organization does not allow this")]
    Forbidden,
    #[error("the slug is taken")]
    SlugTaken,
    #[error("the last owner can be neither removed nor demoted")]
    LastOwner,
    #[error("no such role in this organization")]
    RoleNotFound,
    #[error("a recent sign-in is required")]
    ReauthenticationRequired,
    #[error("this address is a member already")]
    AlreadyMember,
    #[error("no such invitation")]
    InvitationNotFound,
    #[error("the invitation has expired")]
    InvitationExpired,
    #[error("the invitation was revoked")]
    InvitationRevoked,
    #[error("the invitation was accepted already")]
    InvitationAlreadyAccepted,
    #[error("the invitation is for another address")]
    InvitationEmailMismatch,
    #[error("verify your email address first")]
    EmailNotVerified,
    #[error("this organization requires a second factor")]
    MfaRequired,
    #[error("this organization does not accept addresses of that domain")]
    EmailDomainNotAllowed,
    #[error("the policy is not valid: {}", .0.message)]
    InvalidPolicy(PolicyError),
    #[error("another change came first; read again and retry")]
    Conflict,
    #[error("no such policy version")]
    PolicyVersionNotFound,
    #[error("no such group mapping")]
    MappingNotFound,
    #[error("too many requests")]
    RateLimited { retry_after: std::time::Duration },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl UseCaseError for OrgError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) => ErrorKind::InvalidRequest,
            Self::Page(PageError::BadCursor) => ErrorKind::InvalidCursor,
            Self::Page(PageError::BadLimit) => ErrorKind::InvalidRequest,
            Self::NotFound => ErrorKind::OrganizationNotFound,
            Self::MemberNotFound => ErrorKind::MemberNotFound,
            Self::DomainNotFound => ErrorKind::DomainNotFound,
            Self::DomainTaken => ErrorKind::DomainTaken,
            Self::DomainNotVerified { .. } => ErrorKind::DomainNotVerified,
            Self::DnsUnavailable => ErrorKind::DnsUnavailable,
            Self::ConnectionNotFound => ErrorKind::SsoConnectionNotFound,
            Self::DirectoryNotFound => ErrorKind::ScimDirectoryNotFound,
            Self::IdpUnavailable(_) => ErrorKind::IdpUnavailable,
            Self::TestNotFound => ErrorKind::SsoTestNotFound,
            Self::ClientNotFound => ErrorKind::ClientNotFound,
            Self::ProviderNotFound => ErrorKind::SocialProviderNotFound,
            Self::Forbidden => ErrorKind::Forbidden,
            Self::SlugTaken => ErrorKind::SlugTaken,
            Self::LastOwner => ErrorKind::LastOwner,
            Self::RoleNotFound => ErrorKind::RoleNotFound,
            Self::ReauthenticationRequired => ErrorKind::ReauthenticationRequired,
            Self::AlreadyMember => ErrorKind::AlreadyMember,
            Self::InvitationNotFound => ErrorKind::InvitationNotFound,
            Self::InvitationExpired => ErrorKind::InvitationExpired,
            Self::InvitationRevoked => ErrorKind::InvitationRevoked,
            Self::InvitationAlreadyAccepted => ErrorKind::InvitationAlreadyAccepted,
            Self::InvitationEmailMismatch => ErrorKind::InvitationEmailMismatch,
            Self::EmailNotVerified => ErrorKind::EmailNotVerified,
            Self::MfaRequired => ErrorKind::MfaRequired,
            Self::EmailDomainNotAllowed => ErrorKind::EmailDomainBlocked,
            Self::InvalidPolicy(_) => ErrorKind::InvalidPolicy,
            Self::Conflict => ErrorKind::Conflict,
            Self::PolicyVersionNotFound => ErrorKind::PolicyVersionNotFound,
            Self::MappingNotFound => ErrorKind::GroupMappingNotFound,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            Self::InvalidPolicy(err) => Some(err.details()),
            Self::DomainNotVerified {
                txt_name,
                txt_value,
                found,
            } => Some(serde_json::json!({
                "txt_name": txt_name,
                "txt_value": txt_value,
                // What the resolver found there (bounded: records are public anyway).
                "found": found.iter().take(10).map(|f| f.chars().take(255).collect::<String>()).collect::<Vec<_>>(),
            })),
            _ => None,
        }
    }

    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

impl OrgError {
    /// A mail cap refusal is `RateLimited`; any other mail failure is unexpected here.
    pub(crate) fn from_mail(err: crate::email::EmailFlowError) -> Self {
        match err {
            crate::email::EmailFlowError::RateLimited { retry_after } => {
                Self::RateLimited { retry_after }
            }
            other => Self::Unexpected(anyhow::Error::new(other)),
        }
    }
}

impl From<OrgWriteError> for OrgError {
    fn from(err: OrgWriteError) -> Self {
        match err {
            OrgWriteError::SlugTaken => Self::SlugTaken,
            OrgWriteError::NotFound => Self::NotFound,
            OrgWriteError::LastOwner => Self::LastOwner,
            OrgWriteError::Conflict => Self::Conflict,
            OrgWriteError::RoleInUse(role) => Self::InvalidPolicy(PolicyError::role_in_use(&role)),
            OrgWriteError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

/// The caller inside one organization: the organization, their membership and what it allows.
pub(crate) struct Access {
    pub(crate) org: Organization,
    pub(crate) membership: Membership,
    pub(crate) permissions: RoleSet,
}

impl Access {
    /// Refuses unless the caller holds `permission`.
    pub(crate) fn require(&self, permission: OrgPermission) -> Result<(), OrgError> {
        if self.permissions.allows(permission) {
            Ok(())
        } else {
            Err(OrgError::Forbidden)
        }
    }

    /// The permissions of `role`, which the caller may hand out only if they hold all of them.
    pub(crate) fn grantable(&self, role: &OrgRole) -> Result<RoleSet, OrgError> {
        let set = self
            .org
            .policy
            .role_permissions(role)
            .ok_or(OrgError::RoleNotFound)?;
        self.covering(&set)?;
        Ok(set)
    }

    /// Refuses unless the caller holds every permission of `set`.
    pub(crate) fn covering(&self, set: &RoleSet) -> Result<(), OrgError> {
        if self.permissions.covers(set) {
            Ok(())
        } else {
            Err(OrgError::Forbidden)
        }
    }
}

/// A member's effective permissions with what granted each: their role's, and those of the
/// group mappings of the groups they are in.
pub(crate) async fn grants_of(
    ports: &Ports,
    org: &Organization,
    role: &OrgRole,
    groups: &MemberGroups,
) -> anyhow::Result<BTreeMap<String, Vec<Grant>>> {
    let mappings = if groups.values().any(|g| !g.is_empty()) {
        ports
            .org_authorization
            .group_mappings(org.client_id, org.id)
            .await?
    } else {
        Vec::new()
    };
    Ok(effective_permissions(&org.policy, role, groups, &mappings))
}

/// Loads organization `raw` for `caller` and checks `permission`. Not a member, or no such
/// organization in the caller's client: `NotFound` alike.
pub(crate) async fn access(
    ports: &Ports,
    caller: &AuthenticatedUser,
    raw: &str,
    permission: Option<OrgPermission>,
) -> Result<Access, OrgError> {
    let org_ref = OrgRef::parse(raw)?;
    let user = &caller.user;
    let Some((org, Some(membership))) = ports
        .organizations
        .find(user.client_id, &org_ref, user.id)
        .await?
    else {
        return Err(OrgError::NotFound);
    };
    let grants = grants_of(ports, &org, &membership.role, &membership.groups).await?;
    let access = Access {
        permissions: grants.into_keys().collect(),
        org,
        membership,
    };
    if let Some(permission) = permission {
        access.require(permission)?;
    }
    Ok(access)
}

/// Sensitive membership changes need a recent sign-in (a stolen access token alone cannot
/// take an organization over).
pub(crate) fn require_recent_auth(
    ports: &Ports,
    config: &AuthConfig,
    caller: &AuthenticatedUser,
) -> Result<(), OrgError> {
    if crate::auth::recently_authenticated(config, &caller.claims, ports.clock.now()) {
        Ok(())
    } else {
        Err(OrgError::ReauthenticationRequired)
    }
}

/// The audit snapshot of an organization (every field; it holds no secret).
pub(crate) fn snapshot(org: &Organization) -> Value {
    json!({
        "id": org.id.to_string(),
        "name": org.name.as_str(),
        "slug": org.slug.as_str(),
        "metadata": org.metadata,
        "logo_url": org.logo_url.as_ref().map(|l| l.as_str()),
    })
}

/// An event of `user` acting on organization `org` (finish it with `.at(now)`).
pub(crate) fn org_event(
    ctx: &RequestCtx,
    user: &User,
    org: &Organization,
    event_type: EventType,
) -> AuditDraft {
    ctx.audit(event_type)
        .client(org.client_id)
        .by_user(user.id)
        .target("organization", org.id)
}
