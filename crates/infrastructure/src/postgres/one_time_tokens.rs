//! `one_time_tokens` and the outbox rows written with them: a token is consumed with one
//! conditional UPDATE ... RETURNING, in the same transaction as its effect and audit event.

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::ports::{
    ConsumeOutcome, NewSession, OneTimeTokenRecord, OneTimeTokenRepository, PendingEmail,
};
use authservice_domain::{AuditEvent, ClientId, TokenPurpose, UserId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::PgPool;
use super::audit::insert_event;
use super::schema::{one_time_tokens, users};
use super::sessions::{insert_sign_in, revoke_where};

mod rows;

pub(super) use rows::insert_pending;
use rows::*;

pub struct PgOneTimeTokens {
    pool: PgPool,
}

impl PgOneTimeTokens {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Applies `effect` after consuming the token, all in one transaction; classifies a token
    /// that could not be consumed.
    async fn consume(
        &self,
        purpose: TokenPurpose,
        hash: &[u8; 32],
        client: Option<ClientId>,
        now: DateTime<Utc>,
        effect: Effect<'_>,
    ) -> anyhow::Result<ConsumeOutcome> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let consumed = conn
            .transaction::<_, DieselError, _>(async |tx| {
                let Some(row) = consume_row(tx, purpose, hash, client, now).await? else {
                    return Ok(None);
                };
                apply(tx, &row, &effect, now).await?;
                Ok(Some(row))
            })
            .await
            .with_context(|| format!("consuming a {} token", purpose.as_str()))?;
        if let Some(row) = consumed {
            return Ok(ConsumeOutcome::Consumed(row.into_record()?));
        }
        match find_row(&mut conn, purpose, hash)
            .await
            .context("looking up a token")?
        {
            Some(row) => Ok(ConsumeOutcome::Refused(row.into_record()?)),
            None => Ok(ConsumeOutcome::Unknown),
        }
    }
}

/// What consuming a token does.
enum Effect<'a> {
    Verify {
        audit: &'a AuditEvent,
    },
    Reset {
        password_hash: &'a str,
        audit: &'a AuditEvent,
    },
    MagicLink {
        audit: &'a AuditEvent,
        session: Option<(&'a NewSession, &'a AuditEvent)>,
    },
}

async fn apply(
    tx: &mut AsyncPgConnection,
    row: &TokenRow,
    effect: &Effect<'_>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    match effect {
        Effect::Verify { audit } => {
            mark_verified(tx, row, now).await?;
            insert_event(tx, &stamped(audit, row)).await
        }
        Effect::Reset {
            password_hash,
            audit,
        } => {
            diesel::update(
                users::table
                    .filter(users::client_id.eq(row.client_id))
                    .filter(users::id.eq(row.user_id)),
            )
            .set((
                users::password_hash.eq(*password_hash),
                users::updated_at.eq(now),
            ))
            .execute(tx)
            .await?;
            diesel::update(
                one_time_tokens::table
                    .filter(one_time_tokens::client_id.eq(row.client_id))
                    .filter(one_time_tokens::user_id.eq(row.user_id))
                    .filter(one_time_tokens::purpose.eq_any([
                        TokenPurpose::ResetPassword.as_str(),
                        TokenPurpose::MagicLink.as_str(),
                    ]))
                    .filter(one_time_tokens::consumed_at.is_null())
                    .filter(one_time_tokens::voided_at.is_null()),
            )
            .set(one_time_tokens::voided_at.eq(now))
            .execute(tx)
            .await?;
            let client = ClientId::from_uuid(row.client_id);
            let user = UserId::from_uuid(row.user_id);
            revoke_where(tx, client, user, None, None, "password_reset", now).await?;
            insert_event(tx, &stamped(audit, row)).await
        }
        Effect::MagicLink { audit, session } => {
            mark_verified(tx, row, now).await?;
            insert_event(tx, &stamped(audit, row)).await?;
            if let Some((session, login)) = session {
                insert_sign_in(tx, session, login).await?;
            }
            Ok(())
        }
    }
}

