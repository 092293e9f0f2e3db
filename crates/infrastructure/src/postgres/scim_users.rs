//! `scim_users`: directories' SCIM users. A list is one SQL query for the page's ids and the
//! total ([`super::scim_query::page`]), and one for the rows.

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::ports::{ScimQuery, ScimUserRepository, UserPage};
use authservice_domain::scim::schema::Resource;
use authservice_domain::scim::{ScimProblem, ScimUser};
use authservice_domain::{ClientId, UserId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::PgPool;
use super::schema::scim_users as users;
use super::scim_query::{in_page_order, page};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct UserRow {
    id: Uuid,
    directory_id: Uuid,
    client_id: Uuid,
    user_id: Uuid,
    user_name: String,
    external_id: Option<String>,
    active: Option<bool>,
    attributes: Value,
    version: i64,
    disabled_account: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl UserRow {
    fn of(u: &ScimUser) -> Self {
        Self {
            id: u.id,
            directory_id: u.directory_id,
            client_id: u.client_id.as_uuid(),
            user_id: u.user_id.as_uuid(),
            user_name: u.user_name.clone(),
            external_id: u.external_id.clone(),
            active: u.active,
            attributes: Value::Object(u.attributes.clone()),
            version: u.version,
            disabled_account: u.disabled_account,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }

    fn into_domain(self) -> ScimUser {
        ScimUser {
            id: self.id,
            directory_id: self.directory_id,
            client_id: ClientId::from_uuid(self.client_id),
            user_id: UserId::from_uuid(self.user_id),
            user_name: self.user_name,
            external_id: self.external_id,
            active: self.active,
            attributes: match self.attributes {
                Value::Object(map) => map,
                _ => serde_json::Map::new(),
            },
            version: self.version,
            disabled_account: self.disabled_account,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

pub struct PgScimUsers {
    pool: PgPool,
}

impl PgScimUsers {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl ScimUserRepository for PgScimUsers {
    #[tracing::instrument(name = "pg.scim_users.get", level = "debug", skip_all)]
    async fn get(&self, directory: Uuid, id: Uuid) -> anyhow::Result<Option<ScimUser>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<UserRow> = users::table
            .filter(users::directory_id.eq(directory))
            .filter(users::id.eq(id))
            .select(UserRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("loading a SCIM user")?;
        Ok(row.map(UserRow::into_domain))
    }

    #[tracing::instrument(name = "pg.scim_users.of_account", level = "debug", skip_all)]
    async fn of_account(
        &self,
        directory: Uuid,
        account: UserId,
    ) -> anyhow::Result<Option<ScimUser>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<UserRow> = users::table
            .filter(users::directory_id.eq(directory))
            .filter(users::user_id.eq(account.as_uuid()))
            .select(UserRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("loading a SCIM user")?;
        Ok(row.map(UserRow::into_domain))
    }

    #[tracing::instrument(name = "pg.scim_users.inactive_elsewhere", level = "debug", skip_all)]
    async fn inactive_elsewhere(&self, account: UserId, except: Uuid) -> anyhow::Result<bool> {
        use diesel::dsl::exists;
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        diesel::select(exists(
            users::table
                .filter(users::user_id.eq(account.as_uuid()))
                .filter(users::id.ne(except))
                .filter(
                    users::active.eq(false).or(users::active
                        .is_null()
                        .and(users::disabled_account.eq(true))),
                ),
        ))
        .get_result(&mut conn)
        .await
        .context("looking for deactivated SCIM users")
    }

    #[tracing::instrument(name = "pg.scim_users.list", level = "debug", skip_all)]
    async fn list(
        &self,
        directory: Uuid,
        query: &ScimQuery,
    ) -> anyhow::Result<Result<UserPage, ScimProblem>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let (ids, total) = match page(&mut conn, Resource::User, directory, query).await? {
            Ok(found) => found,
            Err(problem) => return Ok(Err(problem)),
        };
        let mut rows: Vec<UserRow> = users::table
            .filter(users::directory_id.eq(directory))
            .filter(users::id.eq_any(&ids))
            .select(UserRow::as_select())
            .load(&mut conn)
            .await
            .context("loading SCIM users")?;
        in_page_order(&mut rows, &ids, |r| r.id);
        Ok(Ok(UserPage {
            total,
            users: rows.into_iter().map(UserRow::into_domain).collect(),
        }))
    }
}

/// Stores a new SCIM user (a duplicate `userName` or account is a unique violation).
pub(super) async fn insert(tx: &mut AsyncPgConnection, u: &ScimUser) -> QueryResult<bool> {
    diesel::insert_into(users::table)
        .values(UserRow::of(u))
        .execute(tx)
        .await
        .map(|n| n > 0)
}

/// Replaces a SCIM user's fields if its stored version is the one before `u.version`.
pub(super) async fn replace(tx: &mut AsyncPgConnection, u: &ScimUser) -> QueryResult<bool> {
    let row = UserRow::of(u);
    diesel::update(
        users::table
            .filter(users::directory_id.eq(row.directory_id))
            .filter(users::id.eq(row.id))
            .filter(users::version.eq(row.version - 1)),
    )
    .set((
        users::user_name.eq(row.user_name),
        users::external_id.eq(row.external_id),
        users::active.eq(row.active),
        users::attributes.eq(row.attributes),
        users::version.eq(row.version),
        users::disabled_account.eq(row.disabled_account),
        users::updated_at.eq(row.updated_at),
    ))
    .execute(tx)
    .await
    .map(|n| n > 0)
}

/// Deletes a SCIM user still at `version`; `false` when it is gone or changed.
pub(super) async fn delete(
    tx: &mut AsyncPgConnection,
    directory: Uuid,
    id: Uuid,
    version: i64,
) -> QueryResult<bool> {
    diesel::delete(
        users::table
            .filter(users::directory_id.eq(directory))
            .filter(users::id.eq(id))
            .filter(users::version.eq(version)),
    )
    .execute(tx)
    .await
    .map(|n| n > 0)
}
