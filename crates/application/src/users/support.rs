//! What operators do for one end user beyond search and status: read the whole account (its
//! sessions, second factors, passkeys, linked identities, organizations, recent events), change
//! the profile, reset the second factors, send a reset or verification link, export the data
//! (access requests) and erase it. Every action is audited with the operator as actor; an
//! erasure or a reset ends the user's sessions at once, like a revocation.

use authservice_domain::organization::{Membership, Organization};
use authservice_domain::social::SocialKind;
use authservice_domain::{
    AuditEvent, Client, ClientId, Email, EventType, Notice, Permission, TokenPurpose, User, UserId,
    ValidationError,
};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::manage_user::{ManageUser, ManageUserError};
use crate::audit::record_quietly;
use crate::context::RequestCtx;
use crate::ports::{AuditFilter, Committed, SessionInfo, StoredPasskey, Write};

/// Everything an operator sees of a user (never a secret).
#[derive(Debug, Clone)]
pub struct UserDossier {
    pub user: User,
    pub sessions: Vec<SessionInfo>,
    /// `(unused, total)` recovery codes.
    pub recovery_codes: (u32, u32),
    pub passkeys: Vec<StoredPasskey>,
    pub social: Vec<(SocialKind, DateTime<Utc>)>,
    pub organizations: Vec<(Organization, Membership)>,
    pub events: Vec<AuditEvent>,
}

/// `PATCH …/users/{user}`: each field changes when present.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// `Some(None)` clears it.
    pub display_name: Option<Option<String>>,
    /// A new address: unverified until the user follows the link sent to it, unless
    /// `email_verified: true` comes along.
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub status: Option<String>,
}

const RECENT_EVENTS: usize = 20;
const EXPORTED_EVENTS: usize = 1000;

impl ManageUser {
    async fn load(&self, client: ClientId, user: UserId) -> Result<User, ManageUserError> {
        Ok(self
            .ports
            .users
            .get(client, user)
            .await?
            .ok_or(ManageUserError::NotFound)?
            .user)
    }

    async fn client(&self, id: ClientId) -> Result<Client, ManageUserError> {
        self.ports
            .clients
            .get(id)
            .await?
            .ok_or(ManageUserError::NotFound)
    }

    async fn gather(
        &self,
        client: ClientId,
        user: User,
        events: usize,
    ) -> Result<UserDossier, ManageUserError> {
        let p = &self.ports;
        let now = p.clock.now();
        let filter = AuditFilter {
            client_id: Some(client),
            user_id: Some(user.id.as_uuid()),
            ..AuditFilter::default()
        };
        Ok(UserDossier {
            sessions: p.sessions.list_live(client, user.id, now).await?,
            recovery_codes: p.mfa.recovery_code_counts(client, user.id).await?,
            passkeys: p.passkeys.list(client, user.id).await?,
            social: p.social_providers.identities_of(client, user.id).await?,
            organizations: p.organizations.list_for_user(client, user.id).await?,
            events: p.audit.list(&filter, None, events).await?,
            user,
        })
    }

    /// `GET …/users/{user}`: the account and what hangs off it; audited `user.read`.
    pub async fn dossier(
        &self,
        ctx: &RequestCtx,
        client: &str,
        user: &str,
    ) -> Result<UserDossier, ManageUserError> {
        let (client, user) = Self::ids(ctx, Permission::UsersRead, client, user)?;
        let found = self.load(client, user).await?;
        let dossier = self.gather(client, found, RECENT_EVENTS).await?;
        let event = ctx
            .audit(EventType::UserRead)
            .client(client)
            .target("user", user)
            .at(self.ports.clock.now());
        record_quietly(&self.ports, &event).await;
        Ok(dossier)
    }

    /// `GET …/users/{user}/export`: the user's data for an access request (their audit events
    /// up to 1,000, newest first); audited `user.exported`.
    pub async fn export(
        &self,
        ctx: &RequestCtx,
        client: &str,
        user: &str,
    ) -> Result<(UserDossier, Vec<crate::ports::Consent>), ManageUserError> {
        let (client, user) = Self::ids(ctx, Permission::UsersRead, client, user)?;
        let found = self.load(client, user).await?;
        let dossier = self.gather(client, found, EXPORTED_EVENTS).await?;
        let consents = self.ports.consents.list(client, user).await?;
        let mut event = ctx
            .audit(EventType::UserExported)
            .client(client)
            .target("user", user)
            .at(self.ports.clock.now());
        event.user_id = Some(user.as_uuid());
        record_quietly(&self.ports, &event).await;
        Ok((dossier, consents))
    }

