//! Builds the adapters, runs migrations, binds REST and gRPC (port 0 allowed) and runs both
//! until a shutdown signal, then drains in-flight requests within SHUTDOWN_TIMEOUT_SECS.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::cookie::SameSite;
use actix_web::web;
use anyhow::Context;
use authservice_application::Services;
use authservice_application::auth::AuthConfig;
use authservice_application::email::MailConfig;
use authservice_application::limits::Limits;
use authservice_application::ports::{EphemeralStore, Ports, Probe, RateLimiter, SystemClock};
use authservice_application::services::UseCaseConfig;
use authservice_infrastructure::crypto::{
    AesGcmSecretBox, JwtAccessTokens, OsRandom, PooledHasher, RfcTotp, WebauthnRs,
};
use authservice_infrastructure::email::{
    MailTransport, NotifySignal, SmtpMailer, TemplateRenderer,
};
use authservice_infrastructure::memory::{
    AbsenceCachingStore, CachingClientRepository, FeedHealth, MemoryEphemeralStore,
    MemoryRateLimiter,
};
use authservice_infrastructure::postgres::{
    self, PgAuditLog, PgClientRepository, PgEmailConfigs, PgEmailOutbox, PgInvitations, PgMfa,
    PgOidcApps, PgOneTimeTokens, PgOrgAuthorization, PgOrganizations, PgPasskeys, PgPool, PgProbe,
    PgServiceAccounts, PgSessionRepository, PgSigningKeys, PgUserRepository,
};
use authservice_infrastructure::redis::{
    self as redis_adapter, RedisEphemeralStore, RedisPool, RedisProbe, RedisRateLimiter,
};
use authservice_interfaces::metrics::Metrics;
use authservice_interfaces::rest::transport::CookieConfig;
use authservice_interfaces::rest::{self, HttpConfig, HttpState};
use secrecy::ExposeSecret;
use tokio::sync::{Notify, watch};

use crate::settings::{CookieSameSite, Settings};

mod workers;

use workers::{email_worker, housekeeping, stopped_early};

/// A built, bound, not yet running server.
pub struct Application {
    http: actix_web::dev::Server,
    http_addr: SocketAddr,
    grpc_listener: tokio::net::TcpListener,
    grpc_addr: SocketAddr,
    services: Arc<Services>,
    grpc_reflection: bool,
    /// Shared by the REST middleware and the gRPC layer (one `/metrics`).
    metrics: Arc<Metrics>,
    trusted_proxies: Vec<ipnet::IpNet>,
    shutdown_timeout: Duration,
    pg_pool: PgPool,
    redis_pool: Option<RedisPool>,
    outbox_wakeup: Arc<Notify>,
    email_poll_interval: Duration,
    audit_chain_interval: Duration,
    webhook_poll_interval: Duration,
}

/// Opens the PostgreSQL pool and applies migrations (the `migrate` subcommand).
pub async fn migrate(settings: &Settings) -> anyhow::Result<Vec<String>> {
    migrate_url(settings.database_url.expose_secret()).await
}

