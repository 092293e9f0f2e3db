//! `sso_connections` and `sso_identities`: organizations' SSO connections and the identities
//! they sign in as. Connections route a domain only while it is verified for their
//! organization (a join with `organization_domains`, not a copy).

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::pagination::PageRequest;
use authservice_application::ports::SsoConnectionRepository;
use authservice_domain::organization::OrganizationId;
use authservice_domain::sso::{
    AttributeMapping, ConnectionStatus, OidcIdp, SamlIdp, SsoConnection, SsoProtocol,
};
use authservice_domain::{ClientId, UserId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::PgPool;
use super::schema::{organization_domains, sso_connections as conns, sso_identities as ids};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = conns)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct ConnectionRow {
    id: Uuid,
    client_id: Uuid,
    organization_id: Uuid,
    name: String,
    protocol: String,
    status: String,
    domains: Vec<String>,
    enforce_for_domains: bool,
    jit: bool,
    attribute_mapping: Value,
    config: Value,
    secret_sealed: Option<Vec<u8>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    last_login_at: Option<DateTime<Utc>>,
}

impl ConnectionRow {
    fn of(c: &SsoConnection) -> Self {
        Self {
            id: c.id,
            client_id: c.client_id.as_uuid(),
            organization_id: c.organization_id.as_uuid(),
            name: c.name.clone(),
            protocol: c.protocol.as_str().to_owned(),
            status: c.status.as_str().to_owned(),
            domains: c.domains.clone(),
            enforce_for_domains: c.enforce_for_domains,
            jit: c.jit,
            attribute_mapping: c.attribute_mapping.to_value(),
            config: match (&c.oidc, &c.saml) {
                (Some(oidc), _) => oidc.to_value(),
                (None, Some(saml)) => saml.to_value(),
                (None, None) => Value::Null,
            },
            secret_sealed: c.sealed_secret.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            last_login_at: c.last_login_at,
        }
    }

    fn into_domain(self) -> anyhow::Result<SsoConnection> {
        let protocol = SsoProtocol::parse(&self.protocol).context("stored SSO protocol")?;
        // Stored values were checked when written (insecure URLs were allowed then or not).
        let (oidc, saml) = match protocol {
            SsoProtocol::Oidc => (Some(stored_oidc(&self.config)?), None),
            SsoProtocol::Saml => (
                None,
                Some(SamlIdp::from_stored(&self.config).context("stored SAML settings")?),
            ),
        };
        Ok(SsoConnection {
            id: self.id,
            client_id: ClientId::from_uuid(self.client_id),
            organization_id: OrganizationId::from_uuid(self.organization_id),
            name: self.name,
            protocol,
            status: ConnectionStatus::parse(&self.status).context("stored SSO status")?,
            domains: self.domains,
            enforce_for_domains: self.enforce_for_domains,
            jit: self.jit,
            attribute_mapping: AttributeMapping::parse(&self.attribute_mapping)
                .context("stored attribute mapping")?,
            oidc,
            saml,
            sealed_secret: self.secret_sealed,
            created_at: self.created_at,
            updated_at: self.updated_at,
            last_login_at: self.last_login_at,
        })
    }
}

/// The stored OIDC settings, read back without re-checking the issuer's address.
fn stored_oidc(config: &Value) -> anyhow::Result<OidcIdp> {
    OidcIdp::from_stored(config).context("stored OIDC settings without issuer or client id")
}

pub struct PgSsoConnections {
    pool: PgPool,
}

impl PgSsoConnections {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl SsoConnectionRepository for PgSsoConnections {
    #[tracing::instrument(name = "pg.sso.list", level = "debug", skip_all)]
    async fn list(
        &self,
        client: ClientId,
        org: Option<OrganizationId>,
        page: PageRequest,
    ) -> anyhow::Result<Vec<SsoConnection>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let mut query = conns::table
            .filter(conns::client_id.eq(client.as_uuid()))
            .order(conns::id.asc())
            .limit(i64::try_from(page.limit + 1).unwrap_or(i64::MAX))
            .select(ConnectionRow::as_select())
            .into_boxed();
        if let Some(org) = org {
            query = query.filter(conns::organization_id.eq(org.as_uuid()));
        }
        if let Some(after) = page.after {
            query = query.filter(conns::id.gt(after));
        }
        let rows: Vec<ConnectionRow> = query
            .load(&mut conn)
            .await
            .context("listing SSO connections")?;
        rows.into_iter().map(ConnectionRow::into_domain).collect()
    }

    #[tracing::instrument(name = "pg.sso.get", level = "debug", skip_all)]
    async fn get(&self, client: ClientId, id: Uuid) -> anyhow::Result<Option<SsoConnection>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<ConnectionRow> = conns::table
            .filter(conns::client_id.eq(client.as_uuid()))
            .filter(conns::id.eq(id))
            .select(ConnectionRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("loading an SSO connection")?;
        row.map(ConnectionRow::into_domain).transpose()
    }

    #[tracing::instrument(name = "pg.sso.find", level = "debug", skip_all)]
    async fn find(&self, id: Uuid) -> anyhow::Result<Option<SsoConnection>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<ConnectionRow> = conns::table
            .filter(conns::id.eq(id))
            .select(ConnectionRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("loading an SSO connection")?;
        row.map(ConnectionRow::into_domain).transpose()
    }

