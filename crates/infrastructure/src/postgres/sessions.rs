//! `sessions`: refresh tokens, consumed with one conditional UPDATE (the rules of what a
//! presented token is worth live in the refresh use case).

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::ports::{
    NewSession, PresentedToken, SessionGrant, SessionInfo, SessionRepository,
};
use authservice_domain::{AuditEvent, ClientId, UserId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::PgPool;
use super::audit::{insert_event, insert_event_pipelined};
use super::schema::{sessions, users};

mod read;
mod revoke;

pub(super) use revoke::{end_app_sessions, revoke_where};

#[derive(Insertable)]
#[diesel(table_name = sessions)]
struct SessionRow<'a> {
    id: Uuid,
    family_id: Uuid,
    client_id: Uuid,
    user_id: Uuid,
    refresh_token_hash: &'a [u8],
    user_agent: Option<&'a str>,
    ip: Option<&'a str>,
    started_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    auth_time: DateTime<Utc>,
    oidc_app_id: Option<Uuid>,
    scopes: Option<&'a [String]>,
    amr: &'a [String],
}

pub struct PgSessionRepository {
    pool: PgPool,
}

impl PgSessionRepository {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

impl<'a> SessionRow<'a> {
    fn of(s: &'a NewSession) -> Self {
        SessionRow {
            id: s.id,
            family_id: s.family_id,
            client_id: s.client_id.as_uuid(),
            user_id: s.user_id.as_uuid(),
            refresh_token_hash: &s.refresh_token_hash,
            user_agent: s.user_agent.as_deref(),
            ip: s.ip.as_deref(),
            started_at: s.started_at,
            created_at: s.created_at,
            expires_at: s.expires_at,
            auth_time: s.auth_time,
            oidc_app_id: s.grant.as_ref().map(|g| g.app_id),
            scopes: s.grant.as_ref().map(|g| g.scopes.as_slice()),
            amr: &s.amr,
        }
    }
}

/// Inserts a session row (the next one of a family on rotation).
async fn insert_session(conn: &mut AsyncPgConnection, s: &NewSession) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values(&SessionRow::of(s))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Stores a sign-in inside the caller's transaction: the new session, the user's
/// `last_login_at` (and the password rehash, only over the verified hash) and the audit
/// event, pipelined (three statements, one round trip).
pub(super) async fn insert_sign_in(
    tx: &mut AsyncPgConnection,
    s: &NewSession,
    audit: &AuditEvent,
) -> QueryResult<()> {
    let mut conn: &AsyncPgConnection = tx;
    let row = SessionRow::of(s);
    let session = diesel::insert_into(sessions::table)
        .values(&row)
        .execute(&mut conn);
    let user = users::table
        .filter(users::client_id.eq(s.client_id.as_uuid()))
        .filter(users::id.eq(s.user_id.as_uuid()));
    let stamp = diesel::update(user)
        .set(users::last_login_at.eq(s.started_at))
        .execute(&mut conn);
    let rehash = s.rehash.as_ref().map(|rehash| {
        diesel::update(user.filter(users::password_hash.eq(&rehash.old)))
            .set((
                users::password_hash.eq(&rehash.new),
                users::updated_at.eq(s.started_at),
            ))
            .execute(&mut conn)
    });
    let rehash = async move {
        match rehash {
            Some(update) => update.await,
            None => Ok(0),
        }
    };
    let event = insert_event_pipelined(&mut conn, audit);
    futures_util::future::try_join4(session, stamp, rehash, event)
        .await
        .map(|_| ())
}

#[async_trait]
impl SessionRepository for PgSessionRepository {
    #[tracing::instrument(name = "pg.sessions.create", level = "debug", skip_all)]
    async fn create(&self, s: &NewSession, audit: &AuditEvent) -> anyhow::Result<()> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, DieselError, _>(async |tx| insert_sign_in(tx, s, audit).await)
            .await
            .context("storing session")
    }

    #[tracing::instrument(name = "pg.sessions.find_token", level = "debug", skip_all)]
    async fn find_token(
        &self,
        client: ClientId,
        presented: &[u8; 32],
    ) -> anyhow::Result<Option<PresentedToken>> {
        read::find_token(&self.pool, client, presented).await
    }

