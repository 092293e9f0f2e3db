//! PostgreSQL through diesel-async and a deadpool pool; migrations embedded in the binary.

mod admins;
mod audit;
mod audit_chain;
mod authorization;
mod clients;
mod consents;
mod email_configs;
mod invitations;
mod mfa;
mod oidc_apps;
mod one_time_tokens;
mod org_domains;
mod organizations;
mod outbox;
mod passkeys;
pub mod schema;
mod scim;
mod scim_groups;
mod scim_query;
mod scim_users;
mod service_accounts;
mod sessions;
mod signing_keys;
mod social;
mod sso;
mod unit_of_work;
mod users;
mod webhooks;

use std::time::Duration;

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use authservice_application::ports::{PoolStats, Probe};
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use admins::PgAdmins;
pub use audit::PgAuditLog;
pub use authorization::PgOrgAuthorization;
pub use clients::PgClientRepository;
pub use consents::PgConsents;
pub use email_configs::PgEmailConfigs;
pub use invitations::PgInvitations;
pub use mfa::PgMfa;
pub use oidc_apps::PgOidcApps;
pub use one_time_tokens::PgOneTimeTokens;
pub use org_domains::PgOrgDomains;
pub use organizations::PgOrganizations;
pub use outbox::PgEmailOutbox;
pub use passkeys::PgPasskeys;
pub use scim::PgScimDirectories;
pub use scim_groups::PgScimGroups;
pub use scim_users::PgScimUsers;
pub use service_accounts::PgServiceAccounts;
pub use sessions::PgSessionRepository;
pub use signing_keys::{PgSigningKeys, StoredKey};
pub use social::PgSocialProviders;
pub use sso::PgSsoConnections;
pub use unit_of_work::PgUnitOfWork;
pub use users::PgUserRepository;
pub use webhooks::PgWebhooks;

pub type PgPool = Pool<AsyncPgConnection>;

/// Every migration under `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// Key of the advisory lock that serialises migrations across replicas.
const MIGRATION_LOCK: i64 = 0x6175_7468_7376_6331; // "authsvc1"

/// Builds the pool. Connections are made lazily; use [`PgProbe`] to check reachability.
pub fn connect(url: &str, max_size: usize) -> anyhow::Result<PgPool> {
    // Fast recycling: a connection going back into use is checked for an open transaction
    // and for having failed, not with a `SELECT 1` round trip on every checkout (which doubled
    // the round trips of every repository call). A connection the server closed fails its
    // next query once and is then discarded.
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(Duration::from_secs(5)))
        .create_timeout(Some(Duration::from_secs(5)))
        .recycle_timeout(Some(Duration::from_secs(2)))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .context("building the PostgreSQL pool")
}

/// Applies pending migrations under an advisory lock; returns the versions applied.
/// Must run on a multi-thread tokio runtime (the harness uses `block_in_place`).
pub async fn run_migrations(pool: &PgPool) -> anyhow::Result<Vec<String>> {
    let mut conn = pool.get().await.context("connecting to PostgreSQL")?;
    diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .execute(&mut conn)
        .await
        .context("taking the migration lock")?;
    let mut harness = AsyncMigrationHarness::new(conn);
    let applied = harness
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect::<Vec<_>>())
        .map_err(|e| anyhow!("running migrations: {e}"));
    let mut conn = harness.into_inner();
    diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
        .execute(&mut conn)
        .await
        .context("releasing the migration lock")?;
    applied
}

/// Readiness of PostgreSQL: a `SELECT 1` within two seconds.
pub struct PgProbe {
    pool: PgPool,
}

impl PgProbe {
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl Probe for PgProbe {
    fn name(&self) -> &'static str {
        "postgres"
    }

    #[tracing::instrument(name = "pg.mod.ping", level = "debug", skip_all)]
    async fn ping(&self) -> anyhow::Result<()> {
        let check = async {
            let mut conn = self
                .pool
                .get()
                .await
                .map_err(|e| anyhow!("unreachable: {e}"))?;
            diesel::sql_query("SELECT 1")
                .execute(&mut conn)
                .await
                .map_err(|e| anyhow!("query failed: {e}"))?;
            Ok(())
        };
        tokio::time::timeout(Duration::from_secs(2), check)
            .await
            .map_err(|_| anyhow!("timed out"))?
    }

    fn pool_stats(&self) -> Option<PoolStats> {
        let status = self.pool.status();
        Some(PoolStats {
            max_size: status.max_size,
            size: status.size,
            available: status.available,
        })
    }
}
