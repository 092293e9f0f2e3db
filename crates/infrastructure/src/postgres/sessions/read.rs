//! Reading sessions: a presented refresh token's row, whatever its state, and a user's live
//! sessions.

#![allow(clippy::wildcard_imports)]

use super::*;

/// The token of `client` whose hash is `presented`, whatever its state.
pub(super) async fn find_token(
    pool: &PgPool,
    client: ClientId,
    presented: &[u8; 32],
) -> anyhow::Result<Option<PresentedToken>> {
    let mut conn = pool.get().await.context("connecting to PostgreSQL")?;
    type Row = (
        Uuid,
        Uuid,
        Uuid,
        DateTime<Utc>,
        DateTime<Utc>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        Option<Uuid>,
        Option<Vec<String>>,
        Vec<String>,
    );
    let row: Option<Row> = sessions::table
        .filter(sessions::refresh_token_hash.eq(presented.as_slice()))
        .filter(sessions::client_id.eq(client.as_uuid()))
        .select((
            sessions::id,
            sessions::family_id,
            sessions::user_id,
            sessions::started_at,
            sessions::expires_at,
            sessions::auth_time,
            sessions::consumed_at,
            sessions::revoked_at,
            sessions::oidc_app_id,
            sessions::scopes,
            sessions::amr,
        ))
        .first(&mut conn)
        .await
        .optional()
        .context("looking up a refresh token")?;
    Ok(row.map(
        |(
            id,
            family_id,
            user_id,
            started_at,
            expires_at,
            auth_time,
            consumed,
            revoked,
            app,
            scopes,
            amr,
        )| {
            PresentedToken {
                id,
                family_id,
                user_id: UserId::from_uuid(user_id),
                started_at,
                expires_at,
                auth_time,
                amr,
                consumed: consumed.is_some(),
                revoked: revoked.is_some(),
                grant: app.map(|app_id| SessionGrant {
                    app_id,
                    scopes: scopes.unwrap_or_default(),
                }),
            }
        },
    ))
}

/// The user's live sessions (one row per family: its current token), newest first.
pub(super) async fn list_live(
    pool: &PgPool,
    client: ClientId,
    user: UserId,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<SessionInfo>> {
    let mut conn = pool.get().await.context("connecting to PostgreSQL")?;
    type Row = (
        Uuid,
        Option<String>,
        Option<String>,
        DateTime<Utc>,
        DateTime<Utc>,
        DateTime<Utc>,
    );
    let rows: Vec<Row> = sessions::table
        .filter(sessions::client_id.eq(client.as_uuid()))
        .filter(sessions::user_id.eq(user.as_uuid()))
        .filter(sessions::consumed_at.is_null())
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .order(sessions::created_at.desc())
        .select((
            sessions::family_id,
            sessions::user_agent,
            sessions::ip,
            sessions::started_at,
            sessions::created_at,
            sessions::expires_at,
        ))
        .load(&mut conn)
        .await
        .context("listing sessions")?;
    Ok(rows
        .into_iter()
        .map(
            |(id, user_agent, ip, started_at, last_used_at, expires_at)| SessionInfo {
                id,
                user_agent,
                ip,
                started_at,
                last_used_at,
                expires_at,
            },
        )
        .collect())
}
