//! SCIM Users of a directory. Each provisions one account of the client on an address of a
//! domain verified for the directory's organization (as SSO provisions): a new account, or an
//! existing one whose address was proven — never someone else's. The account joins the
//! organization; `active: false` or a deletion disables it and revokes every session at once.

use authservice_domain::organization::{MemberGroups, Membership, OrgRole};
use authservice_domain::scim::schema::Resource;
use authservice_domain::scim::{ScimDirectory, ScimProblem, ScimType, ScimUser, UserInput, patch};
use authservice_domain::{EventType, User};
use serde_json::{Value, json};
use uuid::Uuid;

use super::ListParams;
use super::{Scim, ScimError, retrying};
use crate::context::RequestCtx;
use crate::ports::{Committed, UserPage, Write};

/// Most users one list answers.
pub const MAX_COUNT: u64 = 1000;
/// Users per list page without `count`.
pub const DEFAULT_COUNT: u64 = 100;

pub(super) fn problem(scim_type: ScimType, detail: impl Into<String>) -> ScimError {
    ScimError::Problem(ScimProblem::new(scim_type, detail))
}

/// The role an account provisioned by SCIM gets in the organization.
const SCIM_MEMBER_ROLE: &str = "member";

impl Scim {
    /// User `id` of the directory.
    ///
    /// # Errors
    /// `NotFound`, a store failure.
    pub async fn get_user(&self, dir: &ScimDirectory, id: &str) -> Result<ScimUser, ScimError> {
        let id = Uuid::try_parse(id).map_err(|_| ScimError::NotFound)?;
        self.ports
            .scim_users
            .get(dir.id, id)
            .await?
            .ok_or(ScimError::NotFound)
    }

    /// A page of the directory's users.
    ///
    /// # Errors
    /// `invalidFilter` (the filter), `invalidValue` (`sortBy`, `sortOrder`), a store failure.
    pub async fn list_users(
        &self,
        dir: &ScimDirectory,
        params: &ListParams,
    ) -> Result<(UserPage, u64), ScimError> {
        let query = params.query()?;
        let page = self
            .ports
            .scim_users
            .list(dir.id, &query)
            .await?
            .map_err(ScimError::Problem)?;
        Ok((page, query.start_index))
    }

    /// Provisions a user.
    ///
    /// # Errors
    /// `invalidValue` (the body; no address; an address off the organization's verified
    /// domains), `uniqueness` (the `userName` is the directory's already; the address is an
    /// account's that was not proven or is provisioned already), a store failure.
    pub async fn create_user(
        &self,
        ctx: &RequestCtx,
        dir: &ScimDirectory,
        body: &Value,
    ) -> Result<ScimUser, ScimError> {
        let input = UserInput::parse(body).map_err(ScimError::Problem)?;
        let email = input.email().ok_or_else(|| {
            problem(
                ScimType::InvalidValue,
                "an email address is required (emails[].value or an email-shaped userName)",
            )
        })?;
        let ports = &self.ports;
        self.require_org_address(dir, &email).await?;
        let now = ports.clock.now();
        let mut writes = Vec::new();
        let account = match ports.users.find_by_email(dir.client_id, &email).await? {
            // An account nobody proved the inbox of may be someone's trap: never joined.
            Some(found) if !found.user.email_verified => {
                return Err(problem(
                    ScimType::Uniqueness,
                    "an account with this address exists and its address is not verified",
                ));
            }
            Some(found) => {
                if ports
                    .scim_users
                    .of_account(dir.id, found.user.id)
                    .await?
                    .is_some()
                {
                    return Err(problem(
                        ScimType::Uniqueness,
                        "this address is provisioned in the directory already",
                    ));
                }
                found.user
            }
            None => {
                let user = User::new(dir.client_id, email, true, input.display_name(), now);
                writes.push(Write::CreateUser(user.clone()));
                user
            }
        };
        let mut user = ScimUser {
            id: Uuid::now_v7(),
            directory_id: dir.id,
            client_id: dir.client_id,
            user_id: account.id,
            user_name: input.user_name,
            external_id: input.external_id,
            // Created without `active`: active (RFC 7643 leaves the default to the provider).
            active: input.active.or(Some(true)),
            attributes: input.attributes,
            version: 1,
            disabled_account: false,
            created_at: now,
            updated_at: now,
        };
        let member = ports
            .organizations
            .member(dir.client_id, dir.organization_id, account.id)
            .await?;
        if member.is_none() {
            writes.push(Write::AddMember(Membership {
                id: Uuid::now_v7(),
                organization_id: dir.organization_id,
                client_id: dir.client_id,
                user_id: account.id,
                role: OrgRole::parse(SCIM_MEMBER_ROLE).map_err(anyhow::Error::from)?,
                groups: MemberGroups::new(),
                joined_at: now,
            }));
        }
        let ends_sessions = self
            .status_change(ctx, dir, &mut writes, &account, None, &mut user)
            .await?;
        let scim_at = writes.len();
        writes.push(Write::CreateScimUser(user.clone()));
        writes.push(Write::Audit(
            self.event(ctx, dir, EventType::ScimUserProvisioned, &user)
                .at(now),
        ));
        match ports.uow.commit(writes).await? {
            Committed::All(_) => {}
            Committed::Duplicate(i) if i == scim_at => {
                return Err(problem(
                    ScimType::Uniqueness,
                    "userName is taken in this directory",
                ));
            }
            Committed::Duplicate(_) | Committed::Refused(_) => {
                return Err(problem(
                    ScimType::Uniqueness,
                    "the account changed meanwhile; try again",
                ));
            }
        }
        if ends_sessions {
            self.sessions_ended(&account).await?;
        }
        Ok(user)
    }

