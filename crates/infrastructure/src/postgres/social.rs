//! `social_providers` and `social_identities`: clients' social sign-in providers and the
//! identities they sign in as.

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::ports::SocialProviderRepository;
use authservice_domain::social::{SocialKind, SocialProvider};
use authservice_domain::{ClientId, UserId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::PgPool;
use super::schema::{social_identities as ids, social_providers as providers};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = providers)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct ProviderRow {
    client_id: Uuid,
    provider: String,
    enabled: bool,
    config: Value,
    secret_sealed: Vec<u8>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl ProviderRow {
    fn of(p: &SocialProvider) -> Self {
        Self {
            client_id: p.client_id.as_uuid(),
            provider: p.kind.as_str().to_owned(),
            enabled: p.enabled,
            config: p.config(),
            secret_sealed: p.sealed_secret.clone(),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }

    fn into_domain(self) -> anyhow::Result<SocialProvider> {
        let kind = SocialKind::parse(&self.provider).context("stored social provider")?;
        let settings =
            SocialProvider::read_config(kind, &self.config).context("stored social provider")?;
        Ok(SocialProvider {
            client_id: ClientId::from_uuid(self.client_id),
            kind,
            enabled: self.enabled,
            idp: settings.idp,
            endpoints: settings.endpoints,
            apple: settings.apple,
            store_tokens: settings.store_tokens,
            sealed_secret: self.secret_sealed,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub struct PgSocialProviders {
    pool: PgPool,
}

impl PgSocialProviders {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl SocialProviderRepository for PgSocialProviders {
    #[tracing::instrument(name = "pg.social.get", level = "debug", skip_all)]
    async fn get(
        &self,
        client: ClientId,
        kind: SocialKind,
    ) -> anyhow::Result<Option<SocialProvider>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<ProviderRow> = providers::table
            .filter(providers::client_id.eq(client.as_uuid()))
            .filter(providers::provider.eq(kind.as_str()))
            .select(ProviderRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("loading a social provider")?;
        row.map(ProviderRow::into_domain).transpose()
    }

    #[tracing::instrument(name = "pg.social.list", level = "debug", skip_all)]
    async fn list(&self, client: ClientId) -> anyhow::Result<Vec<SocialProvider>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let rows: Vec<ProviderRow> = providers::table
            .filter(providers::client_id.eq(client.as_uuid()))
            .order(providers::provider.asc())
            .select(ProviderRow::as_select())
            .load(&mut conn)
            .await
            .context("listing social providers")?;
        rows.into_iter().map(ProviderRow::into_domain).collect()
    }

    #[tracing::instrument(name = "pg.social.identity_user", level = "debug", skip_all)]
    async fn identity_user(
        &self,
        client: ClientId,
        kind: SocialKind,
        subject: &str,
    ) -> anyhow::Result<Option<UserId>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let user: Option<Uuid> = ids::table
            .filter(ids::client_id.eq(client.as_uuid()))
            .filter(ids::provider.eq(kind.as_str()))
            .filter(ids::subject.eq(subject))
            .select(ids::user_id)
            .first(&mut conn)
            .await
            .optional()
            .context("finding a social identity")?;
        Ok(user.map(UserId::from_uuid))
    }

    #[tracing::instrument(name = "pg.social.identities_of", level = "debug", skip_all)]
    async fn identities_of(
        &self,
        client: ClientId,
        user: UserId,
    ) -> anyhow::Result<Vec<(SocialKind, DateTime<Utc>)>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let rows: Vec<(String, DateTime<Utc>)> = ids::table
            .filter(ids::client_id.eq(client.as_uuid()))
            .filter(ids::user_id.eq(user.as_uuid()))
            .order(ids::provider.asc())
            .select((ids::provider, ids::created_at))
            .load(&mut conn)
            .await
            .context("listing a user's social identities")?;
        rows.into_iter()
            .map(|(p, at)| Ok((SocialKind::parse(&p).context("stored provider")?, at)))
            .collect()
    }

    #[tracing::instrument(name = "pg.social.sealed_tokens", level = "debug", skip_all)]
    async fn sealed_tokens(
        &self,
        client: ClientId,
        user: UserId,
        kind: SocialKind,
    ) -> anyhow::Result<Option<Vec<u8>>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let tokens: Option<Option<Vec<u8>>> = ids::table
            .filter(ids::client_id.eq(client.as_uuid()))
            .filter(ids::user_id.eq(user.as_uuid()))
            .filter(ids::provider.eq(kind.as_str()))
            .select(ids::tokens_sealed)
            .first(&mut conn)
            .await
            .optional()
            .context("reading a social identity's tokens")?;
        Ok(tokens.flatten())
    }
}

// ------------------------------------------------------------------ writes (unit of work)

/// Forgets a user's identity at a provider; `false` when there was none.
pub(super) async fn unlink(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    user: UserId,
    kind: SocialKind,
) -> QueryResult<bool> {
    diesel::delete(
        ids::table
            .filter(ids::client_id.eq(client.as_uuid()))
            .filter(ids::user_id.eq(user.as_uuid()))
            .filter(ids::provider.eq(kind.as_str())),
    )
    .execute(tx)
    .await
    .map(|n| n > 0)
}

/// Stores (or replaces) a provider's configuration.
pub(super) async fn put(tx: &mut AsyncPgConnection, p: &SocialProvider) -> QueryResult<bool> {
    let row = ProviderRow::of(p);
    diesel::insert_into(providers::table)
        .values(&row)
        .on_conflict((providers::client_id, providers::provider))
        .do_update()
        .set((
            providers::enabled.eq(row.enabled),
            providers::config.eq(&row.config),
            providers::secret_sealed.eq(&row.secret_sealed),
            providers::updated_at.eq(row.updated_at),
        ))
        .execute(tx)
        .await
        .map(|n| n > 0)
}

/// Deletes a provider and its identities; `false` when there was none.
pub(super) async fn delete(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    kind: SocialKind,
) -> QueryResult<bool> {
    diesel::delete(
        ids::table
            .filter(ids::client_id.eq(client.as_uuid()))
            .filter(ids::provider.eq(kind.as_str())),
    )
    .execute(tx)
    .await?;
    diesel::delete(
        providers::table
            .filter(providers::client_id.eq(client.as_uuid()))
            .filter(providers::provider.eq(kind.as_str())),
    )
    .execute(tx)
    .await
    .map(|n| n > 0)
}

/// Links the identity to `user`, or stamps its sign-in when it is theirs; `false` when it
/// belongs to another user.
pub(super) async fn link_identity(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    kind: SocialKind,
    subject: &str,
    user: UserId,
    at: DateTime<Utc>,
    tokens: Option<&[u8]>,
) -> QueryResult<bool> {
    diesel::sql_query(
        "INSERT INTO social_identities \
         (client_id, provider, subject, user_id, created_at, last_login_at, tokens_sealed) \
         VALUES ($1, $2, $3, $4, $5, $5, $6) \
         ON CONFLICT (client_id, provider, subject) DO UPDATE \
         SET last_login_at = excluded.last_login_at, tokens_sealed = excluded.tokens_sealed \
         WHERE social_identities.user_id = excluded.user_id",
    )
    .bind::<diesel::sql_types::Uuid, _>(client.as_uuid())
    .bind::<diesel::sql_types::Text, _>(kind.as_str())
    .bind::<diesel::sql_types::Text, _>(subject)
    .bind::<diesel::sql_types::Uuid, _>(user.as_uuid())
    .bind::<diesel::sql_types::Timestamptz, _>(at)
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Bytea>, _>(tokens)
    .execute(tx)
    .await
    .map(|n| n > 0)
}