    #[tracing::instrument(name = "pg.sessions.consume_and_replace", level = "debug", skip_all)]
    async fn consume_and_replace(
        &self,
        consumed: Uuid,
        next: &NewSession,
        audit: &AuditEvent,
    ) -> anyhow::Result<Option<DateTime<Utc>>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let outcome = conn
            .transaction::<_, DieselError, _>(async |tx| {
                // The one conditional update: of concurrent refreshes of one token, exactly one
                // finds it unconsumed (the others wait for its row lock, then match nothing).
                let auth_time: Option<DateTime<Utc>> = diesel::update(
                    sessions::table
                        .filter(sessions::id.eq(consumed))
                        .filter(sessions::consumed_at.is_null())
                        .filter(sessions::revoked_at.is_null()),
                )
                .set(sessions::consumed_at.eq(next.created_at))
                .returning(sessions::auth_time)
                .get_result(tx)
                .await
                .optional()?;
                let Some(auth_time) = auth_time else {
                    return Err(DieselError::RollbackTransaction);
                };
                // As consumed: a re-authentication since the caller's read is carried on.
                let next = NewSession {
                    auth_time,
                    ..next.clone()
                };
                insert_session(tx, &next).await?;
                insert_event(tx, audit).await?;
                Ok(auth_time)
            })
            .await;
        match outcome {
            Ok(auth_time) => Ok(Some(auth_time)),
            Err(DieselError::RollbackTransaction) => Ok(None),
            Err(e) => Err(e).context("rotating refresh token"),
        }
    }

    #[tracing::instrument(name = "pg.sessions.revoke_by_token", level = "debug", skip_all)]
    async fn revoke_by_token(
        &self,
        client: ClientId,
        presented: &[u8; 32],
        at: DateTime<Utc>,
    ) -> anyhow::Result<Option<(UserId, Uuid)>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, DieselError, _>(async |tx| {
            // The token's session, even if a refresh just consumed this token: logging out
            // ends the session (family), whichever of its tokens is presented.
            let found: Option<(Uuid, Uuid)> = sessions::table
                .filter(sessions::refresh_token_hash.eq(presented.as_slice()))
                .filter(sessions::client_id.eq(client.as_uuid()))
                .filter(sessions::revoked_at.is_null())
                .select((sessions::user_id, sessions::family_id))
                .first(tx)
                .await
                .optional()?;
            let Some((user_id, family_id)) = found else {
                return Ok(None);
            };
            let user = UserId::from_uuid(user_id);
            let n = revoke_where(tx, client, user, Some(family_id), None, "logout", at).await?;
            Ok((n > 0).then_some((user, family_id)))
        })
        .await
        .context("revoking session")
    }

    #[tracing::instrument(name = "pg.sessions.client_of_token", level = "debug", skip_all)]
    async fn client_of_token(&self, presented: &[u8; 32]) -> anyhow::Result<Option<ClientId>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let client: Option<Uuid> = sessions::table
            .filter(sessions::refresh_token_hash.eq(presented.as_slice()))
            .select(sessions::client_id)
            .first(&mut conn)
            .await
            .optional()
            .context("looking up a refresh token's client")?;
        Ok(client.map(ClientId::from_uuid))
    }

    #[tracing::instrument(name = "pg.sessions.purge_expired", level = "debug", skip_all)]
    async fn purge_expired(&self, before: DateTime<Utc>) -> anyhow::Result<usize> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        diesel::delete(sessions::table.filter(sessions::expires_at.lt(before)))
            .execute(&mut conn)
            .await
            .context("purging expired sessions")
    }

    #[tracing::instrument(name = "pg.sessions.reauthenticate", level = "debug", skip_all)]
    async fn reauthenticate(
        &self,
        client: ClientId,
        user: UserId,
        family: Uuid,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Option<DateTime<Utc>>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        diesel::update(
            sessions::table
                .filter(sessions::client_id.eq(client.as_uuid()))
                .filter(sessions::user_id.eq(user.as_uuid()))
                .filter(sessions::family_id.eq(family))
                .filter(sessions::consumed_at.is_null())
                .filter(sessions::revoked_at.is_null())
                .filter(sessions::expires_at.gt(at)),
        )
        .set(sessions::auth_time.eq(at))
        .returning(sessions::started_at)
        .get_result(&mut conn)
        .await
        .optional()
        .context("recording a re-authentication")
    }

    #[tracing::instrument(name = "pg.sessions.is_live", level = "debug", skip_all)]
    async fn is_live(
        &self,
        client: ClientId,
        user: UserId,
        family: Uuid,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        use diesel::dsl::exists;
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        diesel::select(exists(
            sessions::table
                .filter(sessions::client_id.eq(client.as_uuid()))
                .filter(sessions::user_id.eq(user.as_uuid()))
                .filter(sessions::family_id.eq(family))
                .filter(sessions::consumed_at.is_null())
                .filter(sessions::revoked_at.is_null())
                .filter(sessions::expires_at.gt(now)),
        ))
        .get_result(&mut conn)
        .await
        .context("checking session")
    }

    #[tracing::instrument(name = "pg.sessions.list_live", level = "debug", skip_all)]
    async fn list_live(
        &self,
        client: ClientId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<SessionInfo>> {
        read::list_live(&self.pool, client, user, now).await
    }

    #[tracing::instrument(name = "pg.sessions.revoke_family", level = "debug", skip_all)]
    async fn revoke_family(
        &self,
        client: ClientId,
        user: UserId,
        family: Uuid,
        reason: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let n = conn
            .transaction::<_, DieselError, _>(async |tx| {
                revoke_where(tx, client, user, Some(family), None, reason, at).await
            })
            .await
            .context("revoking session")?;
        Ok(n > 0)
    }

    #[tracing::instrument(name = "pg.sessions.revoke_all", level = "debug", skip_all)]
    async fn revoke_all(
        &self,
        client: ClientId,
        user: UserId,
        keep: Option<Uuid>,
        reason: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<usize> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, DieselError, _>(async |tx| {
            revoke_where(tx, client, user, None, keep, reason, at).await
        })
        .await
        .context("revoking sessions")
    }
}
