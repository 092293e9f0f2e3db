//! `users`: every query is scoped by client.

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use authservice_application::pagination::PageRequest;
use authservice_application::ports::{
    NewSession, PendingEmail, UserFilter, UserRepository, UserWithPassword, UserWriteError,
};
use authservice_domain::{AuditEvent, ClientId, Email, User, UserId, UserStatus};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::PgPool;
use super::audit::insert_event;
use super::one_time_tokens::insert_pending;
use super::schema::{passkeys, users};
use super::sessions::insert_sign_in;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub(super) struct UserRow {
    id: Uuid,
    client_id: Uuid,
    email: String,
    email_verified: bool,
    password_hash: Option<String>,
    display_name: Option<String>,
    timezone: Option<String>,
    locale: Option<String>,
    role: String,
    status: String,
    totp_enabled: bool,
    last_login_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl UserRow {
    fn of(user: &User, password_hash: Option<String>) -> Self {
        Self {
            id: user.id.as_uuid(),
            client_id: user.client_id.as_uuid(),
            email: user.email.as_str().to_owned(),
            email_verified: user.email_verified,
            password_hash,
            display_name: user.display_name.clone(),
            timezone: user.timezone.clone(),
            locale: user.locale.clone(),
            role: user.role.clone(),
            status: user.status.as_str().to_owned(),
            totp_enabled: user.totp_enabled,
            last_login_at: user.last_login_at,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

impl UserRow {
    pub(super) fn into_user(self) -> anyhow::Result<UserWithPassword> {
        Ok(UserWithPassword {
            has_passkey: None,
            user: User {
                id: UserId::from_uuid(self.id),
                client_id: ClientId::from_uuid(self.client_id),
                email: Email::parse(&self.email).map_err(|e| anyhow!("stored email: {e}"))?,
                email_verified: self.email_verified,
                display_name: self.display_name,
                timezone: self.timezone,
                locale: self.locale,
                role: self.role,
                status: UserStatus::parse(&self.status)?,
                totp_enabled: self.totp_enabled,
                last_login_at: self.last_login_at,
                created_at: self.created_at,
                updated_at: self.updated_at,
            },
            password_hash: self.password_hash,
        })
    }
}

pub struct PgUserRepository {
    pool: PgPool,
}

impl PgUserRepository {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl UserRepository for PgUserRepository {
    #[tracing::instrument(name = "pg.users.insert", level = "debug", skip_all)]
    async fn insert(
        &self,
        user: &User,
        password_hash: &str,
        audit: &AuditEvent,
        first_session: Option<(&NewSession, &AuditEvent)>,
        verification: Option<&PendingEmail>,
    ) -> Result<(), UserWriteError> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row = UserRow::of(user, Some(password_hash.to_owned()));
        conn.transaction::<_, DieselError, _>(async |tx| {
            diesel::insert_into(users::table)
                .values(&row)
                .execute(tx)
                .await?;
            insert_event(tx, audit).await?;
            if let Some((session, session_audit)) = first_session {
                insert_sign_in(tx, session, session_audit).await?;
            }
            if let Some(pending) = verification {
                insert_pending(tx, pending).await?;
            }
            Ok(())
        })
        .await
        .map_err(|err| match &err {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
                if info.constraint_name() == Some("users_client_email_key") =>
            {
                UserWriteError::EmailTaken
            }
            _ => UserWriteError::Unexpected(anyhow::Error::new(err).context("inserting user")),
        })
    }

    #[tracing::instrument(name = "pg.users.find_by_email", level = "debug", skip_all)]
    async fn find_by_email(
        &self,
        client: ClientId,
        email: &Email,
    ) -> anyhow::Result<Option<UserWithPassword>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let has_passkey = diesel::dsl::exists(
            passkeys::table
                .filter(passkeys::client_id.eq(users::client_id))
                .filter(passkeys::user_id.eq(users::id)),
        );
        let row: Option<(UserRow, bool)> = users::table
            .filter(users::client_id.eq(client.as_uuid()))
            .filter(users::email.eq(email.as_str()))
            .select((UserRow::as_select(), has_passkey))
            .first(&mut conn)
            .await
            .optional()
            .context("loading user by email")?;
        row.map(|(row, has_passkey)| {
            let mut found = row.into_user()?;
            found.has_passkey = Some(has_passkey);
            Ok(found)
        })
        .transpose()
    }

    #[tracing::instrument(name = "pg.users.get", level = "debug", skip_all)]
    async fn get(&self, client: ClientId, id: UserId) -> anyhow::Result<Option<UserWithPassword>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        users::table
            .filter(users::client_id.eq(client.as_uuid()))
            .filter(users::id.eq(id.as_uuid()))
            .select(UserRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("loading user")?
            .map(UserRow::into_user)
            .transpose()
    }

    #[tracing::instrument(name = "pg.users.search", level = "debug", skip_all)]
    async fn search(
        &self,
        client: ClientId,
        filter: &UserFilter,
        page: PageRequest,
    ) -> anyhow::Result<Vec<User>> {
        use diesel::dsl::{exists, not, sql};
        use diesel::sql_types::Text;

        use super::schema::organization_members as members;

        let mut query = users::table
            .filter(users::client_id.eq(client.as_uuid()))
            .into_boxed();
        if let Some(prefix) = filter
            .prefix
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let pattern = format!("{}%", escape_like(&prefix.to_lowercase()));
            let by_id = prefix.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
            query = if by_id {
                query.filter(
                    users::email
                        .like(pattern.clone())
                        .escape('\\')
                        .or(users::display_name.ilike(pattern.clone()).escape('\\'))
                        .or(sql::<Text>("id::text").like(pattern).escape('\\')),
                )
            } else {
                query.filter(
                    users::email
                        .like(pattern.clone())
                        .escape('\\')
                        .or(users::display_name.ilike(pattern).escape('\\')),
                )
            };
        }
        if let Some(status) = filter.status {
            query = query.filter(users::status.eq(status.as_str()));
        }
        if let Some(verified) = filter.email_verified {
            query = query.filter(users::email_verified.eq(verified));
        }
        if let Some(has_mfa) = filter.has_mfa {
            let passkey = exists(
                passkeys::table
                    .filter(passkeys::client_id.eq(client.as_uuid()))
                    .filter(passkeys::user_id.eq(users::id)),
            );
            query = if has_mfa {
                query.filter(users::totp_enabled.eq(true).or(passkey))
            } else {
                query.filter(users::totp_enabled.eq(false).and(not(passkey)))
            };
        }
        if let Some(org) = filter.organization {
            query = query.filter(exists(
                members::table
                    .filter(members::client_id.eq(client.as_uuid()))
                    .filter(members::organization_id.eq(org.as_uuid()))
                    .filter(members::user_id.eq(users::id)),
            ));
        }
        if let Some(after) = page.after {
            query = query.filter(users::id.gt(after));
        }
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let rows: Vec<UserRow> = query
            .order(users::id.asc())
            .limit(i64::try_from(page.limit + 1).unwrap_or(i64::MAX))
            .select(UserRow::as_select())
            .load(&mut conn)
            .await
            .context("searching users")?;
        rows.into_iter()
            .map(|r| r.into_user().map(|u| u.user))
            .collect()
    }
}

/// `raw` with LIKE's wildcards and its escape character escaped (`\`).
fn escape_like(raw: &str) -> String {
    raw.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

// ------------------------------------------------------------------ writes (unit of work)

/// Stores a new user without a password (signed in by an identity provider).
pub(super) async fn insert_without_password(
    tx: &mut AsyncPgConnection,
    user: &User,
) -> QueryResult<bool> {
    diesel::insert_into(users::table)
        .values(UserRow::of(user, None))
        .execute(tx)
        .await
        .map(|n| n > 0)
}

/// Stores the profile fields of `user`; `false` when the user is gone.
pub(super) async fn update_profile(tx: &mut AsyncPgConnection, user: &User) -> QueryResult<bool> {
    diesel::update(
        users::table
            .filter(users::client_id.eq(user.client_id.as_uuid()))
            .filter(users::id.eq(user.id.as_uuid())),
    )
    .set((
        users::display_name.eq(&user.display_name),
        users::timezone.eq(&user.timezone),
        users::locale.eq(&user.locale),
        users::updated_at.eq(user.updated_at),
    ))
    .execute(tx)
    .await
    .map(|n| n > 0)
}

/// Sets the user's address as proven and voids the links still out for the old one (reset,
/// magic link, verification); `false` when the user is gone (a taken address is a unique
/// violation).
pub(super) async fn set_email(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    id: UserId,
    email: &authservice_domain::Email,
    verified: bool,
    at: DateTime<Utc>,
) -> QueryResult<bool> {
    let changed = diesel::update(
        users::table
            .filter(users::client_id.eq(client.as_uuid()))
            .filter(users::id.eq(id.as_uuid())),
    )
    .set((
        users::email.eq(email.as_str()),
        users::email_verified.eq(verified),
        users::updated_at.eq(at),
    ))
    .execute(tx)
    .await?;
    if changed == 0 {
        return Ok(false);
    }
    use super::schema::one_time_tokens as links;
    diesel::update(
        links::table
            .filter(links::client_id.eq(client.as_uuid()))
            .filter(links::user_id.eq(id.as_uuid()))
            .filter(links::consumed_at.is_null())
            .filter(links::voided_at.is_null()),
    )
    .set(links::voided_at.eq(at))
    .execute(tx)
    .await?;
    Ok(true)
}

/// Erases user `id` of `client` (see `Write::EraseUser`); `false` when the user is gone or is
/// the last owner of an organization (nothing is changed then).
pub(super) async fn erase(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    id: UserId,
    pseudonym: uuid::Uuid,
) -> QueryResult<bool> {
    use diesel::sql_types::{Text, Uuid as SqlUuid};
    #[derive(QueryableByName)]
    struct EventId {
        #[diesel(sql_type = SqlUuid)]
        id: uuid::Uuid,
    }
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    // Locks the account; an owner with no other owner in an organization is refused.
    let email: Option<String> = users::table
        .filter(users::client_id.eq(client.as_uuid()))
        .filter(users::id.eq(id.as_uuid()))
        .select(users::email)
        .for_update()
        .first(tx)
        .await
        .optional()?;
    let Some(email) = email else {
        return Ok(false);
    };
    let last_owner: Found = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM organization_members m \
           WHERE m.client_id = $1 AND m.user_id = $2 AND m.role = 'owner' \
           AND NOT EXISTS (SELECT 1 FROM organization_members o \
             WHERE o.organization_id = m.organization_id AND o.role = 'owner' AND o.user_id <> m.user_id)) AS found",
    )
    .bind::<SqlUuid, _>(client.as_uuid())
    .bind::<SqlUuid, _>(id.as_uuid())
    .get_result(tx)
    .await?;
    if last_owner.found {
        return Ok(false);
    }
    diesel::sql_query(
        "DELETE FROM organization_invitations WHERE client_id = $1 AND lower(email) = lower($2)",
    )
    .bind::<SqlUuid, _>(client.as_uuid())
    .bind::<Text, _>(&email)
    .execute(tx)
    .await?;
    diesel::sql_query(
        "DELETE FROM email_outbox WHERE client_id = $1 AND (user_id = $2 OR recipient = $3)",
    )
    .bind::<SqlUuid, _>(client.as_uuid())
    .bind::<SqlUuid, _>(id.as_uuid())
    .bind::<Text, _>(&email)
    .execute(tx)
    .await?;
    // No sealing batch runs while the events are rewritten (it would seal the old columns).
    super::audit_chain::lock_sealer(tx).await?;
    // The trigger lets this transaction pseudonymise (and only that), until switched off.
    diesel::sql_query("SET LOCAL authservice.audit_erasure = 'on'")
        .execute(tx)
        .await?;
    let mut rewritten: Vec<EventId> = diesel::sql_query(
        "UPDATE audit_events SET \
           user_id = CASE WHEN user_id = $2 THEN $3 ELSE user_id END, \
           target_id = CASE WHEN target_id = $2::text THEN $3::text ELSE target_id END, \
           actor_id = CASE WHEN actor_id = $2::text THEN $3::text ELSE actor_id END, \
           ip = NULL, user_agent = NULL, \
           before = CASE WHEN user_id = $2 OR target_id = $2::text THEN NULL ELSE before END, \
           after = CASE WHEN user_id = $2 OR target_id = $2::text THEN NULL ELSE after END, \
           metadata = metadata - 'email' - 'old_email' - 'new_email' - 'display_name' - 'name' - 'q' \
         WHERE client_id = $1 AND (user_id = $2 OR target_id = $2::text OR actor_id = $2::text) \
         RETURNING id",
    )
    .bind::<SqlUuid, _>(client.as_uuid())
    .bind::<SqlUuid, _>(id.as_uuid())
    .bind::<SqlUuid, _>(pseudonym)
    .load(tx)
    .await?;
    // Operators' searches that typed the address (or a prefix of it, or of the id).
    let searches: Vec<EventId> = diesel::sql_query(
        "UPDATE audit_events SET metadata = metadata - 'q' \
         WHERE client_id = $1 AND event_type = 'users.listed' AND length(metadata->>'q') >= 3 \
           AND (starts_with(lower($3), lower(metadata->>'q')) \
                OR starts_with($2::text, lower(metadata->>'q'))) \
         RETURNING id",
    )
    .bind::<SqlUuid, _>(client.as_uuid())
    .bind::<SqlUuid, _>(id.as_uuid())
    .bind::<Text, _>(&email)
    .load(tx)
    .await?;
    diesel::sql_query("SET LOCAL authservice.audit_erasure = 'off'")
        .execute(tx)
        .await?;
    // Sealed events keep verifying: the chain learns their columns as erased.
    rewritten.extend(searches);
    let mut ids: Vec<uuid::Uuid> = rewritten.into_iter().map(|e| e.id).collect();
    ids.sort_unstable();
    ids.dedup();
    super::audit_chain::record_erasures(tx, &ids).await?;
    let deleted = diesel::delete(
        users::table
            .filter(users::client_id.eq(client.as_uuid()))
            .filter(users::id.eq(id.as_uuid())),
    )
    .execute(tx)
    .await?;
    Ok(deleted > 0)
}

/// Sets the user's status; the user as stored, `None` when gone.
pub(super) async fn set_status(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    id: UserId,
    status: UserStatus,
    at: DateTime<Utc>,
) -> QueryResult<Option<User>> {
    let row: Option<UserRow> = diesel::update(
        users::table
            .filter(users::client_id.eq(client.as_uuid()))
            .filter(users::id.eq(id.as_uuid())),
    )
    .set((users::status.eq(status.as_str()), users::updated_at.eq(at)))
    .returning(UserRow::as_returning())
    .get_result(tx)
    .await
    .optional()?;
    row.map(|r| {
        r.into_user()
            .map(|u| u.user)
            .map_err(|e| DieselError::DeserializationError(e.into()))
    })
    .transpose()
}

/// Replaces the user's password hash; `false` when the user is gone.
pub(super) async fn set_password_hash(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    id: UserId,
    hash: &str,
    at: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::update(
        users::table
            .filter(users::client_id.eq(client.as_uuid()))
            .filter(users::id.eq(id.as_uuid())),
    )
    .set((users::password_hash.eq(hash), users::updated_at.eq(at)))
    .execute(tx)
    .await
    .map(|n| n > 0)
}