#[async_trait]
impl OneTimeTokenRepository for PgOneTimeTokens {
    #[tracing::instrument(name = "pg.one_time_tokens.issue", level = "debug", skip_all)]
    async fn issue(&self, pending: &PendingEmail) -> anyhow::Result<()> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, DieselError, _>(async |tx| insert_pending(tx, pending).await)
            .await
            .context("storing a one-time token and its email")
    }

    #[tracing::instrument(name = "pg.one_time_tokens.issue_decoy", level = "debug", skip_all)]
    async fn issue_decoy(&self, pending: &PendingEmail) -> anyhow::Result<()> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        conn.transaction::<_, DieselError, _>(async |tx| {
            // The same statements as `issue`, carrying the same data, none of them writing:
            // the lock and the void find nothing for the stand-in user, and the token and
            // message inserts select no row (`WHERE false`). Then the audit event, one commit.
            use diesel::sql_types::{Bytea, Nullable, Text, Timestamptz, Uuid as SqlUuid};
            let t = &pending.token;
            if pending.void_older {
                void_older(tx, t).await?;
            }
            diesel::sql_query(
                "INSERT INTO one_time_tokens \
                 (id, client_id, user_id, purpose, token_hash, email, created_at, expires_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE false",
            )
            .bind::<SqlUuid, _>(t.id)
            .bind::<SqlUuid, _>(t.client_id.as_uuid())
            .bind::<SqlUuid, _>(t.user_id.as_uuid())
            .bind::<Text, _>(t.purpose.as_str())
            .bind::<Bytea, _>(&t.token_hash[..])
            .bind::<Text, _>(t.email.as_str())
            .bind::<Timestamptz, _>(t.created_at)
            .bind::<Timestamptz, _>(t.expires_at)
            .execute(tx)
            .await?;
            let e = &pending.email;
            diesel::sql_query(
                "INSERT INTO email_outbox (id, client_id, user_id, kind, recipient, \
                 message_sealed, status, attempts, next_attempt_at, created_at) \
                 SELECT $1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7 WHERE false",
            )
            .bind::<SqlUuid, _>(e.id)
            .bind::<SqlUuid, _>(e.client_id.as_uuid())
            .bind::<Nullable<SqlUuid>, _>(e.user_id.map(|u| u.as_uuid()))
            .bind::<Text, _>(&e.kind)
            .bind::<Text, _>(e.recipient.as_str())
            .bind::<Nullable<Bytea>, _>(Some(&e.sealed.0))
            .bind::<Timestamptz, _>(e.created_at)
            .execute(tx)
            .await?;
            insert_event(tx, &pending.audit).await
        })
        .await
        .context("recording a link request for an unknown address")
    }

    #[tracing::instrument(name = "pg.one_time_tokens.find", level = "debug", skip_all)]
    async fn find(
        &self,
        purpose: TokenPurpose,
        hash: &[u8; 32],
    ) -> anyhow::Result<Option<OneTimeTokenRecord>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        find_row(&mut conn, purpose, hash)
            .await
            .context("looking up a token")?
            .map(TokenRow::into_record)
            .transpose()
    }

    #[tracing::instrument(
        name = "pg.one_time_tokens.consume_verification",
        level = "debug",
        skip_all
    )]
    async fn consume_verification(
        &self,
        hash: &[u8; 32],
        client: Option<ClientId>,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<ConsumeOutcome> {
        let effect = Effect::Verify { audit };
        self.consume(TokenPurpose::VerifyEmail, hash, client, now, effect)
            .await
    }

    #[tracing::instrument(name = "pg.one_time_tokens.consume_reset", level = "debug", skip_all)]
    async fn consume_reset(
        &self,
        hash: &[u8; 32],
        client: Option<ClientId>,
        new_password_hash: &str,
        now: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> anyhow::Result<ConsumeOutcome> {
        let effect = Effect::Reset {
            password_hash: new_password_hash,
            audit,
        };
        self.consume(TokenPurpose::ResetPassword, hash, client, now, effect)
            .await
    }

    #[tracing::instrument(
        name = "pg.one_time_tokens.consume_magic_link",
        level = "debug",
        skip_all
    )]
    async fn consume_magic_link(
        &self,
        hash: &[u8; 32],
        client: Option<ClientId>,
        now: DateTime<Utc>,
        audit: &AuditEvent,
        session: Option<(&NewSession, &AuditEvent)>,
    ) -> anyhow::Result<ConsumeOutcome> {
        let effect = Effect::MagicLink { audit, session };
        self.consume(TokenPurpose::MagicLink, hash, client, now, effect)
            .await
    }

    #[tracing::instrument(name = "pg.one_time_tokens.purge_expired", level = "debug", skip_all)]
    async fn purge_expired(&self, before: DateTime<Utc>) -> anyhow::Result<usize> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        diesel::delete(one_time_tokens::table.filter(one_time_tokens::expires_at.lt(before)))
            .execute(&mut conn)
            .await
            .context("purging expired one-time tokens")
    }
}
