//! The in-memory SCIM groups: members are kept by SCIM user id and read with the users' names.

use authservice_application::ports::{GroupPage, GroupRef, ScimGroupRepository, ScimQuery};
use authservice_domain::organization::{GroupSource, OrganizationId};
use authservice_domain::scim::{GroupMember, ScimGroup, ScimProblem};

use super::*;

impl State {
    /// The group with its members' current accounts and names (users gone are dropped).
    fn read_scim_group(&self, g: &ScimGroup) -> ScimGroup {
        let members = g
            .members
            .iter()
            .filter_map(|m| self.scim_member(g.directory_id, m.id))
            .collect();
        ScimGroup {
            members,
            ..g.clone()
        }
    }

    fn scim_member(&self, directory: Uuid, id: Uuid) -> Option<GroupMember> {
        self.scim_users
            .iter()
            .find(|u| u.directory_id == directory && u.id == id)
            .map(|u| GroupMember {
                id: u.id,
                user_id: u.user_id,
                display: u
                    .attributes
                    .get("displayName")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or(&u.user_name)
                    .to_owned(),
            })
    }

    /// Stores a group (new, or replacing the one at the version before) with its members
    /// that are users of its directory; `None` when the name is taken, `Some(false)` when a
    /// replaced group is gone or changed.
    pub(super) fn put_scim_group(&mut self, g: ScimGroup, replace: bool) -> Option<bool> {
        let taken = self.scim_groups.iter().any(|s| {
            s.directory_id == g.directory_id
                && s.id != g.id
                && s.display_name.eq_ignore_ascii_case(&g.display_name)
        });
        if taken {
            return None;
        }
        let stored = ScimGroup {
            members: g
                .members
                .iter()
                .filter_map(|m| self.scim_member(g.directory_id, m.id))
                .collect(),
            ..g.clone()
        };
        if !replace {
            self.scim_groups.push(stored);
            return Some(true);
        }
        match self.scim_groups.iter_mut().find(|s| {
            s.directory_id == g.directory_id && s.id == g.id && s.version == g.version - 1
        }) {
            Some(s) => {
                *s = stored;
                Some(true)
            }
            None => Some(false),
        }
    }

    /// Sets the `scim` groups of `accounts`' memberships in `org`.
    pub(super) fn sync_scim_member_groups(
        &mut self,
        client: ClientId,
        org: OrganizationId,
        accounts: &[UserId],
    ) {
        let directories: Vec<Uuid> = self
            .scim_directories
            .iter()
            .filter(|(d, _)| {
                d.client_id == client
                    && d.organization_id == org
                    && d.status == authservice_domain::scim::DirectoryStatus::Active
            })
            .map(|(d, _)| d.id)
            .collect();
        for account in accounts {
            let mut names: Vec<String> = self
                .scim_groups
                .iter()
                .filter(|g| directories.contains(&g.directory_id))
                .map(|g| self.read_scim_group(g))
                .filter(|g| g.members.iter().any(|m| m.user_id == *account))
                .map(|g| g.display_name)
                .collect();
            names.sort();
            names.dedup();
            if let Some(m) = self.members.iter_mut().find(|m| {
                m.client_id == client && m.organization_id == org && m.user_id == *account
            }) {
                if names.is_empty() {
                    m.groups.remove(&GroupSource::Scim);
                } else {
                    m.groups.insert(GroupSource::Scim, names);
                }
            }
        }
    }
}

#[async_trait]
impl ScimGroupRepository for MemoryDb {
    async fn get(&self, directory: Uuid, id: Uuid) -> anyhow::Result<Option<ScimGroup>> {
        let st = self.lock();
        Ok(st
            .scim_groups
            .iter()
            .find(|g| g.directory_id == directory && g.id == id)
            .map(|g| st.read_scim_group(g)))
    }

    /// Pages in creation order; filters and sorting are the SQL store's (not evaluated here).
    async fn list(
        &self,
        directory: Uuid,
        query: &ScimQuery,
    ) -> anyhow::Result<Result<GroupPage, ScimProblem>> {
        if query.filter.is_some() || query.sort.is_some() {
            anyhow::bail!("the in-memory store does not evaluate SCIM filters or sorting");
        }
        let st = self.lock();
        let mut all: Vec<ScimGroup> = st
            .scim_groups
            .iter()
            .filter(|g| g.directory_id == directory)
            .map(|g| ScimGroup {
                members: Vec::new(),
                ..g.clone()
            })
            .collect();
        all.sort_by_key(|g| (g.created_at, g.id));
        let total = all.len() as u64;
        let skip = usize::try_from(query.start_index.saturating_sub(1)).unwrap_or(usize::MAX);
        let take = usize::try_from(query.count).unwrap_or(usize::MAX);
        Ok(Ok(GroupPage {
            total,
            groups: all.into_iter().skip(skip).take(take).collect(),
        }))
    }

    async fn of_users(&self, directory: Uuid, users: &[Uuid]) -> anyhow::Result<Vec<GroupRef>> {
        let st = self.lock();
        let mut out = Vec::new();
        for g in st
            .scim_groups
            .iter()
            .filter(|g| g.directory_id == directory)
        {
            for m in &st.read_scim_group(g).members {
                if users.contains(&m.id) {
                    out.push(GroupRef {
                        user: m.id,
                        group: g.id,
                        display_name: g.display_name.clone(),
                    });
                }
            }
        }
        Ok(out)
    }

    async fn members_of(
        &self,
        directory: Uuid,
        groups: &[Uuid],
    ) -> anyhow::Result<std::collections::HashMap<Uuid, Vec<GroupMember>>> {
        let st = self.lock();
        Ok(st
            .scim_groups
            .iter()
            .filter(|g| g.directory_id == directory && groups.contains(&g.id))
            .map(|g| (g.id, st.read_scim_group(g).members))
            .collect())
    }

    async fn count_members(&self, directory: Uuid, groups: &[Uuid]) -> anyhow::Result<u64> {
        Ok(self
            .members_of(directory, groups)
            .await?
            .values()
            .map(|m| m.len() as u64)
            .sum())
    }

    async fn accounts_in(&self, directory: Uuid) -> anyhow::Result<Vec<UserId>> {
        let st = self.lock();
        let mut out: Vec<UserId> = st
            .scim_groups
            .iter()
            .filter(|g| g.directory_id == directory)
            .flat_map(|g| st.read_scim_group(g).members)
            .map(|m| m.user_id)
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    async fn members_among(
        &self,
        directory: Uuid,
        ids: &[Uuid],
    ) -> anyhow::Result<Vec<GroupMember>> {
        let st = self.lock();
        Ok(ids
            .iter()
            .filter_map(|id| st.scim_member(directory, *id))
            .collect())
    }
}