    /// `PATCH …/users/{user}`: display name, address (re-verified: a link goes to the new
    /// address unless `email_verified: true` is given), `email_verified`, status.
    pub async fn update(
        &self,
        ctx: &RequestCtx,
        client: &str,
        user: &str,
        patch: UserPatch,
    ) -> Result<User, ManageUserError> {
        let (client_id, user_id) = Self::ids(ctx, Permission::UsersUpdate, client, user)?;
        // An address change or a verification is how an account is taken over (a reset link
        // follows the address): it needs `users:identity`.
        if patch.email.is_some() || patch.email_verified.is_some() {
            ctx.require_for_client(Permission::UsersIdentity, client_id)?;
        }
        let before = self.load(client_id, user_id).await?;
        let mut after = before.clone();
        if let Some(name) = &patch.display_name {
            after.display_name = match name {
                Some(raw) => authservice_domain::user::parse_display_name(raw)?,
                None => None,
            };
        }
        let new_email = patch.email.as_deref().map(Email::parse).transpose()?;
        let moved = new_email.as_ref().is_some_and(|e| *e != before.email);
        if let Some(email) = new_email {
            after.email = email;
        }
        after.email_verified = match patch.email_verified {
            Some(v) => v,
            None if moved => false,
            None => before.email_verified,
        };
        let now = self.ports.clock.now();
        after.updated_at = now;
        let profile_changed = after.display_name != before.display_name
            || after.email != before.email
            || after.email_verified != before.email_verified;
        if profile_changed {
            let mut event = ctx
                .audit(EventType::UserUpdatedByOperator)
                .client(client_id)
                .target("user", user_id)
                .before(snapshot(&before))
                .after(snapshot(&after))
                .at(now);
            event.user_id = Some(user_id.as_uuid());
            let mut writes = vec![Write::UpdateUserProfile(after.clone())];
            if after.email != before.email || after.email_verified != before.email_verified {
                writes.push(Write::SetUserEmail {
                    client: client_id,
                    user: user_id,
                    email: after.email.clone(),
                    verified: after.email_verified,
                    at: now,
                });
            }
            writes.push(Write::Audit(event));
            // The old address hears of the change (an account moved away is noticed).
            let client = match moved {
                true => Some(self.client(client_id).await?),
                false => None,
            };
            if let Some(client) = &client {
                let notice = crate::email::prepare_notice(
                    &self.ports,
                    &self.mail,
                    client,
                    &before,
                    Notice::EmailChanged,
                )
                .await?;
                writes.push(Write::QueueEmail(notice));
            }
            match self.ports.uow.commit(writes).await? {
                Committed::All(_) => {}
                Committed::Duplicate(_) => {
                    return Err(ValidationError::new(
                        "email",
                        "another account of the client has it",
                    )
                    .into());
                }
                Committed::Refused(_) => return Err(ManageUserError::NotFound),
            }
            self.ports.outbox_signal.wake();
            if let Some(client) = &client
                && !after.email_verified
            {
                crate::email::send_link_for_operator(
                    &self.ports,
                    &self.mail,
                    ctx,
                    client,
                    &after,
                    TokenPurpose::VerifyEmail,
                    EventType::VerificationEmailSent,
                )
                .await?;
            }
        }
        if let Some(status) = &patch.status {
            return self.set_status(ctx, client, user, status).await;
        }
        Ok(after)
    }