/// Applies migrations to the database at `url`.
pub async fn migrate_url(url: &str) -> anyhow::Result<Vec<String>> {
    let pool = postgres::connect(url, 2)?;
    let applied = postgres::run_migrations(&pool).await?;
    pool.close();
    Ok(applied)
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pg_pool = postgres::connect(
            settings.database_url.expose_secret(),
            settings.database_max_connections,
        )?;
        if settings.run_migrations {
            let applied = postgres::run_migrations(&pg_pool)
                .await
                .context("PostgreSQL is required: applying migrations at startup failed")?;
            if !applied.is_empty() {
                tracing::info!(migrations = ?applied, "applied migrations");
            }
        }

        let mut probes: Vec<Arc<dyn Probe>> = vec![Arc::new(PgProbe::new(pg_pool.clone()))];
        type Shortlived = (
            Arc<dyn RateLimiter>,
            Arc<dyn EphemeralStore>,
            Option<RedisPool>,
        );
        let (rate_limiter, ephemeral, redis_pool): Shortlived = match &settings.redis_url {
            Some(url) => {
                let pool = redis_adapter::connect(url.expose_secret(), 16)?;
                probes.push(Arc::new(RedisProbe::new(pool.clone())));
                let prefix = &settings.redis_key_prefix;
                // "Not revoked" answers are reused without a Redis round trip per validation:
                // another replica's revocation arrives over pub/sub at once, or within the
                // fallback TTL while the feed is down.
                let feed = Arc::new(FeedHealth::default());
                let cache = Arc::new(AbsenceCachingStore::with_feed(
                    Arc::new(RedisEphemeralStore::new(pool.clone(), prefix)),
                    settings.revocation_cache_ttl,
                    settings.revocation_cache_fallback_ttl,
                    feed.clone(),
                ));
                redis_adapter::invalidation::spawn_listener(
                    url.expose_secret(),
                    prefix,
                    cache.clone(),
                    feed,
                )?;
                (
                    Arc::new(RedisRateLimiter::new(pool.clone(), prefix)),
                    cache,
                    Some(pool),
                )
            }
            None => {
                tracing::warn!(
                    "REDIS_URL is not set: rate limits and short-lived state use an in-process \
                         store; run ONE instance only"
                );
                (
                    Arc::new(MemoryRateLimiter::new()),
                    Arc::new(MemoryEphemeralStore::new()),
                    None,
                )
            }
        };

        let clients: Arc<dyn authservice_application::ports::ClientRepository> =
            Arc::new(CachingClientRepository::new(
                Arc::new(PgClientRepository::new(pg_pool.clone())),
                settings.client_cache_ttl,
            ));
        let secret_box: Arc<dyn authservice_application::ports::SecretBox> =
            Arc::new(AesGcmSecretBox::new(&settings.encryption_key.0));
        let issuer = settings.base_url.as_str().trim_end_matches('/').to_owned();
        let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        // One hash per core at a time: Argon2's memory is bounded by workers × ARGON2_MEMORY_KIB.
        let hasher = Arc::new(PooledHasher::new(
            settings.password_hash,
            workers,
            settings.password_hash_queue,
        ));
        // The dummy hash (for unknown emails) is computed in the background, not on the path
        // to readiness.
        let warming = hasher.clone();
        tokio::spawn(async move {
            if let Err(err) = warming.warm_up().await {
                tracing::warn!(error = %err, "could not precompute the dummy password hash");
            }
        });
        if settings.webhook_allow_private {
            tracing::warn!(
                "WEBHOOK_ALLOW_PRIVATE is on: webhook endpoints may be http and internal addresses (development and tests only)"
            );
        }
        if settings.allow_insecure_idp_urls {
            tracing::warn!(
                "ALLOW_INSECURE_IDP_URLS is on: SSO connections may name http and internal identity providers (development and tests only)"
            );
        }
        let outbox_wakeup = Arc::new(Notify::new());
        let transport = match &settings.smtp {
            Some(smtp) => MailTransport::Smtp {
                server: smtp.server.clone(),
                password: smtp.password.clone(),
            },
            None => MailTransport::Folder(settings.email_dev_dir.clone()),
        };
        let mailer = SmtpMailer::new(transport, settings.smtp_timeout)
            .context("setting up email delivery")?;
        let ports = Ports {
            admins: Arc::new(authservice_infrastructure::postgres::PgAdmins::new(
                pg_pool.clone(),
            )),
            clients: clients.clone(),
            users: Arc::new(PgUserRepository::new(pg_pool.clone())),
            sessions: Arc::new(PgSessionRepository::new(pg_pool.clone())),
            signing_keys: Arc::new(PgSigningKeys::new(pg_pool.clone())),
            tokens: Arc::new(JwtAccessTokens::new(
                PgSigningKeys::new(pg_pool.clone()),
                clients,
                secret_box.clone(),
                issuer.clone(),
            )),
            passwords: hasher,
            audit: Arc::new(PgAuditLog::new(pg_pool.clone())),
            audit_retention: Arc::new(PgAuditLog::new(pg_pool.clone())),
            audit_chain: Arc::new(PgAuditLog::new(pg_pool.clone())),
            webhooks: Arc::new(authservice_infrastructure::postgres::PgWebhooks::new(
                pg_pool.clone(),
            )),
            webhook_sender: Arc::new(
                authservice_infrastructure::webhook_http::HttpWebhookSender::new(
                    settings.webhook_allow_private,
                )
                .context("setting up the webhook HTTP client")?,
            ),
            limits: Limits::new(rate_limiter, settings.rate_rules.clone()),
            ephemeral,
            one_time_tokens: Arc::new(PgOneTimeTokens::new(pg_pool.clone())),
            outbox: Arc::new(PgEmailOutbox::new(pg_pool.clone())),
            outbox_signal: Arc::new(NotifySignal(outbox_wakeup.clone())),
            email_configs: Arc::new(PgEmailConfigs::new(pg_pool.clone())),
            email_renderer: Arc::new(TemplateRenderer::new().context("loading email templates")?),
            mailer: Arc::new(mailer),
            mfa: Arc::new(PgMfa::new(pg_pool.clone())),
            totp: Arc::new(RfcTotp),
            passkeys: Arc::new(PgPasskeys::new(pg_pool.clone())),
            organizations: Arc::new(PgOrganizations::new(pg_pool.clone())),
            invitations: Arc::new(PgInvitations::new(pg_pool.clone())),
            org_authorization: Arc::new(PgOrgAuthorization::new(pg_pool.clone())),
            oidc_apps: Arc::new(PgOidcApps::new(pg_pool.clone())),
            sso_connections: Arc::new(authservice_infrastructure::postgres::PgSsoConnections::new(
                pg_pool.clone(),
            )),
            scim_directories: Arc::new(
                authservice_infrastructure::postgres::PgScimDirectories::new(pg_pool.clone()),
            ),
            scim_users: Arc::new(authservice_infrastructure::postgres::PgScimUsers::new(
                pg_pool.clone(),
            )),
            scim_groups: Arc::new(authservice_infrastructure::postgres::PgScimGroups::new(
                pg_pool.clone(),
            )),
            oidc_rp: Arc::new(
                authservice_infrastructure::oidc_rp::OpenIdConnectRp::new(
                    settings.allow_insecure_idp_urls,
                )
                .context("setting up the SSO HTTP client")?,
            ),
            social_providers: Arc::new(
                authservice_infrastructure::postgres::PgSocialProviders::new(pg_pool.clone()),
            ),
            oauth2: Arc::new(
                authservice_infrastructure::oauth2_social::OAuth2Social::new(
                    settings.allow_insecure_idp_urls,
                )
                .context("setting up the social sign-in HTTP client")?,
            ),
            saml_sp: Arc::new(
                authservice_infrastructure::saml_sp::SamaelSp::new(
                    settings.allow_insecure_idp_urls,
                )
                .context("setting up the SAML HTTP client")?,
            ),
            org_domains: Arc::new(authservice_infrastructure::postgres::PgOrgDomains::new(
                pg_pool.clone(),
            )),
            dns: Arc::new(authservice_infrastructure::dns::HickoryDns::new(
                &settings.dns_nameservers,
            )),
            consents: Arc::new(authservice_infrastructure::postgres::PgConsents::new(
                pg_pool.clone(),
            )),
            service_accounts: Arc::new(PgServiceAccounts::new(pg_pool.clone())),
            client_assertions: Arc::new(authservice_infrastructure::crypto::JwtClientAssertions),
            webauthn: Arc::new(WebauthnRs::new()),
            secret_box,
            uow: Arc::new(authservice_infrastructure::postgres::PgUnitOfWork::new(
                pg_pool.clone(),
            )),
            random: Arc::new(OsRandom),
            clock: Arc::new(SystemClock),
            probes,
        };
        let services = Arc::new(Services::new(
            &ports,
            &UseCaseConfig {
                admin_api_key: settings.admin_api_key.clone(),
                audit_retention: settings.audit_retention,
                admin_auth: authservice_application::admin::AdminAuthConfig {
                    access_ttl: settings.admin_access_ttl,
                    session_ttl: settings.admin_session_ttl,
                    ..Default::default()
                },
                allow_insecure_idp_urls: settings.allow_insecure_idp_urls,
                admin_sso: settings.admin_oidc.as_ref().map(|o| {
                    authservice_application::admin::AdminSsoConfig {
                        idp: authservice_domain::sso::OidcIdp {
                            issuer: o.issuer.clone(),
                            client_id: o.client_id.clone(),
                            scopes: vec!["email".to_owned()],
                            endpoints: None,
                        },
                        client_secret: o.client_secret.clone(),
                        redirect_uri: format!(
                            "{}/api/admin/auth/sso/callback",
                            settings.base_url.as_str().trim_end_matches('/')
                        ),
                    }
                }),
                webhooks: authservice_application::webhooks::WebhookSettings {
                    allow_private: settings.webhook_allow_private,
                },
                webhook_delivery: authservice_application::webhooks::DeliveryConfig {
                    retry_base: settings.webhook_retry_base,
                    disable_after: settings.webhook_disable_after,
                },
                global_origins: global_origins(&settings),
                auth: AuthConfig {
                    issuer,
                    access_ttl: settings.jwt_access_ttl,
                    refresh_ttl: settings.jwt_refresh_ttl,
                    session_max_lifetime: settings.session_max_lifetime,
                    session_idle_timeout: settings.session_idle_timeout,
                    reauth_max_age: settings.reauth_max_age,
                    oidc_code_ttl: settings.oidc_code_ttl,
                    org_token_ttl: settings.org_token_ttl,
                    password_policy: settings.password_policy.clone(),
                    blocked_email_domains: settings.blocked_email_domains.clone(),
                    lockout: settings.account_lockout_enabled,
                    jwks_publish_all: settings.jwks_publish_all,
                },
                mail: MailConfig {
                    base_url: authservice_domain::LinkBase::parse(
                        "BASE_URL",
                        settings.base_url.as_str(),
                    )
                    .map_err(|e| anyhow::anyhow!("BASE_URL: {}", e.message))?,
                    default_from: authservice_application::ports::Mailbox {
                        name: settings.email_from.0.clone(),
                        email: settings.email_from.1.clone(),
                    },
                    retry_base: settings.email_retry_base,
                    retry_max: settings.email_retry_max,
                    max_attempts: settings.email_max_attempts,
                    lease: settings.smtp_timeout * 8,
                    allow_private_smtp: settings.email_allow_private_smtp,
                },
            },
        ));

        let metrics = Arc::new(Metrics::new());
        let state = web::Data::new(HttpState {
            services: services.clone(),
            config: HttpConfig {
                trusted_proxies: settings.trusted_proxy_cidrs.clone(),
                metrics_token: settings.metrics_token.clone(),
                hsts: settings.base_url.scheme() == "https",
                public_dir: (settings.serve_frontend && settings.public_dir.is_dir())
                    .then(|| settings.public_dir.clone()),
                cookies: CookieConfig {
                    secure: settings.cookie_secure,
                    same_site: match settings.cookie_same_site {
                        CookieSameSite::Lax => SameSite::Lax,
                        CookieSameSite::Strict => SameSite::Strict,
                        CookieSameSite::None => SameSite::None,
                    },
                    domain: settings.cookie_domain.clone(),
                },
            },
            metrics: metrics.clone(),
        });

        let http_listener = std::net::TcpListener::bind((settings.host, settings.port))
            .with_context(|| format!("binding HTTP on {}:{}", settings.host, settings.port))?;
        let http_addr = http_listener.local_addr()?;
        let http = rest::build_server(
            state,
            http_listener,
            settings.http_workers,
            settings.shutdown_timeout_secs,
        )?;
        let grpc_listener = tokio::net::TcpListener::bind((settings.host, settings.grpc_port))
            .await
            .with_context(|| format!("binding gRPC on {}:{}", settings.host, settings.grpc_port))?;
        let grpc_addr = grpc_listener.local_addr()?;

        Ok(Self {
            http,
            http_addr,
            grpc_listener,
            grpc_addr,
            services,
            grpc_reflection: settings.grpc_reflection,
            metrics,
            trusted_proxies: settings.trusted_proxy_cidrs.clone(),
            shutdown_timeout: Duration::from_secs(settings.shutdown_timeout_secs),
            pg_pool,
            redis_pool,
            outbox_wakeup,
            email_poll_interval: settings.email_poll_interval,
            audit_chain_interval: settings.audit_chain_interval,
            webhook_poll_interval: settings.webhook_poll_interval,
        })
    }

    #[must_use]
    pub fn http_port(&self) -> u16 {
        self.http_addr.port()
    }

    #[must_use]
    pub fn grpc_port(&self) -> u16 {
        self.grpc_addr.port()
    }

    /// Serves until `shutdown` resolves (or either server fails), then stops accepting, lets
    /// in-flight requests finish until one deadline (`SHUTDOWN_TIMEOUT_SECS`), aborts whatever
    /// is still running, and closes the pools.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        tracing::info!(http = %self.http_addr, grpc = %self.grpc_addr, "serving");
        let http_handle = self.http.handle();
        let (stop_tx, mut stop_rx) = watch::channel(false);
        let mut grpc = tokio::spawn(authservice_interfaces::grpc::serve(
            self.grpc_listener,
            self.services.clone(),
            self.trusted_proxies,
            self.grpc_reflection,
            self.metrics,
            async move {
                let _ = stop_rx.wait_for(|stop| *stop).await;
            },
        ));
        let mut http = tokio::spawn(self.http);
        let housekeeping = tokio::spawn(housekeeping(self.services.clone()));
        let sealer = tokio::spawn(workers::audit_sealer(
            self.services.clone(),
            self.audit_chain_interval,
        ));
        let webhooks = tokio::spawn(workers::webhook_worker(
            self.services.clone(),
            self.webhook_poll_interval,
        ));
        let (worker_stop, worker_stop_rx) = watch::channel(false);
        let mut email_worker = tokio::spawn(email_worker(
            self.services.clone(),
            self.outbox_wakeup.clone(),
            self.email_poll_interval,
            worker_stop_rx,
        ));

        let (failure, http_done, grpc_done) = tokio::select! {
            () = shutdown => (None, false, false),
            res = &mut http => (Some(stopped_early("HTTP", res.map(|r| r.map_err(anyhow::Error::from)))), true, false),
            res = &mut grpc => (Some(stopped_early("gRPC", res)), false, true),
        };
        tracing::info!("shutting down: draining in-flight requests");
        let deadline = tokio::time::Instant::now() + self.shutdown_timeout;
        let _ = stop_tx.send(true);
        let drain = async {
            http_handle.stop(true).await;
            if !http_done {
                let _ = (&mut http).await;
            }
            if !grpc_done {
                let _ = (&mut grpc).await;
            }
        };
        if tokio::time::timeout_at(deadline, drain).await.is_err() {
            tracing::warn!("requests still running at the shutdown deadline; aborting them");
            http.abort();
            grpc.abort();
        }
        housekeeping.abort();
        sealer.abort();
        webhooks.abort();
        // The worker finishes the message in hand (a message aborted mid-send would be sent
        // again after its lease), within what is left of the deadline.
        let _ = worker_stop.send(true);
        if tokio::time::timeout_at(deadline, &mut email_worker)
            .await
            .is_err()
        {
            email_worker.abort();
        }
        self.pg_pool.close();
        if let Some(pool) = self.redis_pool {
            pool.close();
        }
        tracing::info!("stopped");
        failure.map_or(Ok(()), Err)
    }
}

/// `ALLOW_ORIGIN` plus `BASE_URL`'s own origin: the hosted pages call the API from there for
/// every client.
fn global_origins(settings: &Settings) -> Vec<authservice_domain::AllowedOrigin> {
    let mut origins = settings.allow_origin.clone();
    if let Ok(own) =
        authservice_domain::AllowedOrigin::parse(&settings.base_url.origin().ascii_serialization())
        && !origins.contains(&own)
    {
        origins.push(own);
    }
    origins
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
