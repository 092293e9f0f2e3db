//! Organization tokens: an access token of the caller's session that also names one
//! organization, the member's role and effective permissions there (`org_id`, `org_slug`,
//! `org_role`, `org_permissions`), for a short time. The organization's security policy decides
//! who may have one.

use authservice_domain::organization::RoleSet;
use uuid::Uuid;

use super::{OrgError, OrganizationView, access};
use crate::auth::{AuthConfig, AuthenticatedUser};
use crate::context::RequestCtx;
use crate::ports::{AccessClaims, OrgClaims, Ports};

/// An issued organization token.
#[derive(Debug, Clone)]
pub struct OrgToken {
    pub access_token: String,
    pub expires_in: u64,
    pub organization: OrganizationView,
    pub permissions: RoleSet,
}

pub struct IssueOrgToken {
    ports: Ports,
    config: AuthConfig,
}

impl IssueOrgToken {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
        }
    }

    /// A token for organization `org` of which the caller is a member. With the policy's
    /// `require_mfa`, only for a member with a second factor (`MfaRequired`); with
    /// `session_max_hours`, only within that long of the last sign-in (else a re-authentication
    /// is asked for). It lives `ORG_TOKEN_TTL`, never beyond the caller's access token.
    #[tracing::instrument(name = "issue_org_token", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
        org: &str,
    ) -> Result<OrgToken, OrgError> {
        let client = crate::auth::require_client(ctx)?;
        let access = access(&self.ports, caller, org, None).await?;
        let policy = &access.org.security;
        let now = self.ports.clock.now();
        if let Some(hours) = policy.session_max_hours
            && now.timestamp() - caller.claims.auth_time > i64::from(hours) * 3600
        {
            return Err(OrgError::ReauthenticationRequired);
        }
        if policy.require_mfa {
            let factors =
                crate::auth::gate::second_factors(&self.ports, client, &caller.user).await?;
            if !(factors.totp || factors.passkey) {
                return Err(OrgError::MfaRequired);
            }
        }
        let ttl = i64::try_from(self.config.org_token_ttl.as_secs()).unwrap_or(300);
        let exp = (now.timestamp() + ttl).min(caller.claims.exp);
        let user = &caller.user;
        let claims = AccessClaims {
            iat: now.timestamp(),
            exp,
            jti: Uuid::new_v4().simple().to_string(),
            email: user.email.as_str().to_owned(),
            email_verified: user.email_verified,
            role: user.role.clone(),
            org: Some(OrgClaims {
                id: access.org.id.to_string(),
                slug: access.org.slug.as_str().to_owned(),
                role: access.membership.role.as_str().to_owned(),
                permissions: access.permissions.iter().map(str::to_owned).collect(),
            }),
            ..caller.claims.clone()
        };
        let access_token = self.ports.tokens.sign(client, &claims).await?;
        Ok(OrgToken {
            access_token,
            expires_in: u64::try_from(exp - now.timestamp()).unwrap_or(0),
            permissions: access.permissions,
            organization: OrganizationView {
                organization: access.org,
                role: access.membership.role,
            },
        })
    }
}
