//! `scim_groups` and `scim_group_members`: directories' SCIM groups. Members are written only
//! when they are users of the group's directory (chosen in the insert itself), and a
//! membership's `scim` groups are recomputed from the stored groups under a per-organization
//! lock.

use std::collections::HashMap;

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::ports::{GroupPage, GroupRef, ScimGroupRepository, ScimQuery};
use authservice_domain::organization::OrganizationId;
use authservice_domain::scim::schema::Resource;
use authservice_domain::scim::{GroupMember, ScimGroup, ScimProblem};
use authservice_domain::{ClientId, UserId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::PgPool;
use super::schema::scim_groups as groups;
use super::scim_query::{in_page_order, page};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = groups)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct GroupRow {
    id: Uuid,
    directory_id: Uuid,
    client_id: Uuid,
    display_name: String,
    external_id: Option<String>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl GroupRow {
    fn of(g: &ScimGroup) -> Self {
        Self {
            id: g.id,
            directory_id: g.directory_id,
            client_id: g.client_id.as_uuid(),
            display_name: g.display_name.clone(),
            external_id: g.external_id.clone(),
            version: g.version,
            created_at: g.created_at,
            updated_at: g.updated_at,
        }
    }

    fn into_domain(self, members: Vec<GroupMember>) -> ScimGroup {
        ScimGroup {
            id: self.id,
            directory_id: self.directory_id,
            client_id: ClientId::from_uuid(self.client_id),
            display_name: self.display_name,
            external_id: self.external_id,
            members,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// A member as read: its group, SCIM user, account and name.
#[derive(QueryableByName)]
struct MemberRow {
    #[diesel(sql_type = SqlUuid)]
    group_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Text)]
    display: String,
}

impl MemberRow {
    fn member(&self) -> GroupMember {
        GroupMember {
            id: self.id,
            user_id: UserId::from_uuid(self.user_id),
            display: self.display.clone(),
        }
    }
}

/// The members of `groups` (of `directory`), in the order they joined their group's list.
async fn members_of(
    conn: &mut AsyncPgConnection,
    directory: Uuid,
    group_ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, Vec<GroupMember>>> {
    let rows: Vec<MemberRow> = diesel::sql_query(
        "SELECT gm.group_id, u.id, u.user_id, \
         COALESCE(u.attributes->>'displayName', u.user_name) AS display \
         FROM scim_group_members gm JOIN scim_users u ON u.id = gm.scim_user_id \
         WHERE gm.directory_id = $1 AND gm.group_id = ANY($2) ORDER BY u.created_at, u.id",
    )
    .bind::<SqlUuid, _>(directory)
    .bind::<Array<SqlUuid>, _>(group_ids)
    .load(conn)
    .await?;
    let mut out: HashMap<Uuid, Vec<GroupMember>> = HashMap::new();
    for row in rows {
        out.entry(row.group_id).or_default().push(row.member());
    }
    Ok(out)
}

pub struct PgScimGroups {
    pool: PgPool,
}

impl PgScimGroups {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl ScimGroupRepository for PgScimGroups {
    #[tracing::instrument(name = "pg.scim_groups.get", level = "debug", skip_all)]
    async fn get(&self, directory: Uuid, id: Uuid) -> anyhow::Result<Option<ScimGroup>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let Some(row) = groups::table
            .filter(groups::directory_id.eq(directory))
            .filter(groups::id.eq(id))
            .select(GroupRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("loading a SCIM group")?
        else {
            return Ok(None);
        };
        let mut members = members_of(&mut conn, directory, &[id])
            .await
            .context("loading a SCIM group's members")?;
        Ok(Some(
            row.into_domain(members.remove(&id).unwrap_or_default()),
        ))
    }

    #[tracing::instrument(name = "pg.scim_groups.list", level = "debug", skip_all)]
    async fn list(
        &self,
        directory: Uuid,
        query: &ScimQuery,
    ) -> anyhow::Result<Result<GroupPage, ScimProblem>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let (ids, total) = match page(&mut conn, Resource::Group, directory, query).await? {
            Ok(found) => found,
            Err(problem) => return Ok(Err(problem)),
        };
        let mut rows: Vec<GroupRow> = groups::table
            .filter(groups::directory_id.eq(directory))
            .filter(groups::id.eq_any(&ids))
            .select(GroupRow::as_select())
            .load(&mut conn)
            .await
            .context("loading SCIM groups")?;
        in_page_order(&mut rows, &ids, |r| r.id);
        Ok(Ok(GroupPage {
            total,
            groups: rows
                .into_iter()
                .map(|r| r.into_domain(Vec::new()))
                .collect(),
        }))
    }

    #[tracing::instrument(name = "pg.scim_groups.members_of", level = "debug", skip_all)]
    async fn members_of(
        &self,
        directory: Uuid,
        groups: &[Uuid],
    ) -> anyhow::Result<HashMap<Uuid, Vec<GroupMember>>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        members_of(&mut conn, directory, groups)
            .await
            .context("loading SCIM groups' members")
    }

    #[tracing::instrument(name = "pg.scim_groups.count_members", level = "debug", skip_all)]
    async fn count_members(&self, directory: Uuid, groups: &[Uuid]) -> anyhow::Result<u64> {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let count: Count = diesel::sql_query(
            "SELECT count(*) AS n FROM scim_group_members WHERE directory_id = $1 AND group_id = ANY($2)",
        )
        .bind::<SqlUuid, _>(directory)
        .bind::<Array<SqlUuid>, _>(groups)
        .get_result(&mut conn)
        .await
        .context("counting SCIM groups' members")?;
        Ok(count.n.unsigned_abs())
    }

    #[tracing::instrument(name = "pg.scim_groups.accounts_in", level = "debug", skip_all)]
    async fn accounts_in(&self, directory: Uuid) -> anyhow::Result<Vec<UserId>> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = SqlUuid)]
            user_id: Uuid,
        }
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT DISTINCT u.user_id FROM scim_group_members gm \
             JOIN scim_users u ON u.id = gm.scim_user_id WHERE gm.directory_id = $1",
        )
        .bind::<SqlUuid, _>(directory)
        .load(&mut conn)
        .await
        .context("listing the accounts of SCIM groups")?;
        Ok(rows
            .into_iter()
            .map(|r| UserId::from_uuid(r.user_id))
            .collect())
    }

    #[tracing::instrument(name = "pg.scim_groups.of_users", level = "debug", skip_all)]
    async fn of_users(&self, directory: Uuid, users: &[Uuid]) -> anyhow::Result<Vec<GroupRef>> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = SqlUuid)]
            scim_user_id: Uuid,
            #[diesel(sql_type = SqlUuid)]
            id: Uuid,
            #[diesel(sql_type = Text)]
            display_name: String,
        }
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT gm.scim_user_id, g.id, g.display_name \
             FROM scim_group_members gm JOIN scim_groups g ON g.id = gm.group_id \
             WHERE g.directory_id = $1 AND gm.scim_user_id = ANY($2) \
             ORDER BY lower(g.display_name), g.id",
        )
        .bind::<SqlUuid, _>(directory)
        .bind::<Array<SqlUuid>, _>(users)
        .load(&mut conn)
        .await
        .context("loading SCIM users' groups")?;
        Ok(rows
            .into_iter()
            .map(|r| GroupRef {
                user: r.scim_user_id,
                group: r.id,
                display_name: r.display_name,
            })
            .collect())
    }

    #[tracing::instrument(name = "pg.scim_groups.members_among", level = "debug", skip_all)]
    async fn members_among(
        &self,
        directory: Uuid,
        ids: &[Uuid],
    ) -> anyhow::Result<Vec<GroupMember>> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = SqlUuid)]
            id: Uuid,
            #[diesel(sql_type = SqlUuid)]
            user_id: Uuid,
            #[diesel(sql_type = Text)]
            display: String,
        }
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT id, user_id, COALESCE(attributes->>'displayName', user_name) AS display \
             FROM scim_users WHERE directory_id = $1 AND id = ANY($2)",
        )
        .bind::<SqlUuid, _>(directory)
        .bind::<Array<SqlUuid>, _>(ids)
        .load(&mut conn)
        .await
        .context("finding SCIM users")?;
        Ok(rows
            .into_iter()
            .map(|r| GroupMember {
                id: r.id,
                user_id: UserId::from_uuid(r.user_id),
                display: r.display,
            })
            .collect())
    }
}

