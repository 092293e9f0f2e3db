//! `clients`: every write stores its audit event in the same transaction.

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use authservice_application::ports::{
    ClientRepository, ClientWriteError, SealedSecret, SealedSigningKey,
};
use authservice_domain::{
    AllowedOrigin, ApiKeyHash, AuditEvent, Client, ClientId, ClientName, ClientSettings,
    ClientStatus, Slug, TokenMode, WebhookUrl,
};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::PgPool;
use super::audit::insert_event;
use super::schema::{client_signing_keys, clients};

const SLUG_CONSTRAINT: &str = "clients_slug_key";

#[derive(Queryable, Selectable)]
#[diesel(table_name = clients)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct ClientRow {
    id: Uuid,
    name: String,
    slug: String,
    api_key_hash: Vec<u8>,
    api_key_prefix: String,
    token_mode: String,
    allowed_origins: Vec<String>,
    redirect_uris: Vec<String>,
    webhook_url: Option<String>,
    settings: Value,
    status: String,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl ClientRow {
    fn into_client(self) -> anyhow::Result<Client> {
        let hash: [u8; 32] = self
            .api_key_hash
            .as_slice()
            .try_into()
            .map_err(|_| anyhow!("stored api_key_hash has the wrong length"))?;
        Ok(Client {
            id: ClientId::from_uuid(self.id),
            name: ClientName::parse(&self.name)?,
            slug: Slug::parse(&self.slug)?,
            allowed_origins: AllowedOrigin::parse_list(&self.allowed_origins)?,
            redirect_uris: authservice_domain::RedirectUri::parse_list(&self.redirect_uris)?,
            webhook_url: self
                .webhook_url
                .as_deref()
                .map(WebhookUrl::parse)
                .transpose()?,
            settings: ClientSettings::from_stored(self.settings),
            status: ClientStatus::parse(&self.status)?,
            token_mode: TokenMode::parse(&self.token_mode)?,
            api_key_hash: ApiKeyHash::from_bytes(hash),
            api_key_prefix: self.api_key_prefix,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Every mutable column; `None` writes NULL (so clearing `webhook_url` sticks).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = clients)]
#[diesel(treat_none_as_null = true)]
struct ClientWrite<'a> {
    name: &'a str,
    slug: &'a str,
    api_key_hash: &'a [u8],
    api_key_prefix: &'a str,
    token_mode: &'a str,
    allowed_origins: Vec<&'a str>,
    redirect_uris: Vec<&'a str>,
    webhook_url: Option<&'a str>,
    settings: Value,
    status: &'a str,
    version: i64,
    updated_at: DateTime<Utc>,
}

impl<'a> ClientWrite<'a> {
    fn of(client: &'a Client) -> Self {
        Self {
            name: client.name.as_str(),
            slug: client.slug.as_str(),
            api_key_hash: client.api_key_hash.as_bytes(),
            api_key_prefix: &client.api_key_prefix,
            token_mode: client.token_mode.as_str(),
            allowed_origins: client
                .allowed_origins
                .iter()
                .map(AllowedOrigin::as_str)
                .collect(),
            redirect_uris: client
                .redirect_uris
                .iter()
                .map(authservice_domain::RedirectUri::as_str)
                .collect(),
            webhook_url: client.webhook_url.as_ref().map(WebhookUrl::as_str),
            settings: client.settings.to_value(),
            status: client.status.as_str(),
            version: client.version,
            updated_at: client.updated_at,
        }
    }
}

fn write_error(err: DieselError) -> ClientWriteError {
    match &err {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some(SLUG_CONSTRAINT) =>
        {
            ClientWriteError::SlugTaken
        }
        _ => ClientWriteError::Unexpected(anyhow::Error::new(err).context("writing client")),
    }
}

pub struct PgClientRepository {
    pool: PgPool,
}

impl PgClientRepository {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    async fn conn(
        &self,
    ) -> anyhow::Result<
        diesel_async::pooled_connection::deadpool::Object<diesel_async::AsyncPgConnection>,
    > {
        self.pool.get().await.context("connecting to PostgreSQL")
    }
}

#[async_trait]
impl ClientRepository for PgClientRepository {
    #[tracing::instrument(name = "pg.clients.insert", level = "debug", skip_all)]
    async fn insert(
        &self,
        client: &Client,
        jwt_secret: &SealedSecret,
        signing_key: &SealedSigningKey,
        audit: &AuditEvent,
    ) -> Result<(), ClientWriteError> {
        let mut conn = self.conn().await?;
        let row = ClientWrite::of(client);
        let id = client.id.as_uuid();
        let created_at = client.created_at;
        let sealed = jwt_secret.0.as_slice();
        conn.transaction::<_, DieselError, _>(async |tx| {
            diesel::insert_into(clients::table)
                .values((
                    &row,
                    clients::id.eq(id),
                    clients::created_at.eq(created_at),
                    clients::jwt_secret_sealed.eq(sealed),
                ))
                .execute(tx)
                .await?;
            diesel::insert_into(client_signing_keys::table)
                .values((
                    client_signing_keys::kid.eq(&signing_key.kid),
                    client_signing_keys::client_id.eq(id),
                    client_signing_keys::alg.eq(&signing_key.alg),
                    client_signing_keys::private_key_sealed.eq(&signing_key.private_key.0),
                    client_signing_keys::public_jwk.eq(&signing_key.public_jwk),
                    client_signing_keys::status.eq("active"),
                    client_signing_keys::created_at.eq(created_at),
                ))
                .execute(tx)
                .await?;
            insert_event(tx, audit).await
        })
        .await
        .map_err(write_error)
    }

    #[tracing::instrument(name = "pg.clients.update", level = "debug", skip_all)]
    async fn update(
        &self,
        client: &Client,
        jwt_secret: Option<&SealedSecret>,
        audit: &AuditEvent,
    ) -> Result<(), ClientWriteError> {
        let mut conn = self.conn().await?;
        let row = ClientWrite::of(client);
        let sealed = jwt_secret.map(|s| s.0.as_slice());
        let id = client.id.as_uuid();
        let expected_version = client.version - 1;
        let updated = conn
            .transaction::<_, DieselError, _>(async |tx| {
                let n = diesel::update(
                    clients::table
                        .filter(clients::id.eq(id))
                        .filter(clients::version.eq(expected_version)),
                )
                .set(&row)
                .execute(tx)
                .await?;
                if n == 1 {
                    if let Some(sealed) = sealed {
                        diesel::update(clients::table.filter(clients::id.eq(id)))
                            .set(clients::jwt_secret_sealed.eq(sealed))
                            .execute(tx)
                            .await?;
                    }
                    insert_event(tx, audit).await?;
                }
                Ok(n)
            })
            .await
            .map_err(write_error)?;
        if updated == 1 {
            return Ok(());
        }
        let exists: i64 = clients::table
            .filter(clients::id.eq(id))
            .count()
            .get_result(&mut conn)
            .await
            .context("checking client existence")?;
        Err(if exists == 0 {
            ClientWriteError::NotFound
        } else {
            ClientWriteError::Conflict
        })
    }

    #[tracing::instrument(name = "pg.clients.get", level = "debug", skip_all)]
    async fn get(&self, id: ClientId) -> anyhow::Result<Option<Client>> {
        let mut conn = self.conn().await?;
        clients::table
            .filter(clients::id.eq(id.as_uuid()))
            .select(ClientRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("loading client")?
            .map(ClientRow::into_client)
            .transpose()
    }

    #[tracing::instrument(name = "pg.clients.find_by_slug", level = "debug", skip_all)]
    async fn find_by_slug(&self, slug: &str) -> anyhow::Result<Option<Client>> {
        let mut conn = self.conn().await?;
        clients::table
            .filter(clients::slug.eq(slug))
            .select(ClientRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("loading client by slug")?
            .map(ClientRow::into_client)
            .transpose()
    }

    #[tracing::instrument(name = "pg.clients.find_by_api_key_hash", level = "debug", skip_all)]
    async fn find_by_api_key_hash(&self, hash: &ApiKeyHash) -> anyhow::Result<Option<Client>> {
        let mut conn = self.conn().await?;
        clients::table
            .filter(clients::api_key_hash.eq(hash.as_bytes().as_slice()))
            .select(ClientRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("loading client by API key")?
            .map(ClientRow::into_client)
            .transpose()
    }

    #[tracing::instrument(name = "pg.clients.list", level = "debug", skip_all)]
    async fn list(&self, after: Option<Uuid>, limit: usize) -> anyhow::Result<Vec<Client>> {
        let mut conn = self.conn().await?;
        let mut query = clients::table
            .select(ClientRow::as_select())
            .order(clients::id.asc())
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(clients::id.gt(after));
        }
        let rows: Vec<ClientRow> = query.load(&mut conn).await.context("listing clients")?;
        rows.into_iter().map(ClientRow::into_client).collect()
    }

    #[tracing::instrument(name = "pg.clients.jwt_secret", level = "debug", skip_all)]
    async fn jwt_secret(&self, id: ClientId) -> anyhow::Result<Option<SealedSecret>> {
        let mut conn = self.conn().await?;
        let sealed: Option<Vec<u8>> = clients::table
            .filter(clients::id.eq(id.as_uuid()))
            .select(clients::jwt_secret_sealed)
            .first(&mut conn)
            .await
            .optional()
            .context("loading client secret")?;
        Ok(sealed.map(SealedSecret))
    }

    #[tracing::instrument(
        name = "pg.clients.any_active_allows_origin",
        level = "debug",
        skip_all
    )]
    async fn any_active_allows_origin(&self, origin: &str) -> anyhow::Result<bool> {
        use diesel::dsl::exists;
        let mut conn = self.conn().await?;
        diesel::select(exists(
            clients::table
                .filter(clients::status.eq(ClientStatus::Active.as_str()))
                .filter(clients::allowed_origins.contains(vec![origin])),
        ))
        .get_result(&mut conn)
        .await
        .context("checking allowed origins")
    }
}