    /// `POST …/users/{user}/mfa/reset`: removes TOTP, recovery codes and passkeys, ends every
    /// session, and emails the user; audited `user.mfa_reset`.
    pub async fn reset_mfa(
        &self,
        ctx: &RequestCtx,
        client: &str,
        user: &str,
    ) -> Result<(), ManageUserError> {
        let (client_id, user_id) = Self::ids(ctx, Permission::UsersUpdate, client, user)?;
        let found = self.load(client_id, user_id).await?;
        let client = self.client(client_id).await?;
        let passkeys = self.ports.passkeys.list(client_id, user_id).await?;
        let now = self.ports.clock.now();
        let mut event = ctx
            .audit(EventType::UserMfaReset)
            .client(client_id)
            .target("user", user_id)
            .metadata(json!({ "totp": found.totp_enabled, "passkeys": passkeys.len() }))
            .at(now);
        event.user_id = Some(user_id.as_uuid());
        let mut writes = vec![
            Write::DisableTotp {
                client: client_id,
                user: user_id,
                at: now,
            },
            Write::ReplaceRecoveryCodes {
                client: client_id,
                user: user_id,
                codes: Vec::new(),
                at: now,
            },
        ];
        writes.extend(passkeys.iter().map(|p| Write::DeletePasskey {
            client: client_id,
            user: user_id,
            id: p.id,
        }));
        writes.push(Write::RevokeUserSessions {
            client: client_id,
            user: user_id,
            keep: None,
            reason: "mfa_reset",
            at: now,
        });
        let notice = crate::email::prepare_notice(
            &self.ports,
            &self.mail,
            &client,
            &found,
            Notice::SecondFactorsReset,
        )
        .await?;
        writes.push(Write::QueueEmail(notice));
        writes.push(Write::Audit(event));
        self.ports.uow.commit(writes).await?;
        self.ports.outbox_signal.wake();
        crate::tokens::note_session_end(&self.ports, self.config.access_ttl, client_id, user_id)
            .await?;
        Ok(())
    }

    /// `POST …/users/{user}/send-password-reset` or `…/resend-verification`: a link to the
    /// user's address (3 an hour per address).
    pub async fn send_link(
        &self,
        ctx: &RequestCtx,
        client: &str,
        user: &str,
        purpose: TokenPurpose,
    ) -> Result<(), ManageUserError> {
        let (client_id, user_id) = Self::ids(ctx, Permission::UsersUpdate, client, user)?;
        let found = self.load(client_id, user_id).await?;
        if purpose == TokenPurpose::VerifyEmail && found.email_verified {
            return Err(ManageUserError::AlreadyVerified);
        }
        let client = self.client(client_id).await?;
        let event_type = match purpose {
            TokenPurpose::VerifyEmail => EventType::VerificationEmailSent,
            _ => EventType::PasswordResetRequested,
        };
        crate::email::send_link_for_operator(
            &self.ports,
            &self.mail,
            ctx,
            &client,
            &found,
            purpose,
            event_type,
        )
        .await
        .map_err(ManageUserError::from)
    }

    /// `DELETE …/users/{user}`: erases the account (see `Write::EraseUser`); its access tokens
    /// stop like a revocation. Refused for the last owner of an organization. Audited
    /// `user.erased` naming the pseudonym only.
    pub async fn erase(
        &self,
        ctx: &RequestCtx,
        client: &str,
        user: &str,
    ) -> Result<Uuid, ManageUserError> {
        let (client_id, user_id) = Self::ids(ctx, Permission::UsersErase, client, user)?;
        self.load(client_id, user_id).await?;
        let digest = self
            .ports
            .secret_box
            .keyed_digest("user-erasure", user_id.as_uuid().as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        let pseudonym = uuid::Builder::from_random_bytes(bytes).into_uuid();
        let event = ctx
            .audit(EventType::UserErased)
            .client(client_id)
            .target("user", pseudonym)
            .at(self.ports.clock.now());
        let erased = self
            .ports
            .uow
            .commit(vec![
                Write::EraseUser {
                    client: client_id,
                    user: user_id,
                    pseudonym,
                },
                Write::Audit(event),
            ])
            .await?;
        if let Committed::Refused(_) = erased {
            return Err(ManageUserError::LastOwner);
        }
        crate::tokens::note_session_end(&self.ports, self.config.access_ttl, client_id, user_id)
            .await?;
        Ok(pseudonym)
    }
}

/// The parts of a user an operator change touches, for `before`/`after`.
fn snapshot(user: &User) -> Value {
    json!({
        "email": user.email.as_str(),
        "email_verified": user.email_verified,
        "display_name": user.display_name,
    })
}
