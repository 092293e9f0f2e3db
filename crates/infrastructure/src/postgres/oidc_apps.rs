//! `oidc_apps`: a client's OIDC applications; the secret only as its SHA-256.

use anyhow::Context;
use async_trait::async_trait;
use authservice_application::pagination::PageRequest;
use authservice_application::ports::OidcAppRepository;
use authservice_domain::oidc_app::{AppType, AuthMethod, GrantType, OidcApp};
use authservice_domain::{ClientId, ClientName, RedirectUri};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::PgPool;
use super::schema::oidc_apps;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = oidc_apps)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct AppRow {
    id: Uuid,
    client_id: Uuid,
    public_id: String,
    name: String,
    app_type: String,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    scopes: Vec<String>,
    grant_types: Vec<String>,
    token_endpoint_auth_method: String,
    jwks: Option<Value>,
    first_party: bool,
    secret_prefix: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl AppRow {
    fn of(app: &OidcApp) -> Self {
        let uris = |u: &[RedirectUri]| u.iter().map(|u| u.as_str().to_owned()).collect();
        Self {
            id: app.id,
            client_id: app.client_id.as_uuid(),
            public_id: app.public_id.clone(),
            name: app.name.as_str().to_owned(),
            app_type: app.app_type.as_str().to_owned(),
            redirect_uris: uris(&app.redirect_uris),
            post_logout_redirect_uris: uris(&app.post_logout_redirect_uris),
            scopes: app.scopes.clone(),
            grant_types: app
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            token_endpoint_auth_method: app.auth_method.as_str().to_owned(),
            jwks: app.jwks.clone(),
            first_party: app.first_party,
            secret_prefix: app.secret_prefix.clone(),
            created_at: app.created_at,
            updated_at: app.updated_at,
        }
    }

    fn into_app(self) -> anyhow::Result<OidcApp> {
        let uris = |u: &[String], field| OidcApp::uris(field, u).context("stored redirect URIs");
        Ok(OidcApp {
            id: self.id,
            client_id: ClientId::from_uuid(self.client_id),
            public_id: self.public_id,
            name: ClientName::parse(&self.name).context("stored app name")?,
            app_type: AppType::parse(&self.app_type).context("stored app type")?,
            redirect_uris: uris(&self.redirect_uris, "redirect_uris")?,
            post_logout_redirect_uris: uris(
                &self.post_logout_redirect_uris,
                "post_logout_redirect_uris",
            )?,
            scopes: self.scopes,
            grant_types: self
                .grant_types
                .iter()
                .map(|g| GrantType::parse(g))
                .collect::<Result<_, _>>()
                .context("stored grant types")?,
            auth_method: AuthMethod::parse(&self.token_endpoint_auth_method)
                .context("stored auth method")?,
            jwks: self.jwks,
            first_party: self.first_party,
            secret_prefix: self.secret_prefix,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub struct PgOidcApps {
    pool: PgPool,
}

impl PgOidcApps {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl OidcAppRepository for PgOidcApps {
    #[tracing::instrument(name = "pg.oidc_apps.list", level = "debug", skip_all)]
    async fn list(&self, client: ClientId, page: PageRequest) -> anyhow::Result<Vec<OidcApp>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let mut query = oidc_apps::table
            .filter(oidc_apps::client_id.eq(client.as_uuid()))
            .order(oidc_apps::id.asc())
            .limit(i64::try_from(page.limit + 1).unwrap_or(i64::MAX))
            .select(AppRow::as_select())
            .into_boxed();
        if let Some(after) = page.after {
            query = query.filter(oidc_apps::id.gt(after));
        }
        let rows: Vec<AppRow> = query.load(&mut conn).await.context("listing OIDC apps")?;
        rows.into_iter().map(AppRow::into_app).collect()
    }

    #[tracing::instrument(name = "pg.oidc_apps.get", level = "debug", skip_all)]
    async fn get(&self, client: ClientId, id: Uuid) -> anyhow::Result<Option<OidcApp>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<AppRow> = oidc_apps::table
            .filter(oidc_apps::client_id.eq(client.as_uuid()))
            .filter(oidc_apps::id.eq(id))
            .select(AppRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("loading OIDC app")?;
        row.map(AppRow::into_app).transpose()
    }

    #[tracing::instrument(name = "pg.oidc_apps.by_public_id", level = "debug", skip_all)]
    async fn by_public_id(
        &self,
        public_id: &str,
    ) -> anyhow::Result<Option<(OidcApp, Option<[u8; 32]>)>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        let row: Option<(AppRow, Option<Vec<u8>>)> = oidc_apps::table
            .filter(oidc_apps::public_id.eq(public_id))
            .select((AppRow::as_select(), oidc_apps::secret_hash))
            .first(&mut conn)
            .await
            .optional()
            .context("loading OIDC app by client_id")?;
        let Some((row, hash)) = row else {
            return Ok(None);
        };
        let hash = hash
            .map(|h| <[u8; 32]>::try_from(h.as_slice()).context("stored secret hash"))
            .transpose()?;
        Ok(Some((row.into_app()?, hash)))
    }
}

// ------------------------------------------------------------------ writes (unit of work)

/// Stores a new app with the SHA-256 of its secret.
pub(super) async fn insert(
    tx: &mut AsyncPgConnection,
    app: &OidcApp,
    secret_hash: Option<&[u8; 32]>,
) -> QueryResult<bool> {
    diesel::insert_into(oidc_apps::table)
        .values((
            AppRow::of(app),
            oidc_apps::secret_hash.eq(secret_hash.map(|h| h.to_vec())),
        ))
        .execute(tx)
        .await
        .map(|n| n > 0)
}

/// Stores the app's fields (not its secret); `false` when it is gone.
pub(super) async fn update(tx: &mut AsyncPgConnection, app: &OidcApp) -> QueryResult<bool> {
    let row = AppRow::of(app);
    diesel::update(
        oidc_apps::table
            .filter(oidc_apps::client_id.eq(app.client_id.as_uuid()))
            .filter(oidc_apps::id.eq(app.id)),
    )
    .set((
        oidc_apps::name.eq(&row.name),
        oidc_apps::app_type.eq(&row.app_type),
        oidc_apps::redirect_uris.eq(&row.redirect_uris),
        oidc_apps::post_logout_redirect_uris.eq(&row.post_logout_redirect_uris),
        oidc_apps::scopes.eq(&row.scopes),
        oidc_apps::grant_types.eq(&row.grant_types),
        oidc_apps::token_endpoint_auth_method.eq(&row.token_endpoint_auth_method),
        oidc_apps::jwks.eq(&row.jwks),
        oidc_apps::first_party.eq(row.first_party),
        oidc_apps::updated_at.eq(row.updated_at),
    ))
    .execute(tx)
    .await
    .map(|n| n > 0)
}

/// Replaces the app's secret (hash and prefix); `false` when it is gone.
pub(super) async fn set_secret(
    tx: &mut AsyncPgConnection,
    app: &OidcApp,
    secret_hash: Option<&[u8; 32]>,
) -> QueryResult<bool> {
    diesel::update(
        oidc_apps::table
            .filter(oidc_apps::client_id.eq(app.client_id.as_uuid()))
            .filter(oidc_apps::id.eq(app.id)),
    )
    .set((
        oidc_apps::secret_hash.eq(secret_hash.map(|h| h.to_vec())),
        oidc_apps::secret_prefix.eq(&app.secret_prefix),
    ))
    .execute(tx)
    .await
    .map(|n| n > 0)
}

/// Deletes app `id` of `client`; `false` when there was none.
pub(super) async fn delete(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    id: Uuid,
) -> QueryResult<bool> {
    diesel::delete(
        oidc_apps::table
            .filter(oidc_apps::client_id.eq(client.as_uuid()))
            .filter(oidc_apps::id.eq(id)),
    )
    .execute(tx)
    .await
    .map(|n| n > 0)
}
