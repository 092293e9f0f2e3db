//! SCIM Groups of a directory. Members are the directory's Users; the names of an account's
//! groups (of every directory of the organization) become its membership's `scim` groups, which
//! the organization's group mappings of source `scim` grant by — recomputed in the same
//! transaction as every change of a group, and announced to token validation at once.

use std::collections::BTreeSet;

use authservice_domain::scim::schema::Resource;
use authservice_domain::scim::{
    GroupInput, GroupMember, ScimDirectory, ScimGroup, ScimType, patch,
};
use authservice_domain::{EventType, UserId};
use serde_json::{Value, json};
use uuid::Uuid;

use super::ListParams;
use super::users::{check_version, problem};
use super::{Scim, ScimError, retrying};
use crate::context::RequestCtx;
use crate::ports::{Committed, GroupPage, Write};

/// Most members one list of groups answers (its groups' members together).
pub const MAX_LISTED_MEMBERS: u64 = 100_000;

/// Above this many accounts changed at once, token validation is told the whole organization
/// changed rather than each member.
const NOTE_EACH_UP_TO: usize = 50;

impl Scim {
    /// Group `id` of the directory, with its members.
    ///
    /// # Errors
    /// `NotFound`, a store failure.
    pub async fn get_group(&self, dir: &ScimDirectory, id: &str) -> Result<ScimGroup, ScimError> {
        let id = Uuid::try_parse(id).map_err(|_| ScimError::NotFound)?;
        self.ports
            .scim_groups
            .get(dir.id, id)
            .await?
            .ok_or(ScimError::NotFound)
    }

    /// A page of the directory's groups (`members`: with their members).
    ///
    /// # Errors
    /// `invalidFilter`, `invalidValue` (`sortBy`, `sortOrder`), a store failure.
    pub async fn list_groups(
        &self,
        dir: &ScimDirectory,
        params: &ListParams,
        members: bool,
    ) -> Result<(GroupPage, u64), ScimError> {
        let query = params.query()?;
        let mut page = self
            .ports
            .scim_groups
            .list(dir.id, &query)
            .await?
            .map_err(ScimError::Problem)?;
        if members {
            self.fill_members(dir, &mut page.groups).await?;
        }
        Ok((page, query.start_index))
    }

    /// Reads the members of listed `groups` — at most [`MAX_LISTED_MEMBERS`] in all.
    ///
    /// # Errors
    /// `tooMany`, a store failure.
    pub(super) async fn fill_members(
        &self,
        dir: &ScimDirectory,
        groups: &mut [ScimGroup],
    ) -> Result<(), ScimError> {
        if groups.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = groups.iter().map(|g| g.id).collect();
        let count = self.ports.scim_groups.count_members(dir.id, &ids).await?;
        if count > MAX_LISTED_MEMBERS {
            return Err(problem(
                ScimType::TooMany,
                format!(
                    "the page's groups have {count} members, more than the {MAX_LISTED_MEMBERS} \
                     a list answers: ask for fewer groups (count) or leave the members out \
                     (excludedAttributes=members)"
                ),
            ));
        }
        let mut found = self.ports.scim_groups.members_of(dir.id, &ids).await?;
        for group in groups {
            group.members = found.remove(&group.id).unwrap_or_default();
        }
        Ok(())
    }