    /// Replaces user `id` with `body` (`if_match`: the `ETag` it must still have).
    ///
    /// # Errors
    /// `NotFound`, `PreconditionFailed`, `invalidValue`, `uniqueness`, a store failure.
    pub async fn replace_user(
        &self,
        ctx: &RequestCtx,
        dir: &ScimDirectory,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<ScimUser, ScimError> {
        let stored = self.get_user(dir, id).await?;
        check_version(&stored.etag(), if_match)?;
        let input = UserInput::parse(body).map_err(ScimError::Problem)?;
        self.store_replacement(ctx, dir, &stored, input).await
    }

    /// Applies a `PatchOp` body to user `id` (`if_match`: the `ETag` it must still have).
    ///
    /// # Errors
    /// `NotFound`, `PreconditionFailed`, `invalidSyntax`, `invalidPath`, `noTarget`,
    /// `mutability`, `invalidValue`, `uniqueness`, a store failure.
    pub async fn patch_user(
        &self,
        ctx: &RequestCtx,
        dir: &ScimDirectory,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<ScimUser, ScimError> {
        let ops = &patch::parse_patch(body).map_err(ScimError::Problem)?;
        retrying(if_match, || async move {
            let stored = self.get_user(dir, id).await?;
            check_version(&stored.etag(), if_match)?;
            let mut doc = stored.document();
            patch::apply(Resource::User, &mut doc, ops).map_err(ScimError::Problem)?;
            let input = UserInput::parse(&Value::Object(doc)).map_err(ScimError::Problem)?;
            self.store_replacement(ctx, dir, &stored, input).await
        })
        .await
    }

    /// Stores `input` as the new state of `stored` (at the next version), with what it does
    /// to the account.
    async fn store_replacement(
        &self,
        ctx: &RequestCtx,
        dir: &ScimDirectory,
        stored: &ScimUser,
        input: UserInput,
    ) -> Result<ScimUser, ScimError> {
        let now = self.ports.clock.now();
        let mut user = ScimUser {
            user_name: input.user_name.clone(),
            external_id: input.external_id.clone(),
            active: input.active,
            attributes: input.attributes.clone(),
            version: stored.version + 1,
            updated_at: now,
            ..stored.clone()
        };
        let account = self
            .ports
            .users
            .get(dir.client_id, stored.user_id)
            .await?
            .ok_or(ScimError::NotFound)?
            .user;
        if !self.owns(dir, &account).await? {
            return Err(ScimError::DomainNotOwned);
        }
        let mut status_writes = Vec::new();
        let ends_sessions = self
            .status_change(
                ctx,
                dir,
                &mut status_writes,
                &account,
                Some(stored),
                &mut user,
            )
            .await?;
        let mut writes = vec![Write::ReplaceScimUser(user.clone())];
        let email_at = self
            .address_change(ctx, dir, &account, &input, &user, &mut writes)
            .await?;
        let name = input.display_name();
        if name.is_some() && name != account.display_name {
            writes.push(Write::UpdateUserProfile(User {
                display_name: name,
                updated_at: now,
                ..account.clone()
            }));
        }
        writes.extend(status_writes);
        writes.push(Write::Audit(
            self.event(ctx, dir, EventType::ScimUserUpdated, &user)
                .before(json!({ "userName": stored.user_name, "active": stored.is_active() }))
                .at(now),
        ));
        match self.ports.uow.commit(writes).await? {
            Committed::All(_) => {}
            Committed::Refused(0) => return Err(ScimError::PreconditionFailed),
            Committed::Duplicate(0) => {
                return Err(problem(
                    ScimType::Uniqueness,
                    "userName is taken in this directory",
                ));
            }
            Committed::Duplicate(i) if Some(i) == email_at => {
                return Err(problem(
                    ScimType::Uniqueness,
                    "another account of the application has this address",
                ));
            }
            Committed::Duplicate(_) | Committed::Refused(_) => {
                return Err(anyhow::anyhow!("the account changed during a SCIM update").into());
            }
        }
        if ends_sessions {
            self.sessions_ended(&account).await?;
        }
        Ok(user)
    }

    /// Deletes user `id`: its account is disabled and every session of it revoked.
    ///
    /// # Errors
    /// `NotFound`, `PreconditionFailed`, a store failure.
    pub async fn delete_user(
        &self,
        ctx: &RequestCtx,
        dir: &ScimDirectory,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), ScimError> {
        let stored = self.get_user(dir, id).await?;
        check_version(&stored.etag(), if_match)?;
        let now = self.ports.clock.now();
        let mut writes = vec![Write::DeleteScimUser {
            directory: dir.id,
            id: stored.id,
            version: stored.version,
        }];
        let account = self
            .ports
            .users
            .get(dir.client_id, stored.user_id)
            .await?
            .map(|found| found.user);
        // A directory whose organization lost the account's domain forgets the user only.
        let mut ends_sessions = false;
        if let Some(account) = &account
            && self.owns(dir, account).await?
        {
            ends_sessions = self.deletion(ctx, dir, &mut writes, account, &stored, now);
        }
        // Its group memberships go with it: the names its account had from them too.
        writes.push(Write::SyncScimMemberGroups {
            client: dir.client_id,
            org: dir.organization_id,
            accounts: vec![stored.user_id],
        });
        writes.push(Write::Audit(
            self.event(ctx, dir, EventType::ScimUserDeleted, &stored)
                .at(now),
        ));
        match self.ports.uow.commit(writes).await? {
            Committed::All(_) => {}
            // Changed since it was read (a concurrent PUT or PATCH): the client reads again.
            Committed::Refused(0) => return Err(ScimError::PreconditionFailed),
            _ => return Err(anyhow::anyhow!("the account changed during a SCIM deletion").into()),
        }
        if let (true, Some(account)) = (ends_sessions, account) {
            self.sessions_ended(&account).await?;
        }
        self.groups_changed(dir, &[stored.user_id]).await?;
        Ok(())
    }

    pub(super) fn event(
        &self,
        ctx: &RequestCtx,
        dir: &ScimDirectory,
        event: EventType,
        user: &ScimUser,
    ) -> crate::context::AuditDraft {
        ctx.audit(event)
            .client(dir.client_id)
            .by_directory(dir.id)
            .target("user", user.user_id)
            .metadata(json!({
                "scim_user_id": user.id.to_string(),
                "organization_id": dir.organization_id.as_uuid().to_string(),
                "active": user.is_active(),
            }))
            .after(json!({ "userName": user.user_name, "active": user.is_active() }))
    }
}

/// `If-Match`: `*` or the resource's current `ETag` (weak and strong alike).
pub(super) fn check_version(etag: &str, if_match: Option<&str>) -> Result<(), ScimError> {
    match if_match {
        Some(tags) if !authservice_domain::scim::etag_matches(etag, tags) => {
            Err(ScimError::PreconditionFailed)
        }
        _ => Ok(()),
    }
}
