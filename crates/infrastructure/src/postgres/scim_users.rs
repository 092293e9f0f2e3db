//! `scim_users`: directories' SCIM users. Lists are one SQL query each (the filter and order
//! from [`super::scim_query`]), with the total counted by the same query.

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::ports::{ScimUserRepository, UserPage, UserQuery};
use authservice_domain::scim::{ScimProblem, ScimUser};
use authservice_domain::{ClientId, UserId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::PgPool;
use super::schema::scim_users as users;
use super::scim_query::{Bind, Sql, filter_sql, order_sql};

#[derive(Queryable, Selectable, Insertable, QueryableByName)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct UserRow {
    id: Uuid,
    directory_id: Uuid,
    client_id: Uuid,
    user_id: Uuid,
    user_name: String,
    external_id: Option<String>,
    active: bool,
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

/// A listed row with the count of all matches.
#[derive(QueryableByName)]
struct CountedRow {
    #[diesel(embed)]
    user: UserRow,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

fn bound<'a>(
    text: String,
    binds: Vec<Bind>,
) -> diesel::query_builder::BoxedSqlQuery<'a, diesel::pg::Pg, diesel::query_builder::SqlQuery> {
    binds
        .into_iter()
        .fold(diesel::sql_query(text).into_boxed(), |q, b| match b {
            Bind::Text(s) => q.bind::<Text, _>(s),
            Bind::Bool(b) => q.bind::<Bool, _>(b),
            Bind::Time(t) => q.bind::<Timestamptz, _>(t),
            Bind::Uuid(u) => q.bind::<SqlUuid, _>(u),
            Bind::BigInt(n) => q.bind::<BigInt, _>(n),
        })
}

/// How long one list query may run, in milliseconds.
const LIST_TIMEOUT_MS: u32 = 5_000;

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
                .filter(users::active.eq(false)),
        ))
        .get_result(&mut conn)
        .await
        .context("looking for deactivated SCIM users")
    }

    #[tracing::instrument(name = "pg.scim_users.list", level = "debug", skip_all)]
    async fn list(
        &self,
        directory: Uuid,
        query: &UserQuery,
    ) -> anyhow::Result<Result<UserPage, ScimProblem>> {
        let mut sql = Sql::default();
        let dir = sql.bind(Bind::Uuid(directory));
        let mut condition = format!("directory_id = {dir}");
        if let Some(filter) = &query.filter {
            match filter_sql(&mut sql, filter) {
                Ok(f) => condition = format!("{condition} AND {f}"),
                Err(problem) => return Ok(Err(problem)),
            }
        }
        let order = match order_sql(query.sort.as_ref()) {
            Ok(order) => order,
            Err(problem) => return Ok(Err(problem)),
        };
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let count_only = |sql: &Sql| {
            bound(
                format!("SELECT count(*) AS total FROM scim_users WHERE {condition}"),
                sql.binds.clone(),
            )
        };
        if query.count == 0 {
            let total: Total = count_only(&sql)
                .get_result(&mut conn)
                .await
                .context("counting SCIM users")?;
            return Ok(Ok(UserPage {
                total: total.total.unsigned_abs(),
                users: Vec::new(),
            }));
        }
        let mut paged = Sql {
            binds: sql.binds.clone(),
        };
        let limit = paged.bind(Bind::BigInt(i64::try_from(query.count).unwrap_or(i64::MAX)));
        let offset = paged.bind(Bind::BigInt(
            i64::try_from(query.start_index.saturating_sub(1)).unwrap_or(i64::MAX),
        ));
        let text = format!(
            "SELECT id, directory_id, client_id, user_id, user_name, external_id, active, attributes, \
             version, disabled_account, created_at, updated_at, count(*) OVER () AS total \
             FROM scim_users \
             WHERE {condition} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        );
        // A filter of many value paths over a large directory must not hold a connection long.
        let rows: Vec<CountedRow> = conn
            .transaction::<_, diesel::result::Error, _>(async |tx| {
                diesel::sql_query(format!("SET LOCAL statement_timeout = {LIST_TIMEOUT_MS}"))
                    .execute(tx)
                    .await?;
                bound(text, paged.binds).load(tx).await
            })
            .await
            .context("listing SCIM users")?;
        let total = match <[CountedRow]>::first(&rows) {
            Some(first) => first.total.unsigned_abs(),
            // Past the end: the page is empty, the total still counts.
            None if query.start_index > 1 => count_only(&sql)
                .get_result::<Total>(&mut conn)
                .await
                .context("counting SCIM users")?
                .total
                .unsigned_abs(),
            None => 0,
        };
        Ok(Ok(UserPage {
            total,
            users: rows.into_iter().map(|r| r.user.into_domain()).collect(),
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
