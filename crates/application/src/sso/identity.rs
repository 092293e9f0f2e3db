//! Who an IdP's user is here: the identity (connection, subject) already linked — while its
//! account's domain is still verified for the connection's organization; else an account of
//! the same address — linked only when the address is on such a domain, the account's address
//! was proven (verified) and the IdP does not call it unverified; else a new user (JIT), again
//! only on such a domain. The user joins the organization, and their IdP groups replace their `sso`
//! groups (which group mappings grant by) on every sign-in.

use authservice_domain::organization::{GroupSource, Membership, OrgRole};
use authservice_domain::sign_in::Proof;
use authservice_domain::sso::{ExternalProfile, SsoConnection, ascii_domain};
use authservice_domain::{EventType, User};
use serde_json::json;
use uuid::Uuid;

use super::SsoError;
use super::sign_in::SsoSignIn;
use crate::context::RequestCtx;
use crate::ports::{Committed, Write};

/// The role a member added by SSO gets (group mappings grant more).
const SSO_MEMBER_ROLE: &str = "member";

impl SsoSignIn {
    /// The user `profile` signs in as, with the writes that record it.
    ///
    /// # Errors
    /// `AccountConflict`, `NotProvisioned`, a refusal of the sign-in gate, a store failure.
    pub(super) async fn sign_in_as(
        &self,
        ctx: &RequestCtx,
        connection: &SsoConnection,
        profile: &ExternalProfile,
    ) -> Result<User, SsoError> {
        let ports = &self.ports;
        let client = ports
            .clients
            .get(connection.client_id)
            .await?
            .ok_or(SsoError::ConnectionNotFound)?;
        let now = ports.clock.now();
        let mut writes = Vec::new();
        let linked = ports
            .sso_connections
            .identity_user(client.id, connection.id, &profile.subject)
            .await?;
        // Whether an address is on a domain verified for this connection's organization.
        let owns = async |email: &authservice_domain::Email| -> anyhow::Result<bool> {
            let owner = ports
                .org_domains
                .verified_for(client.id, &ascii_domain(email))
                .await?;
            Ok(owner == Some(connection.organization_id))
        };
        let (user, event_type) = if let Some(user_id) = linked {
            let user = ports
                .users
                .get(client.id, user_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("linked user is gone"))?
                .user;
            // Only while the organization still owns the account's domain (it may have lost
            // it, or another organization verified it since).
            if !owns(&user.email).await? {
                return Err(SsoError::NotProvisioned("domain_no_longer_verified"));
            }
            (user, EventType::SsoLogin)
        } else {
            let on_verified_domain = owns(&profile.email).await?;
            // An address the IdP itself calls unverified proves nothing (its users may edit it).
            let idp_unverified = profile.email_verified == Some(false);
            match ports.users.find_by_email(client.id, &profile.email).await? {
                Some(_) if !on_verified_domain || idp_unverified => {
                    return Err(SsoError::AccountConflict);
                }
                // An account nobody proved the inbox of may be someone's trap (made before the
                // organization set SSO up): never joined to the identity.
                Some(found) if !found.user.email_verified => {
                    return Err(SsoError::AccountConflict);
                }
                Some(found) => (found.user, EventType::SsoIdentityLinked),
                None if !connection.jit => return Err(SsoError::NotProvisioned("jit_off")),
                None if !on_verified_domain => {
                    return Err(SsoError::NotProvisioned("email_domain_not_verified"));
                }
                None if idp_unverified => {
                    return Err(SsoError::NotProvisioned("email_not_verified_by_idp"));
                }
                None => {
                    // The organization proved it owns the domain; its IdP vouches.
                    let mut user = User::new(
                        client.id,
                        profile.email.clone(),
                        true,
                        profile.display_name(),
                        now,
                    );
                    user.last_login_at = Some(now);
                    writes.push(Write::CreateUser(user.clone()));
                    (user, EventType::SsoUserProvisioned)
                }
            }
        };
        // The same rule as every sign-in (no second factor: the IdP authenticated the user).
        crate::auth::gate::admit(ports, &client, &user, Proof::CompletedSignIn).await??;

        let org = connection.organization_id;
        let member = ports.organizations.member(client.id, org, user.id).await?;
        let groups_changed = match member {
            Some(view) => {
                let mut groups = view.membership.groups.clone();
                groups.insert(GroupSource::Sso, profile.groups.clone());
                groups.retain(|_, names| !names.is_empty());
                let changed = groups != view.membership.groups;
                if changed {
                    writes.push(Write::SetMemberGroups {
                        client: client.id,
                        org,
                        user: user.id,
                        groups,
                    });
                }
                changed
            }
            None => {
                let mut groups = authservice_domain::organization::MemberGroups::new();
                if !profile.groups.is_empty() {
                    groups.insert(GroupSource::Sso, profile.groups.clone());
                }
                writes.push(Write::AddMember(Membership {
                    id: Uuid::now_v7(),
                    organization_id: org,
                    client_id: client.id,
                    user_id: user.id,
                    role: OrgRole::parse(SSO_MEMBER_ROLE)?,
                    groups,
                    joined_at: now,
                }));
                true
            }
        };
        let link_at = writes.len();
        writes.push(Write::LinkSsoIdentity {
            client: client.id,
            connection: connection.id,
            external_id: profile.subject.clone(),
            user: user.id,
            at: now,
        });
        let mut event = ctx
            .audit(event_type)
            .client(client.id)
            .target("sso_connection", connection.id)
            .metadata(json!({
                "organization_id": org.as_uuid().to_string(),
                "groups": profile.groups.len(),
            }))
            .at(now);
        event.user_id = Some(user.id.as_uuid());
        writes.push(Write::Audit(event));
        match ports.uow.commit(writes).await? {
            Committed::All(_) => {}
            // The address was taken meanwhile, or the identity linked to someone else.
            Committed::Duplicate(_) => return Err(SsoError::AccountConflict),
            Committed::Refused(i) if i == link_at => return Err(SsoError::AccountConflict),
            Committed::Refused(_) => {
                return Err(anyhow::anyhow!("the membership changed during the sign-in").into());
            }
        }
        if groups_changed {
            crate::tokens::note_membership_change(
                ports,
                self.settings.access_ttl,
                org,
                Some(user.id),
            )
            .await?;
        }
        Ok(user)
    }
}
