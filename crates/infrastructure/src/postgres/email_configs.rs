//! `client_email_configs`: one row per client that has its own email settings.

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use authservice_application::ports::{EmailConfigRepository, SealedSecret, StoredEmailConfig};
use authservice_domain::{ClientEmailConfig, ClientId, Email, LinkBase, SmtpServer};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::PgPool;
use super::schema::client_email_configs;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = client_email_configs)]
#[diesel(check_for_backend(diesel::pg::Pg))]
#[diesel(treat_none_as_null = true)]
struct ConfigRow {
    client_id: Uuid,
    from_name: Option<String>,
    from_email: Option<String>,
    reply_to: Option<String>,
    base_url: Option<String>,
    smtp_host: Option<String>,
    smtp_port: Option<i32>,
    smtp_username: Option<String>,
    smtp_password_sealed: Option<Vec<u8>>,
    smtp_tls: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl ConfigRow {
    fn from_stored(client: ClientId, s: &StoredEmailConfig) -> Self {
        let c = &s.config;
        Self {
            client_id: client.as_uuid(),
            from_name: c.from_name.clone(),
            from_email: c.from_email.as_ref().map(|e| e.as_str().to_owned()),
            reply_to: c.reply_to.as_ref().map(|e| e.as_str().to_owned()),
            base_url: c.base_url.as_ref().map(|b| b.as_str().to_owned()),
            smtp_host: c.smtp.as_ref().map(|s| s.host.clone()),
            smtp_port: c.smtp.as_ref().map(|s| i32::from(s.port)),
            smtp_username: c.smtp.as_ref().and_then(|s| s.username.clone()),
            smtp_password_sealed: s.smtp_password.as_ref().map(|p| p.0.clone()),
            smtp_tls: c.smtp.as_ref().map(|s| s.tls.as_str().to_owned()),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }

    fn into_stored(self) -> anyhow::Result<StoredEmailConfig> {
        let stored = |what: &str, e: authservice_domain::ValidationError| {
            anyhow!("stored email config {what}: {}", e.message)
        };
        let smtp = match &self.smtp_host {
            Some(host) => Some(
                SmtpServer::parse(
                    host,
                    self.smtp_port.and_then(|p| u16::try_from(p).ok()),
                    self.smtp_username.as_deref(),
                    self.smtp_tls.as_deref(),
                )
                .map_err(|e| stored("smtp", e))?,
            ),
            None => None,
        };
        let email = |raw: Option<String>| {
            raw.map(|r| Email::parse(&r).map_err(|e| stored("address", e)))
                .transpose()
        };
        Ok(StoredEmailConfig {
            config: ClientEmailConfig {
                from_name: self.from_name,
                from_email: email(self.from_email)?,
                reply_to: email(self.reply_to)?,
                base_url: self
                    .base_url
                    .map(|b| LinkBase::parse("base_url", &b).map_err(|e| stored("base_url", e)))
                    .transpose()?,
                smtp,
            },
            smtp_password: self.smtp_password_sealed.map(SealedSecret),
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub struct PgEmailConfigs {
    pool: PgPool,
}

impl PgEmailConfigs {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl EmailConfigRepository for PgEmailConfigs {
    #[tracing::instrument(name = "pg.email_configs.get", level = "debug", skip_all)]
    async fn get(&self, client: ClientId) -> anyhow::Result<Option<StoredEmailConfig>> {
        let mut conn = self.pool.get().await.context("connecting to PostgreSQL")?;
        client_email_configs::table
            .find(client.as_uuid())
            .select(ConfigRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .context("loading email config")?
            .map(ConfigRow::into_stored)
            .transpose()
    }
}

// ------------------------------------------------------------------ writes (unit of work)

/// Creates or replaces the client's settings.
pub(super) async fn put(
    tx: &mut AsyncPgConnection,
    client: ClientId,
    config: &StoredEmailConfig,
) -> QueryResult<bool> {
    let row = ConfigRow::from_stored(client, config);
    diesel::insert_into(client_email_configs::table)
        .values(&row)
        .on_conflict(client_email_configs::client_id)
        .do_update()
        .set(&row)
        .execute(tx)
        .await
        .map(|n| n > 0)
}

/// Deletes the client's settings; `false` when there were none.
pub(super) async fn delete(tx: &mut AsyncPgConnection, client: ClientId) -> QueryResult<bool> {
    diesel::delete(client_email_configs::table.find(client.as_uuid()))
        .execute(tx)
        .await
        .map(|n| n > 0)
}