    #[tracing::instrument(name = "pg.sso.count", level = "debug", skip_all)]
    async fn count(&self, client: ClientId, org: OrganizationId) -> anyhow::Result<usize> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let n: i64 = conns::table
            .filter(conns::client_id.eq(client.as_uuid()))
            .filter(conns::organization_id.eq(org.as_uuid()))
            .count()
            .get_result(&mut conn)
            .await
            .context("counting SSO connections")?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    #[tracing::instrument(name = "pg.sso.any_active", level = "debug", skip_all)]
    async fn any_active(&self, client: ClientId) -> anyhow::Result<bool> {
        use diesel::dsl::exists;
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        diesel::select(exists(
            conns::table
                .filter(conns::client_id.eq(client.as_uuid()))
                .filter(conns::status.eq(ConnectionStatus::Active.as_str())),
        ))
        .get_result(&mut conn)
        .await
        .context("looking for SSO connections")
    }

    #[tracing::instrument(name = "pg.sso.for_domain", level = "debug", skip_all)]
    async fn for_domain(
        &self,
        client: ClientId,
        domain: &str,
    ) -> anyhow::Result<Option<SsoConnection>> {
        use diesel::dsl::exists;
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let verified = organization_domains::table
            .filter(organization_domains::client_id.eq(client.as_uuid()))
            .filter(organization_domains::organization_id.eq(conns::organization_id))
            .filter(organization_domains::domain.eq(domain))
            .filter(organization_domains::status.eq("verified"));
        let row: Option<ConnectionRow> = conns::table
            .filter(conns::client_id.eq(client.as_uuid()))
            .filter(conns::status.eq(ConnectionStatus::Active.as_str()))
            .filter(conns::domains.contains(vec![domain.to_owned()]))
            .filter(exists(verified))
            .order(conns::id.asc())
            .select(ConnectionRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("finding the SSO connection of a domain")?;
        row.map(ConnectionRow::into_domain).transpose()
    }

    #[tracing::instrument(name = "pg.sso.identity_user", level = "debug", skip_all)]
    async fn identity_user(
        &self,
        client: ClientId,
        connection: Uuid,
        external_id: &str,
    ) -> anyhow::Result<Option<UserId>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let user: Option<Uuid> = ids::table
            .filter(ids::client_id.eq(client.as_uuid()))
            .filter(ids::connection_id.eq(connection))
            .filter(ids::external_id.eq(external_id))
            .select(ids::user_id)
            .first(&mut conn)
            .await
            .optional()
            .context("finding an SSO identity")?;
        Ok(user.map(UserId::from_uuid))
    }
}

// ------------------------------------------------------------------ writes (unit of work)

/// Stores a new connection.
pub(super) async fn insert(tx: &mut AsyncPgConnection, c: &SsoConnection) -> QueryResult<bool> {
    diesel::insert_into(conns::table)
        .values(ConnectionRow::of(c))
        .execute(tx)
        .await
        .map(|n| n > 0)
}

/// Stores a connection's fields; `false` when it is gone.
pub(super) async fn update(tx: &mut AsyncPgConnection, c: &SsoConnection) -> QueryResult<bool> {
    let row = ConnectionRow::of(c);
    diesel::update(
        conns::table
            .filter(conns::client_id.eq(row.client_id))
            .filter(conns::id.eq(row.id)),
    )
    .set((
        conns::name.eq(row.name),
        conns::status.eq(row.status),
        conns::domains.eq(row.domains),
        conns::enforce_for_domains.eq(row.enforce_for_domains),
        conns::jit.eq(row.jit),
        conns::attribute_mapping.eq(row.attribute_mapping),
        conns::config.eq(row.config),
        conns::secret_sealed.eq(row.secret_sealed),
        conns::updated_at.eq(row.updated_at),
    ))
    .execute(tx)
    .await
    .map(|n| n > 0)
}

/// Deletes a connection (its identities go with it); `false` when there was none.
pub(super) async fn delete(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    id: Uuid,
) -> QueryResult<bool> {
    diesel::delete(
        conns::table
            .filter(conns::client_id.eq(client.as_uuid()))
            .filter(conns::id.eq(id)),
    )
    .execute(tx)
    .await
    .map(|n| n > 0)
}

/// Forgets the identities a connection linked.
pub(super) async fn delete_identities(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    connection: Uuid,
) -> QueryResult<usize> {
    diesel::delete(
        ids::table
            .filter(ids::client_id.eq(client.as_uuid()))
            .filter(ids::connection_id.eq(connection)),
    )
    .execute(tx)
    .await
}

/// Links the identity to `user`, or stamps its sign-in when it is theirs already; `false` when
/// it belongs to another user. Stamps the connection's last sign-in too.
pub(super) async fn link_identity(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    connection: Uuid,
    external_id: &str,
    user: UserId,
    at: DateTime<Utc>,
) -> QueryResult<bool> {
    let linked = diesel::sql_query(
        "INSERT INTO sso_identities \
         (connection_id, external_id, client_id, user_id, created_at, last_login_at) \
         VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT (connection_id, external_id) DO UPDATE SET last_login_at = excluded.last_login_at \
         WHERE sso_identities.user_id = excluded.user_id \
         AND sso_identities.client_id = excluded.client_id",
    )
    .bind::<diesel::sql_types::Uuid, _>(connection)
    .bind::<diesel::sql_types::Text, _>(external_id)
    .bind::<diesel::sql_types::Uuid, _>(client.as_uuid())
    .bind::<diesel::sql_types::Uuid, _>(user.as_uuid())
    .bind::<diesel::sql_types::Timestamptz, _>(at)
    .execute(tx)
    .await?;
    if linked == 0 {
        return Ok(false);
    }
    diesel::update(
        conns::table
            .filter(conns::client_id.eq(client.as_uuid()))
            .filter(conns::id.eq(connection)),
    )
    .set(conns::last_login_at.eq(at))
    .execute(tx)
    .await
    .map(|n| n > 0)
}
