//! Revoking a user's live refresh tokens (one session, all but one, or all) without letting
//! a refresh in flight slip a token past it.

#![allow(clippy::wildcard_imports)]

use super::*;

/// Revokes the live rows of a user's sessions: only `family` when given, all but `keep`
/// otherwise. Returns how many rows were revoked. Must run inside a transaction.
///
/// Every not-yet-revoked row (consumed or not) is locked first: that waits for a refresh in
/// flight to commit, and holds off refreshes that have not started, so the UPDATE — a new
/// statement with a fresh snapshot — also revokes the row such a refresh added.
pub(in crate::postgres) async fn revoke_where(
    conn: &mut AsyncPgConnection,
    client: ClientId,
    user: UserId,
    family: Option<Uuid>,
    keep: Option<Uuid>,
    reason: &str,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    let base = sessions::table
        .filter(sessions::client_id.eq(client.as_uuid()))
        .filter(sessions::user_id.eq(user.as_uuid()))
        .filter(sessions::revoked_at.is_null());
    let _locked: Vec<Uuid> = match (family, keep) {
        (Some(family), _) => {
            base.filter(sessions::family_id.eq(family))
                .select(sessions::id)
                .for_update()
                .load(conn)
                .await?
        }
        (None, Some(keep)) => {
            base.filter(sessions::family_id.ne(keep))
                .select(sessions::id)
                .for_update()
                .load(conn)
                .await?
        }
        (None, None) => base.select(sessions::id).for_update().load(conn).await?,
    };
    // A refresh that consumed a row the lock above could not see (its predecessor committed
    // while we waited) may still be committing its successor when an UPDATE runs: the UPDATE
    // waits for it, skips the now-consumed row and cannot see the new one. So the UPDATE is
    // repeated (each statement has a fresh snapshot) until two passes in a row find nothing; a
    // revoked row stays locked by us, so no refresh can extend the chain meanwhile.
    let mut revoked = 0;
    let mut idle_passes = 0;
    for _ in 0..20 {
        let mut query = diesel::update(sessions::table)
            .filter(sessions::client_id.eq(client.as_uuid()))
            .filter(sessions::user_id.eq(user.as_uuid()))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::consumed_at.is_null())
            .into_boxed();
        if let Some(family) = family {
            query = query.filter(sessions::family_id.eq(family));
        }
        if let Some(keep) = keep {
            query = query.filter(sessions::family_id.ne(keep));
        }
        let n = query
            .set((
                sessions::revoked_at.eq(at),
                sessions::revoked_reason.eq(reason),
            ))
            .execute(conn)
            .await?;
        revoked += n;
        idle_passes = if n == 0 { idle_passes + 1 } else { 0 };
        if idle_passes == 2 {
            break;
        }
    }
    Ok(revoked)
}

/// Ends every live session `user` holds through OIDC app `app` (a refresh in flight included:
/// its rows are locked first, so it commits before and is revoked too, or waits and finds its
/// row revoked). Returns the families ended. Must run inside a transaction.
pub(in crate::postgres) async fn end_app_sessions(
    conn: &mut AsyncPgConnection,
    client: ClientId,
    user: UserId,
    app: Uuid,
    at: DateTime<Utc>,
    reason: &str,
) -> QueryResult<Vec<Uuid>> {
    let live = sessions::table
        .filter(sessions::client_id.eq(client.as_uuid()))
        .filter(sessions::user_id.eq(user.as_uuid()))
        .filter(sessions::oidc_app_id.eq(app))
        .filter(sessions::revoked_at.is_null());
    let _locked: Vec<Uuid> = live.select(sessions::id).for_update().load(conn).await?;
    diesel::update(live.filter(sessions::consumed_at.is_null()))
        .set((
            sessions::revoked_at.eq(at),
            sessions::revoked_reason.eq(reason),
        ))
        .returning(sessions::family_id)
        .get_results(conn)
        .await
}
