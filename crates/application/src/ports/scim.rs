//! SCIM directories (read here; written through [`super::UnitOfWork`]).

use async_trait::async_trait;
use authservice_domain::ClientId;
use authservice_domain::organization::OrganizationId;
use authservice_domain::scim::ScimDirectory;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::pagination::PageRequest;

/// Organizations' SCIM directories. Every method but [`Self::authenticate`] is scoped by
/// client.
#[async_trait]
pub trait ScimDirectoryRepository: Send + Sync {
    /// One page of the client's directories (of one organization when `org` is given), oldest
    /// first: up to `page.limit + 1` after the cursor.
    ///
    /// # Errors
    /// The store failed.
    async fn list(
        &self,
        client: ClientId,
        org: Option<OrganizationId>,
        page: PageRequest,
    ) -> anyhow::Result<Vec<ScimDirectory>>;

    /// Directory `id` of `client`.
    ///
    /// # Errors
    /// The store failed.
    async fn get(&self, client: ClientId, id: Uuid) -> anyhow::Result<Option<ScimDirectory>>;

    /// How many directories organization `org` has.
    ///
    /// # Errors
    /// The store failed.
    async fn count(&self, client: ClientId, org: OrganizationId) -> anyhow::Result<usize>;

    /// Directory `id` if `token_hash` is the SHA-256 of its current token (whatever its
    /// status: the caller decides).
    ///
    /// # Errors
    /// The store failed.
    async fn authenticate(
        &self,
        id: Uuid,
        token_hash: &[u8; 32],
    ) -> anyhow::Result<Option<ScimDirectory>>;

    /// Records that the directory's identity provider called at `at`, unless a call within
    /// [`ScimDirectory::SYNC_RECORDED_EVERY`] before it is recorded already.
    ///
    /// # Errors
    /// The store failed.
    async fn touch(&self, id: Uuid, at: DateTime<Utc>) -> anyhow::Result<()>;
}

/// One page of a directory's users or groups: the 1-based `start_index` and at most `count`
/// of them, in `sort` order (creation order without one).
#[derive(Debug, Clone)]
pub struct ScimQuery {
    pub filter: Option<authservice_domain::scim::Filter>,
    pub sort: Option<(authservice_domain::scim::AttrPath, bool)>,
    pub start_index: u64,
    pub count: u64,
}

/// The users of a page and how many match in all.
#[derive(Debug, Clone)]
pub struct UserPage {
    pub total: u64,
    pub users: Vec<authservice_domain::scim::ScimUser>,
}

/// Directories' SCIM users (read here; written through [`super::UnitOfWork`]). Every method is
/// scoped by directory.
#[async_trait]
pub trait ScimUserRepository: Send + Sync {
    /// User `id` of `directory`.
    ///
    /// # Errors
    /// The store failed.
    async fn get(
        &self,
        directory: Uuid,
        id: Uuid,
    ) -> anyhow::Result<Option<authservice_domain::scim::ScimUser>>;

    /// The user of `directory` that provisions `account`.
    ///
    /// # Errors
    /// The store failed.
    async fn of_account(
        &self,
        directory: Uuid,
        account: authservice_domain::UserId,
    ) -> anyhow::Result<Option<authservice_domain::scim::ScimUser>>;

    /// Whether a SCIM user other than `except` (of any directory) holds `account`
    /// deactivated.
    ///
    /// # Errors
    /// The store failed.
    async fn inactive_elsewhere(
        &self,
        account: authservice_domain::UserId,
        except: Uuid,
    ) -> anyhow::Result<bool>;

    /// A page of `directory`'s users matching the query's filter, translated to the store's
    /// query language (never filtered in memory).
    ///
    /// # Errors
    /// `Ok(Err(problem))` for a filter or sort naming what the schema does not have (or
    /// comparing it wrongly); `Err` when the store failed.
    async fn list(
        &self,
        directory: Uuid,
        query: &ScimQuery,
    ) -> anyhow::Result<Result<UserPage, authservice_domain::scim::ScimProblem>>;
}

/// The groups of a page and how many match in all.
#[derive(Debug, Clone)]
pub struct GroupPage {
    pub total: u64,
    pub groups: Vec<authservice_domain::scim::ScimGroup>,
}

/// A group a SCIM user is a member of (the user's `groups`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    pub user: Uuid,
    pub group: Uuid,
    pub display_name: String,
}

/// Directories' SCIM groups (read here; written through [`super::UnitOfWork`]). Every method
/// is scoped by directory.
#[async_trait]
pub trait ScimGroupRepository: Send + Sync {
    /// Group `id` of `directory`, with its members.
    ///
    /// # Errors
    /// The store failed.
    async fn get(
        &self,
        directory: Uuid,
        id: Uuid,
    ) -> anyhow::Result<Option<authservice_domain::scim::ScimGroup>>;

    /// A page of `directory`'s groups matching the query's filter (translated to the store's
    /// query language), without their members.
    ///
    /// # Errors
    /// `Ok(Err(problem))` for a filter or sort the schema does not allow; `Err` when the store
    /// failed.
    async fn list(
        &self,
        directory: Uuid,
        query: &ScimQuery,
    ) -> anyhow::Result<Result<GroupPage, authservice_domain::scim::ScimProblem>>;

    /// The members of each of `groups` (of `directory`).
    ///
    /// # Errors
    /// The store failed.
    async fn members_of(
        &self,
        directory: Uuid,
        groups: &[Uuid],
    ) -> anyhow::Result<std::collections::HashMap<Uuid, Vec<authservice_domain::scim::GroupMember>>>;

    /// How many members `groups` (of `directory`) have together.
    ///
    /// # Errors
    /// The store failed.
    async fn count_members(&self, directory: Uuid, groups: &[Uuid]) -> anyhow::Result<u64>;

    /// The accounts that are members of some group of `directory`.
    ///
    /// # Errors
    /// The store failed.
    async fn accounts_in(&self, directory: Uuid)
    -> anyhow::Result<Vec<authservice_domain::UserId>>;

    /// The groups of `directory` that each of `users` (SCIM user ids) is a member of.
    ///
    /// # Errors
    /// The store failed.
    async fn of_users(&self, directory: Uuid, users: &[Uuid]) -> anyhow::Result<Vec<GroupRef>>;

    /// Those of `ids` that are users of `directory`, as members.
    ///
    /// # Errors
    /// The store failed.
    async fn members_among(
        &self,
        directory: Uuid,
        ids: &[Uuid],
    ) -> anyhow::Result<Vec<authservice_domain::scim::GroupMember>>;
}
