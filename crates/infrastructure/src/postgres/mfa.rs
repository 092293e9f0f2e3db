//! Second factors in PostgreSQL: the TOTP columns of `users` and `recovery_codes`. A TOTP step
//! and a recovery code are each used with one conditional UPDATE.

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::ports::{MfaRepository, SealedSecret, TotpState};
use authservice_domain::{ClientId, UserId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::PgPool;
use super::schema::{recovery_codes, users};

pub struct PgMfa {
    pool: PgPool,
}

impl PgMfa {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

pub(super) async fn store_codes(
    conn: &mut AsyncPgConnection,
    client: ClientId,
    user: UserId,
    codes: &[[u8; 32]],
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::delete(
        recovery_codes::table
            .filter(recovery_codes::client_id.eq(client.as_uuid()))
            .filter(recovery_codes::user_id.eq(user.as_uuid())),
    )
    .execute(conn)
    .await?;
    if codes.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = codes
        .iter()
        .map(|hash| {
            (
                recovery_codes::id.eq(Uuid::now_v7()),
                recovery_codes::client_id.eq(client.as_uuid()),
                recovery_codes::user_id.eq(user.as_uuid()),
                recovery_codes::code_hash.eq(hash.to_vec()),
                recovery_codes::created_at.eq(at),
            )
        })
        .collect();
    diesel::insert_into(recovery_codes::table)
        .values(rows)
        .execute(conn)
        .await
        .map(|_| ())
}

fn step_i64(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

#[async_trait]
impl MfaRepository for PgMfa {
    #[tracing::instrument(name = "pg.mfa.totp", level = "debug", skip_all)]
    async fn totp(&self, client: ClientId, user: UserId) -> anyhow::Result<Option<TotpState>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<(Option<Vec<u8>>, Option<i64>)> = users::table
            .filter(users::client_id.eq(client.as_uuid()))
            .filter(users::id.eq(user.as_uuid()))
            .filter(users::totp_enabled.eq(true))
            .select((users::totp_secret_sealed, users::totp_last_step))
            .first(&mut conn)
            .await
            .optional()
            .context("loading TOTP state")?;
        Ok(row.and_then(|(secret, last)| {
            secret.map(|s| TotpState {
                secret: SealedSecret(s),
                last_step: last.and_then(|l| u64::try_from(l).ok()),
            })
        }))
    }

    #[tracing::instrument(name = "pg.mfa.use_totp_step", level = "debug", skip_all)]
    async fn use_totp_step(
        &self,
        client: ClientId,
        user: UserId,
        step: u64,
    ) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let step = step_i64(step);
        let n = diesel::update(
            users::table
                .filter(users::client_id.eq(client.as_uuid()))
                .filter(users::id.eq(user.as_uuid()))
                .filter(users::totp_enabled.eq(true))
                .filter(
                    users::totp_last_step
                        .is_null()
                        .or(users::totp_last_step.lt(step)),
                ),
        )
        .set(users::totp_last_step.eq(Some(step)))
        .execute(&mut conn)
        .await
        .context("recording a TOTP step")?;
        Ok(n > 0)
    }

    #[tracing::instrument(name = "pg.mfa.recovery_code_counts", level = "debug", skip_all)]
    async fn recovery_code_counts(
        &self,
        client: ClientId,
        user: UserId,
    ) -> anyhow::Result<(u32, u32)> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let used: Vec<Option<DateTime<Utc>>> = recovery_codes::table
            .filter(recovery_codes::client_id.eq(client.as_uuid()))
            .filter(recovery_codes::user_id.eq(user.as_uuid()))
            .select(recovery_codes::used_at)
            .load(&mut conn)
            .await
            .context("counting recovery codes")?;
        let total = u32::try_from(used.len()).unwrap_or(u32::MAX);
        let unused = u32::try_from(used.iter().filter(|u| u.is_none()).count()).unwrap_or(0);
        Ok((unused, total))
    }

    #[tracing::instrument(name = "pg.mfa.use_recovery_code", level = "debug", skip_all)]
    async fn use_recovery_code(
        &self,
        client: ClientId,
        user: UserId,
        hash: &[u8; 32],
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let n = diesel::update(
            recovery_codes::table
                .filter(recovery_codes::client_id.eq(client.as_uuid()))
                .filter(recovery_codes::user_id.eq(user.as_uuid()))
                .filter(recovery_codes::code_hash.eq(&hash[..]))
                .filter(recovery_codes::used_at.is_null()),
        )
        .set(recovery_codes::used_at.eq(Some(at)))
        .execute(&mut conn)
        .await
        .context("using a recovery code")?;
        Ok(n > 0)
    }
}

// ------------------------------------------------------------------ writes (unit of work)

/// Enables TOTP; `false` when it was already on (or the user is gone).
pub(super) async fn enable_totp(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    user: UserId,
    secret: &SealedSecret,
    step: u64,
    at: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::update(
        users::table
            .filter(users::client_id.eq(client.as_uuid()))
            .filter(users::id.eq(user.as_uuid()))
            .filter(users::totp_enabled.eq(false)),
    )
    .set((
        users::totp_enabled.eq(true),
        users::totp_secret_sealed.eq(Some(secret.0.clone())),
        users::totp_last_step.eq(Some(step_i64(step))),
        users::updated_at.eq(at),
    ))
    .execute(tx)
    .await
    .map(|n| n > 0)
}

/// Disables TOTP and forgets its secret; `false` when it was off.
pub(super) async fn disable_totp(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    user: UserId,
    at: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::update(
        users::table
            .filter(users::client_id.eq(client.as_uuid()))
            .filter(users::id.eq(user.as_uuid()))
            .filter(users::totp_enabled.eq(true)),
    )
    .set((
        users::totp_enabled.eq(false),
        users::totp_secret_sealed.eq(None::<Vec<u8>>),
        users::totp_last_step.eq(None::<i64>),
        users::updated_at.eq(at),
    ))
    .execute(tx)
    .await
    .map(|n| n > 0)
}