/// Adds those of `members` that are users of `directory` to group `group`.
async fn add_members(
    tx: &mut AsyncPgConnection,
    directory: Uuid,
    group: Uuid,
    members: &[Uuid],
) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO scim_group_members (directory_id, group_id, scim_user_id) \
         SELECT $1, $2, u.id FROM scim_users u \
         WHERE u.directory_id = $1 AND u.id IN (SELECT unnest($3::uuid[])) \
         ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(directory)
    .bind::<SqlUuid, _>(group)
    .bind::<Array<SqlUuid>, _>(members)
    .execute(tx)
    .await
}

fn member_ids(g: &ScimGroup) -> Vec<Uuid> {
    g.members.iter().map(|m| m.id).collect()
}

/// Stores a new SCIM group and its members (a taken `displayName` is a unique violation).
pub(super) async fn insert(tx: &mut AsyncPgConnection, g: &ScimGroup) -> QueryResult<bool> {
    let n = diesel::insert_into(groups::table)
        .values(GroupRow::of(g))
        .execute(tx)
        .await?;
    add_members(tx, g.directory_id, g.id, &member_ids(g)).await?;
    Ok(n > 0)
}

/// Replaces a SCIM group's fields and members if its stored version is the one before
/// `g.version`.
pub(super) async fn replace(tx: &mut AsyncPgConnection, g: &ScimGroup) -> QueryResult<bool> {
    let row = GroupRow::of(g);
    let n = diesel::update(
        groups::table
            .filter(groups::directory_id.eq(row.directory_id))
            .filter(groups::id.eq(row.id))
            .filter(groups::version.eq(row.version - 1)),
    )
    .set((
        groups::display_name.eq(row.display_name),
        groups::external_id.eq(row.external_id),
        groups::version.eq(row.version),
        groups::updated_at.eq(row.updated_at),
    ))
    .execute(tx)
    .await?;
    if n == 0 {
        return Ok(false);
    }
    let ids = member_ids(g);
    diesel::sql_query(
        "DELETE FROM scim_group_members \
         WHERE group_id = $1 AND scim_user_id NOT IN (SELECT unnest($2::uuid[]))",
    )
    .bind::<SqlUuid, _>(g.id)
    .bind::<Array<SqlUuid>, _>(&ids)
    .execute(tx)
    .await?;
    add_members(tx, g.directory_id, g.id, &ids).await?;
    Ok(true)
}

