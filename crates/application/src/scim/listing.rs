//! What the lists of Users and Groups share: their parameters turned into the store's query,
//! and the `groups` a page of users shows.

use std::collections::HashMap;

use authservice_domain::scim::{ScimDirectory, ScimType};
use serde_json::{Value, json};
use uuid::Uuid;

use super::users::{DEFAULT_COUNT, MAX_COUNT, problem};
use super::{Scim, ScimError};
use crate::ports::ScimQuery;

/// The query parameters of a list (`GET /Users`, `POST /Users/.search`).
#[derive(Debug, Default, Clone)]
pub struct ListParams {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
}

impl ListParams {
    /// The store's query: the filter parsed, the sort checked, the page bounded.
    ///
    /// # Errors
    /// `invalidFilter` (the filter), `invalidValue` (`sortBy`, `sortOrder`).
    pub(super) fn query(&self) -> Result<ScimQuery, ScimError> {
        let filter = self
            .filter
            .as_deref()
            .filter(|f| !f.trim().is_empty())
            .map(authservice_domain::scim::Filter::parse)
            .transpose()
            .map_err(|e| ScimError::Problem(e.into()))?;
        let ascending = match self
            .sort_order
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("ascending") => true,
            Some("descending") => false,
            Some(other) => {
                return Err(problem(
                    ScimType::InvalidValue,
                    format!("sortOrder `{other}`: ascending or descending"),
                ));
            }
        };
        let sort = self
            .sort_by
            .as_deref()
            .map(|s| authservice_domain::scim::AttrPath::parse(s.trim()))
            .transpose()
            .map_err(|e| problem(ScimType::InvalidValue, format!("sortBy: {e}")))?
            .map(|path| (path, ascending));
        let count = self
            .count
            .unwrap_or(i64::try_from(DEFAULT_COUNT).unwrap_or(100))
            .clamp(0, i64::try_from(MAX_COUNT).unwrap_or(1000))
            .unsigned_abs();
        Ok(ScimQuery {
            filter,
            sort,
            start_index: self.start_index.unwrap_or(1).max(1).unsigned_abs(),
            count,
        })
    }
}

impl Scim {
    /// The `groups` of each of `users` (SCIM user ids): `{value, $ref, display, type}` under
    /// `base`.
    ///
    /// # Errors
    /// A store failure.
    pub async fn groups_of(
        &self,
        dir: &ScimDirectory,
        base: &str,
        users: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<Value>>, ScimError> {
        let mut out: HashMap<Uuid, Vec<Value>> = Default::default();
        if users.is_empty() {
            return Ok(out);
        }
        for r in self.ports.scim_groups.of_users(dir.id, users).await? {
            out.entry(r.user).or_default().push(json!({
                "value": r.group.to_string(),
                "$ref": format!("{base}/Groups/{}", r.group),
                "display": r.display_name,
                "type": "direct",
            }));
        }
        Ok(out)
    }
}

/// One page of a search across both resource types (`POST /.search`): users first, then groups,
/// each in creation order.
#[derive(Debug, Clone, Default)]
pub struct MixedPage {
    pub total: u64,
    pub users: Vec<authservice_domain::scim::ScimUser>,
    pub groups: Vec<authservice_domain::scim::ScimGroup>,
}

impl Scim {
    /// A search across Users and Groups: a filter naming what only one type has matches none
    /// of the other (an error only when it fits neither); no `sortBy` across types.
    ///
    /// # Errors
    /// `invalidFilter`, `invalidValue` (`sortBy`), `tooMany` (members), a store failure.
    pub async fn search_all(
        &self,
        dir: &ScimDirectory,
        params: &ListParams,
        members: bool,
    ) -> Result<(MixedPage, u64), ScimError> {
        if params.sort_by.is_some() {
            return Err(problem(
                ScimType::InvalidValue,
                "sortBy is not offered across resource types: search /Users/.search or \
                 /Groups/.search",
            ));
        }
        let query = params.query()?;
        let counting = ScimQuery {
            count: 0,
            start_index: 1,
            ..query.clone()
        };
        let users_total = self.ports.scim_users.list(dir.id, &counting).await?;
        let groups_total = self.ports.scim_groups.list(dir.id, &counting).await?;
        let (users_total, groups_total) = match (users_total, groups_total) {
            (Err(problem), Err(_)) => return Err(ScimError::Problem(problem)),
            (u, g) => (
                u.map(|p| p.total).unwrap_or(0),
                g.map(|p| p.total).unwrap_or(0),
            ),
        };
        let skip = query.start_index - 1;
        let mut page = MixedPage {
            total: users_total + groups_total,
            ..MixedPage::default()
        };
        if skip < users_total && query.count > 0 {
            let slice = ScimQuery {
                start_index: skip + 1,
                count: query.count.min(users_total - skip),
                ..query.clone()
            };
            page.users = self
                .ports
                .scim_users
                .list(dir.id, &slice)
                .await?
                .map_err(ScimError::Problem)?
                .users;
        }
        let room = query.count - page.users.len() as u64;
        if room > 0 && groups_total > 0 {
            let slice = ScimQuery {
                start_index: skip.saturating_sub(users_total) + 1,
                count: room,
                ..query.clone()
            };
            page.groups = self
                .ports
                .scim_groups
                .list(dir.id, &slice)
                .await?
                .map_err(ScimError::Problem)?
                .groups;
            if members {
                self.fill_members(dir, &mut page.groups).await?;
            }
        }
        Ok((page, query.start_index))
    }
}
