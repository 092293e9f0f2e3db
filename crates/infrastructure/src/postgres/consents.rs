//! `oidc_consents`: what users allowed third-party OIDC apps (written in units of work: revoking
//! one also ends the app's sessions of that user, in the same transaction).

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::ports::{Consent, ConsentRepository};
use authservice_domain::{ClientId, UserId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::PgPool;
use super::schema::{oidc_apps, oidc_consents};

pub struct PgConsents {
    pool: PgPool,
}

impl PgConsents {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl ConsentRepository for PgConsents {
    #[tracing::instrument(name = "pg.consents.granted", level = "debug", skip_all)]
    async fn granted(
        &self,
        client: ClientId,
        user: UserId,
        app: Uuid,
    ) -> anyhow::Result<Option<Vec<String>>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        oidc_consents::table
            .filter(oidc_consents::client_id.eq(client.as_uuid()))
            .filter(oidc_consents::user_id.eq(user.as_uuid()))
            .filter(oidc_consents::app_id.eq(app))
            .select(oidc_consents::scopes)
            .first(&mut conn)
            .await
            .optional()
            .context("reading a consent")
    }

    #[tracing::instrument(name = "pg.consents.list", level = "debug", skip_all)]
    async fn list(&self, client: ClientId, user: UserId) -> anyhow::Result<Vec<Consent>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let rows: Vec<(Uuid, String, String, Vec<String>, DateTime<Utc>)> = oidc_consents::table
            .inner_join(oidc_apps::table)
            .filter(oidc_consents::client_id.eq(client.as_uuid()))
            .filter(oidc_consents::user_id.eq(user.as_uuid()))
            .filter(oidc_apps::client_id.eq(client.as_uuid()))
            .order(oidc_consents::granted_at.desc())
            .limit(200)
            .select((
                oidc_consents::app_id,
                oidc_apps::public_id,
                oidc_apps::name,
                oidc_consents::scopes,
                oidc_consents::granted_at,
            ))
            .load(&mut conn)
            .await
            .context("listing consents")?;
        Ok(rows
            .into_iter()
            .map(
                |(app_id, app_public_id, app_name, scopes, granted_at)| Consent {
                    app_id,
                    app_public_id,
                    app_name,
                    scopes,
                    granted_at,
                },
            )
            .collect())
    }
}

// ------------------------------------------------------------------ writes (unit of work)

/// Remembers that `user` allowed `app` the `scopes`, added to what was allowed before; `false`
/// when the app is not the client's.
pub(super) async fn grant(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    user: UserId,
    app: Uuid,
    scopes: &[String],
    at: DateTime<Utc>,
) -> QueryResult<bool> {
    // Scopes allowed before stay allowed: the union, without duplicates.
    diesel::sql_query(
        "INSERT INTO oidc_consents (client_id, user_id, app_id, scopes, granted_at) \
         SELECT $1, $2, a.id, $4, $5 FROM oidc_apps a WHERE a.id = $3 AND a.client_id = $1 \
         ON CONFLICT (user_id, app_id) DO UPDATE SET \
         scopes = ARRAY(SELECT DISTINCT unnest(oidc_consents.scopes || EXCLUDED.scopes)), \
         granted_at = EXCLUDED.granted_at",
    )
    .bind::<diesel::sql_types::Uuid, _>(client.as_uuid())
    .bind::<diesel::sql_types::Uuid, _>(user.as_uuid())
    .bind::<diesel::sql_types::Uuid, _>(app)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(scopes)
    .bind::<diesel::sql_types::Timestamptz, _>(at)
    .execute(tx)
    .await
    .map(|n| n > 0)
}

/// Forgets what `user` allowed `app`; `false` when there was nothing.
pub(super) async fn forget(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    user: UserId,
    app: Uuid,
) -> QueryResult<bool> {
    diesel::delete(
        oidc_consents::table
            .filter(oidc_consents::client_id.eq(client.as_uuid()))
            .filter(oidc_consents::user_id.eq(user.as_uuid()))
            .filter(oidc_consents::app_id.eq(app)),
    )
    .execute(tx)
    .await
    .map(|n| n > 0)
}
