//! Invitations: an emailed, single-use token for one address and role. Sending one needs
//! `members:invite` and a role the inviter holds every permission of; accepting needs a
//! signed-in user of the same client whose verified address is the invited one.

use authservice_domain::organization::{
    Invitation, InvitationStatus, Membership, OrgPermission, OrgRef, OrgRole,
};
use authservice_domain::secret::{hex, sha256};
use authservice_domain::{Email, EventType};
use serde_json::json;
use uuid::Uuid;

use super::{OrgError, OrganizationView, access, org_event, require_recent_auth};
use crate::auth::{AuthConfig, AuthenticatedUser};
use crate::context::RequestCtx;
use crate::email::MailConfig;
use crate::pagination::{Page, PageRequest};
use crate::ports::{AcceptOutcome, Ports};

/// `POST …/{org}/invitations`.
#[derive(Debug, Clone, Default)]
pub struct NewInvitation {
    pub email: String,
    pub role: String,
    /// 1–30, 7 when omitted.
    pub expires_in_days: Option<i64>,
}

pub struct ManageInvitations {
    ports: Ports,
    config: AuthConfig,
    mail: MailConfig,
}

impl ManageInvitations {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig, mail: &MailConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
            mail: mail.clone(),
        }
    }

    /// Invites `email` as `role` (`members:invite`, and every permission of the role): the
    /// email goes out through the outbox with the invitation; an earlier pending invitation of
    /// the address is revoked by it. An address that is a member already: `AlreadyMember`.
    #[tracing::instrument(name = "invite_member", level = "debug", skip_all)]
    pub async fn invite(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
        org: &str,
        input: NewInvitation,
    ) -> Result<Invitation, OrgError> {
        let client = crate::auth::require_client(ctx)?;
        let access = access(&self.ports, caller, org, Some(OrgPermission::MembersInvite)).await?;
        let role = OrgRole::parse(&input.role)?;
        let granted = access.grantable(&role)?;
        // Inviting someone into more than a plain member's rights needs a recent sign-in: a
        // stolen access token must not bring in a second owner.
        let plain = OrgRole::parse("member")?
            .builtin_permissions()
            .unwrap_or_default();
        if !plain.covers(&granted) {
            require_recent_auth(&self.ports, &self.config, caller)?;
        }
        let email = Email::parse(&input.email)?;
        if !access.org.security.allows(&email) {
            return Err(OrgError::EmailDomainNotAllowed);
        }
        let lifetime = Invitation::lifetime(input.expires_in_days)?;
        if let Some(existing) = self.ports.users.find_by_email(client.id, &email).await?
            && self
                .ports
                .organizations
                .member(client.id, access.org.id, existing.user.id)
                .await?
                .is_some()
        {
            return Err(OrgError::AlreadyMember);
        }
        crate::email::limit_invitation_mail(&self.ports, ctx, client, &email)
            .await
            .map_err(OrgError::from_mail)?;
        let now = self.ports.clock.now();
        let invitation = Invitation {
            id: Uuid::now_v7(),
            organization_id: access.org.id,
            client_id: client.id,
            email,
            role,
            invited_by: Some(caller.user.id),
            created_at: now,
            expires_at: now + lifetime,
            accepted_at: None,
            accepted_by: None,
            revoked_at: None,
        };
        let token = hex(&self.ports.random.bytes32());
        let inviter = caller
            .user
            .display_name
            .clone()
            .unwrap_or_else(|| caller.user.email.as_str().to_owned());
        let message = crate::email::prepare_invitation(
            &self.ports,
            &self.mail,
            client,
            &invitation.email,
            &token,
            vec![
                ("org", access.org.name.as_str().to_owned()),
                ("inviter", inviter),
                ("role", invitation.role.as_str().to_owned()),
                ("days", lifetime.num_days().to_string()),
            ],
        )
        .await?;
        let event = org_event(
            ctx,
            &caller.user,
            &access.org,
            EventType::OrganizationInvitationCreated,
        )
        .metadata(json!({
            "invitation_id": invitation.id.to_string(),
            "role": invitation.role.as_str(),
            "expires_at": invitation.expires_at.to_rfc3339(),
        }))
        .at(now);
        self.ports
            .uow
            .commit(vec![
                crate::ports::Write::CreateInvitation {
                    invitation: invitation.clone(),
                    token_hash: sha256(token.as_bytes()),
                },
                crate::ports::Write::QueueEmail(message),
                crate::ports::Write::Audit(event),
            ])
            .await?;
        self.ports.outbox_signal.wake();
        Ok(invitation)
    }

    /// One page of the organization's invitations, oldest first (`invitations:read`).
    #[tracing::instrument(name = "list_invitations", level = "debug", skip_all)]
    pub async fn list(
        &self,
        caller: &AuthenticatedUser,
        org: &str,
        page: PageRequest,
    ) -> Result<Page<Invitation>, OrgError> {
        let access = access(
            &self.ports,
            caller,
            org,
            Some(OrgPermission::InvitationsRead),
        )
        .await?;
        let rows = self
            .ports
            .invitations
            .list(access.org.client_id, access.org.id, page)
            .await?;
        Ok(Page::from_overfetch(rows, page.limit, |i| i.id))
    }

    /// Revokes a pending invitation (`invitations:revoke`); its token stops working at once.
    /// An accepted one cannot be revoked (remove the member instead).
    #[tracing::instrument(name = "revoke_invitation", level = "debug", skip_all)]
    pub async fn revoke(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
        org: &str,
        id: &str,
    ) -> Result<Invitation, OrgError> {
        let access = access(
            &self.ports,
            caller,
            org,
            Some(OrgPermission::InvitationsRevoke),
        )
        .await?;
        let id = Uuid::try_parse(id.trim()).map_err(|_| {
            authservice_domain::ValidationError::new("invitation_id", "must be a UUID")
        })?;
        let now = self.ports.clock.now();
        let event = org_event(
            ctx,
            &caller.user,
            &access.org,
            EventType::OrganizationInvitationRevoked,
        )
        .metadata(json!({ "invitation_id": id.to_string() }))
        .at(now);
        let invitation = self
            .ports
            .invitations
            .revoke(access.org.client_id, access.org.id, id, now, &event)
            .await?
            .ok_or(OrgError::InvitationNotFound)?;
        if invitation.status(now) == InvitationStatus::Accepted {
            return Err(OrgError::InvitationAlreadyAccepted);
        }
        Ok(invitation)
    }

    /// Accepts an invitation for the signed-in caller, whose verified address must be the
    /// invited one; the caller becomes a member with the invited role.
    #[tracing::instrument(name = "accept_invitation", level = "debug", skip_all)]
    pub async fn accept(
        &self,
        ctx: &RequestCtx,
        caller: &AuthenticatedUser,
        token: &str,
    ) -> Result<OrganizationView, OrgError> {
        let user = &caller.user;
        let hash = sha256(token.trim().as_bytes());
        let invitation = self
            .ports
            .invitations
            .find_by_token(&hash)
            .await?
            .filter(|i| i.client_id == user.client_id)
            .ok_or(OrgError::InvitationNotFound)?;
        let now = self.ports.clock.now();
        not_pending(&invitation, now)?;
        if invitation.email != user.email {
            return Err(OrgError::InvitationEmailMismatch);
        }
        if !user.email_verified {
            return Err(OrgError::EmailNotVerified);
        }
        // The policy may have changed since the invitation went out.
        let org = self
            .ports
            .organizations
            .find(
                user.client_id,
                &OrgRef::Id(invitation.organization_id),
                user.id,
            )
            .await?
            .ok_or(OrgError::InvitationNotFound)?
            .0;
        if !org.security.allows(&user.email) {
            return Err(OrgError::EmailDomainNotAllowed);
        }
        let member = Membership {
            id: Uuid::now_v7(),
            organization_id: invitation.organization_id,
            client_id: invitation.client_id,
            user_id: user.id,
            role: invitation.role.clone(),
            groups: authservice_domain::organization::MemberGroups::new(),
            joined_at: now,
        };
        let event = ctx
            .audit(EventType::OrganizationInvitationAccepted)
            .client(invitation.client_id)
            .by_user(user.id)
            .target("organization", invitation.organization_id)
            .metadata(json!({
                "invitation_id": invitation.id.to_string(),
                "role": invitation.role.as_str(),
            }))
            .at(now);
        match self
            .ports
            .invitations
            .accept(invitation.id, &member, now, &event)
            .await?
        {
            AcceptOutcome::Accepted => {}
            AcceptOutcome::AlreadyMember => return Err(OrgError::AlreadyMember),
            AcceptOutcome::NotPending(now_stored) => {
                not_pending(&now_stored, now)?;
                return Err(OrgError::InvitationAlreadyAccepted);
            }
        }
        Ok(OrganizationView {
            organization: org,
            role: member.role,
        })
    }
}

/// The refusal for an invitation that is not pending at `now`.
fn not_pending(
    invitation: &Invitation,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), OrgError> {
    match invitation.status(now) {
        InvitationStatus::Pending => Ok(()),
        InvitationStatus::Accepted => Err(OrgError::InvitationAlreadyAccepted),
        InvitationStatus::Revoked => Err(OrgError::InvitationRevoked),
        InvitationStatus::Expired => Err(OrgError::InvitationExpired),
    }
}
