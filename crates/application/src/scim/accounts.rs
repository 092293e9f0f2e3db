//! What a SCIM user does to its account. Only a change of the resource's `active` acts: its
//! deactivation disables the account (revoking every session) and remembers that it did; its
//! reactivation enables the account again only if that deactivation disabled it and no other
//! directory holds the account deactivated — an account an operator disabled stays disabled.
//! A directory acts only while its organization owns the account's address domain.

use authservice_domain::scim::{ScimDirectory, ScimType, ScimUser, UserInput};
use authservice_domain::sso::ascii_domain;
use authservice_domain::{Email, EventType, User, UserStatus};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::users::problem;
use super::{Scim, ScimError};
use crate::context::RequestCtx;
use crate::ports::Write;

impl Scim {
    /// When the resource's address (primary email, else an email-shaped `userName`) is no
    /// longer the account's: the write that moves the account to it (proven: the organization
    /// owns its domain and the IdP vouches) and its audit event; the write's index.
    ///
    /// # Errors
    /// `invalidValue`: the new address is off the organization's verified domains.
    pub(super) async fn address_change(
        &self,
        ctx: &RequestCtx,
        dir: &ScimDirectory,
        account: &User,
        input: &UserInput,
        user: &ScimUser,
        writes: &mut Vec<Write>,
    ) -> Result<Option<usize>, ScimError> {
        // A deactivation is never held up by an address it cannot take: an inactive user's
        // account keeps its address.
        let Some(email) = input
            .email()
            .filter(|e| *e != account.email && user.is_active())
        else {
            return Ok(None);
        };
        self.require_org_address(dir, &email).await?;
        let at = writes.len();
        writes.push(Write::SetUserEmail {
            client: dir.client_id,
            user: account.id,
            email: email.clone(),
            verified: true,
            at: user.updated_at,
        });
        writes.push(Write::Audit(
            self.event(ctx, dir, EventType::ScimUserEmailChanged, user)
                .before(json!({ "email": account.email.as_str() }))
                .after(json!({ "email": email.as_str() }))
                .at(user.updated_at),
        ));
        Ok(Some(at))
    }

    /// Whether `email`'s domain is verified for the directory's organization.
    async fn owns_address(&self, dir: &ScimDirectory, email: &Email) -> anyhow::Result<bool> {
        let owner = self
            .ports
            .org_domains
            .verified_for(dir.client_id, &ascii_domain(email))
            .await?;
        Ok(owner == Some(dir.organization_id))
    }

    /// Whether the directory's organization still owns `account`'s address domain.
    pub(super) async fn owns(&self, dir: &ScimDirectory, account: &User) -> anyhow::Result<bool> {
        self.owns_address(dir, &account.email).await
    }

    /// Refuses an address off the domains verified for the directory's organization.
    ///
    /// # Errors
    /// `invalidValue`, a store failure.
    pub(super) async fn require_org_address(
        &self,
        dir: &ScimDirectory,
        email: &Email,
    ) -> Result<(), ScimError> {
        if self.owns_address(dir, email).await? {
            return Ok(());
        }
        Err(problem(
            ScimType::InvalidValue,
            format!(
                "{} is not on a domain verified for the directory's organization",
                email.as_str()
            ),
        ))
    }

    /// The writes for `user.active` after `before` (`None`: a new resource), at
    /// `user.updated_at`; sets `user.disabled_account`. Whether the account's sessions end.
    pub(super) async fn status_change(
        &self,
        ctx: &RequestCtx,
        dir: &ScimDirectory,
        writes: &mut Vec<Write>,
        account: &User,
        before: Option<&ScimUser>,
        user: &mut ScimUser,
    ) -> anyhow::Result<bool> {
        let now = user.updated_at;
        let was_active = before.is_none_or(ScimUser::is_active);
        user.disabled_account = before.is_some_and(|b| b.disabled_account);
        // A user without `active` (removed, left out of a PUT) leaves its account as it was.
        match (was_active, user.active.unwrap_or(was_active)) {
            (true, false) => {
                user.disabled_account = account.status == UserStatus::Active;
                if user.disabled_account {
                    self.set_status(ctx, dir, writes, account, UserStatus::Disabled, now);
                }
                Ok(user.disabled_account)
            }
            (false, true) => {
                let ours = user.disabled_account;
                user.disabled_account = false;
                if ours
                    && account.status == UserStatus::Disabled
                    && !self
                        .ports
                        .scim_users
                        .inactive_elsewhere(account.id, user.id)
                        .await?
                {
                    self.set_status(ctx, dir, writes, account, UserStatus::Active, now);
                }
                Ok(false)
            }
            _ => Ok(false),
        }
    }

    /// A deleted resource that was active disables its account. Whether sessions end.
    pub(super) fn deletion(
        &self,
        ctx: &RequestCtx,
        dir: &ScimDirectory,
        writes: &mut Vec<Write>,
        account: &User,
        deleted: &ScimUser,
        now: DateTime<Utc>,
    ) -> bool {
        let disables = deleted.is_active() && account.status == UserStatus::Active;
        if disables {
            self.set_status(ctx, dir, writes, account, UserStatus::Disabled, now);
        }
        disables
    }

    /// Sets the account's status (disabling revokes every session), audited like an
    /// operator's change with the directory as the actor.
    fn set_status(
        &self,
        ctx: &RequestCtx,
        dir: &ScimDirectory,
        writes: &mut Vec<Write>,
        account: &User,
        status: UserStatus,
        now: DateTime<Utc>,
    ) {
        writes.push(Write::SetUserStatus {
            client: account.client_id,
            user: account.id,
            status,
            at: now,
        });
        let disabled = status == UserStatus::Disabled;
        if disabled {
            writes.push(Write::RevokeUserSessions {
                client: account.client_id,
                user: account.id,
                keep: None,
                reason: "scim_deprovisioned",
                at: now,
            });
        }
        let mut event = ctx
            .audit(if disabled {
                EventType::UserDisabled
            } else {
                EventType::UserEnabled
            })
            .client(account.client_id)
            .by_directory(dir.id)
            .target("user", account.id)
            .metadata(json!({ "sessions_revoked": disabled, "by": "scim" }))
            .at(now);
        event.user_id = Some(account.id.as_uuid());
        writes.push(Write::Audit(event));
    }

    /// Tells the token validators (and other replicas) that `account`'s sessions ended.
    pub(super) async fn sessions_ended(&self, account: &User) -> anyhow::Result<()> {
        crate::tokens::note_session_end(&self.ports, self.access_ttl, account.client_id, account.id)
            .await
    }
}