    /// Creates a group.
    ///
    /// # Errors
    /// `invalidValue` (the body, a member that is no user of the directory), `uniqueness`
    /// (the `displayName` is the directory's already), a store failure.
    pub async fn create_group(
        &self,
        ctx: &RequestCtx,
        dir: &ScimDirectory,
        body: &Value,
    ) -> Result<ScimGroup, ScimError> {
        let input = GroupInput::parse(body).map_err(ScimError::Problem)?;
        let now = self.ports.clock.now();
        let group = ScimGroup {
            id: Uuid::now_v7(),
            directory_id: dir.id,
            client_id: dir.client_id,
            display_name: input.display_name,
            external_id: input.external_id,
            members: self.members(dir, &input.members).await?,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let accounts = accounts_of(&group.members, &[]);
        let event = self
            .group_event(ctx, dir, EventType::ScimGroupCreated, &group)
            .metadata(json!({
                "organization_id": dir.organization_id.as_uuid().to_string(),
                "members": group.members.len(),
            }))
            .at(now);
        self.commit_group(dir, Write::CreateScimGroup(group.clone()), accounts, event)
            .await?;
        Ok(group)
    }

    /// Replaces group `id` with `body` (`if_match`: the `ETag` it must still have).
    ///
    /// # Errors
    /// `NotFound`, `PreconditionFailed`, `invalidValue`, `uniqueness`, a store failure.
    pub async fn replace_group(
        &self,
        ctx: &RequestCtx,
        dir: &ScimDirectory,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<ScimGroup, ScimError> {
        let stored = self.get_group(dir, id).await?;
        check_version(&stored.etag(), if_match)?;
        let input = GroupInput::parse(body).map_err(ScimError::Problem)?;
        self.store_group(ctx, dir, &stored, input).await
    }

    /// Applies a `PatchOp` body to group `id` — Okta's and Entra ID's member `add` and
    /// `remove` (by value list or by `members[value eq "…"]`), renames, path-less replace.
    ///
    /// # Errors
    /// `NotFound`, `PreconditionFailed`, `invalidSyntax`, `invalidPath`, `noTarget`,
    /// `mutability`, `invalidValue`, `uniqueness`, a store failure.
    pub async fn patch_group(
        &self,
        ctx: &RequestCtx,
        dir: &ScimDirectory,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<ScimGroup, ScimError> {
        let ops = &patch::parse_patch(body).map_err(ScimError::Problem)?;
        // Two member changes at once (Okta and Entra ID send them without If-Match): the
        // later one is applied to the state the earlier one left.
        retrying(if_match, || async move {
            let stored = self.get_group(dir, id).await?;
            check_version(&stored.etag(), if_match)?;
            let mut doc = stored.document();
            patch::apply(Resource::Group, &mut doc, ops).map_err(ScimError::Problem)?;
            let input = GroupInput::parse(&Value::Object(doc)).map_err(ScimError::Problem)?;
            self.store_group(ctx, dir, &stored, input).await
        })
        .await
    }

    async fn store_group(
        &self,
        ctx: &RequestCtx,
        dir: &ScimDirectory,
        stored: &ScimGroup,
        input: GroupInput,
    ) -> Result<ScimGroup, ScimError> {
        let now = self.ports.clock.now();
        let group = ScimGroup {
            display_name: input.display_name,
            external_id: input.external_id,
            members: self.members(dir, &input.members).await?,
            version: stored.version + 1,
            updated_at: now,
            ..stored.clone()
        };
        let before: BTreeSet<Uuid> = stored.members.iter().map(|m| m.id).collect();
        let after: BTreeSet<Uuid> = group.members.iter().map(|m| m.id).collect();
        // A rename changes every member's names; else only those who joined or left.
        let accounts = if group.display_name == stored.display_name {
            let changed: Vec<GroupMember> = stored
                .members
                .iter()
                .chain(&group.members)
                .filter(|m| before.contains(&m.id) != after.contains(&m.id))
                .cloned()
                .collect();
            accounts_of(&changed, &[])
        } else {
            accounts_of(&stored.members, &group.members)
        };
        let event = self
            .group_event(ctx, dir, EventType::ScimGroupUpdated, &group)
            .before(json!({ "displayName": stored.display_name }))
            .metadata(json!({
                "organization_id": dir.organization_id.as_uuid().to_string(),
                "members": group.members.len(),
                "added": after.difference(&before).count(),
                "removed": before.difference(&after).count(),
            }))
            .at(now);
        self.commit_group(dir, Write::ReplaceScimGroup(group.clone()), accounts, event)
            .await?;
        Ok(group)
    }

    /// Deletes group `id`: its members lose its name.
    ///
    /// # Errors
    /// `NotFound`, `PreconditionFailed`, a store failure.
    pub async fn delete_group(
        &self,
        ctx: &RequestCtx,
        dir: &ScimDirectory,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), ScimError> {
        let stored = self.get_group(dir, id).await?;
        check_version(&stored.etag(), if_match)?;
        let event = self
            .group_event(ctx, dir, EventType::ScimGroupDeleted, &stored)
            .metadata(json!({
                "organization_id": dir.organization_id.as_uuid().to_string(),
                "members": stored.members.len(),
            }))
            .at(self.ports.clock.now());
        let write = Write::DeleteScimGroup {
            directory: dir.id,
            id: stored.id,
            version: stored.version,
        };
        self.commit_group(dir, write, accounts_of(&stored.members, &[]), event)
            .await
    }

    /// The directory's users among `ids`, as members.
    ///
    /// # Errors
    /// `invalidValue` naming an id that is no user of the directory.
    async fn members(
        &self,
        dir: &ScimDirectory,
        ids: &[Uuid],
    ) -> Result<Vec<GroupMember>, ScimError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut found: std::collections::HashMap<Uuid, GroupMember> = self
            .ports
            .scim_groups
            .members_among(dir.id, ids)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let member = found.remove(id).ok_or_else(|| {
                problem(
                    ScimType::InvalidValue,
                    format!("members: {id} is no User of this directory"),
                )
            })?;
            out.push(member);
        }
        Ok(out)
    }

    /// Commits a group's write with its audit event and the resync of `accounts`' `scim`
    /// groups, then tells token validation their grants changed.
    async fn commit_group(
        &self,
        dir: &ScimDirectory,
        write: Write,
        accounts: Vec<UserId>,
        event: authservice_domain::AuditEvent,
    ) -> Result<(), ScimError> {
        let mut writes = vec![write];
        if !accounts.is_empty() {
            writes.push(Write::SyncScimMemberGroups {
                client: dir.client_id,
                org: dir.organization_id,
                accounts: accounts.clone(),
            });
        }
        writes.push(Write::Audit(event));
        match self.ports.uow.commit(writes).await? {
            Committed::All(_) => {}
            Committed::Duplicate(0) => {
                return Err(problem(
                    ScimType::Uniqueness,
                    "displayName is taken in this directory",
                ));
            }
            // Changed or deleted since it was read: the client reads again.
            Committed::Refused(0) => return Err(ScimError::PreconditionFailed),
            Committed::Duplicate(_) | Committed::Refused(_) => {
                return Err(anyhow::anyhow!("a SCIM group write was refused").into());
            }
        }
        self.groups_changed(dir, &accounts).await?;
        Ok(())
    }

    /// Tells token validation that `accounts`' grants in the directory's organization changed.
    pub(super) async fn groups_changed(
        &self,
        dir: &ScimDirectory,
        accounts: &[UserId],
    ) -> anyhow::Result<()> {
        if accounts.len() > NOTE_EACH_UP_TO {
            return crate::tokens::note_membership_change(
                &self.ports,
                self.access_ttl,
                dir.organization_id,
                None,
            )
            .await;
        }
        for account in accounts {
            crate::tokens::note_membership_change(
                &self.ports,
                self.access_ttl,
                dir.organization_id,
                Some(*account),
            )
            .await?;
        }
        Ok(())
    }

    fn group_event(
        &self,
        ctx: &RequestCtx,
        dir: &ScimDirectory,
        event: EventType,
        group: &ScimGroup,
    ) -> crate::context::AuditDraft {
        ctx.audit(event)
            .client(dir.client_id)
            .by_directory(dir.id)
            .target("scim_group", group.id)
            .after(json!({ "displayName": group.display_name }))
    }
}

/// The distinct accounts of `a` and `b`.
fn accounts_of(a: &[GroupMember], b: &[GroupMember]) -> Vec<UserId> {
    let set: BTreeSet<UserId> = a.iter().chain(b).map(|m| m.user_id).collect();
    set.into_iter().collect()
}