/// Deletes a SCIM group still at `version` (its members' rows go with it).
pub(super) async fn delete(
    tx: &mut AsyncPgConnection,
    directory: Uuid,
    id: Uuid,
    version: i64,
) -> QueryResult<bool> {
    diesel::delete(
        groups::table
            .filter(groups::directory_id.eq(directory))
            .filter(groups::id.eq(id))
            .filter(groups::version.eq(version)),
    )
    .execute(tx)
    .await
    .map(|n| n > 0)
}

/// Sets the `scim` groups of `accounts`' memberships in `org` from the stored SCIM groups of
/// the organization's directories. The transaction first takes the organization's lock, so
/// the statement after it sees every earlier committed change of groups.
pub(super) async fn sync_member_groups(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    org: OrganizationId,
    accounts: &[UserId],
) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('scim_groups:' || $1, 0))")
        .bind::<Text, _>(org.as_uuid().to_string())
        .execute(tx)
        .await?;
    let accounts: Vec<Uuid> = accounts.iter().map(UserId::as_uuid).collect();
    diesel::sql_query(
        "UPDATE organization_members om SET groups = CASE \
           WHEN s.names IS NULL THEN om.groups - 'scim' \
           ELSE jsonb_set(om.groups, '{scim}', s.names) END \
         FROM (SELECT a.user_id, \
                 (SELECT jsonb_agg(DISTINCT g.display_name ORDER BY g.display_name) \
                  FROM scim_group_members gm \
                  JOIN scim_groups g ON g.id = gm.group_id \
                  JOIN scim_users u ON u.id = gm.scim_user_id \
                  JOIN scim_directories d ON d.id = g.directory_id \
                  WHERE u.user_id = a.user_id AND d.client_id = $1 \
                    AND d.organization_id = $2 AND d.status = 'active') AS names \
               FROM unnest($3::uuid[]) AS a(user_id)) AS s \
         WHERE om.client_id = $1 AND om.organization_id = $2 AND om.user_id = s.user_id",
    )
    .bind::<SqlUuid, _>(client.as_uuid())
    .bind::<SqlUuid, _>(org.as_uuid())
    .bind::<Array<SqlUuid>, _>(&accounts)
    .execute(tx)
    .await?;
    Ok(())
}
