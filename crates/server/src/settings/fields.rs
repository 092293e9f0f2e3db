//! The typed configuration: one field per setting, with its variable and default.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use authservice_application::limits::RateRules;
use authservice_domain::{AllowedOrigin, PasswordPolicy};
use ipnet::IpNet;
use secrecy::SecretString;
use url::Url;

use super::types::{CookieSameSite, EncryptionKey, LogFormat, SmtpSettings};

/// The typed configuration (secrets print as `[REDACTED]`).
#[derive(Clone, Debug)]
pub struct Settings {
    pub host: IpAddr,
    pub port: u16,
    pub grpc_port: u16,
    pub base_url: Url,
    pub database_url: SecretString,
    pub database_max_connections: usize,
    /// `None`: in-process stores (single instance only).
    pub redis_url: Option<SecretString>,
    pub redis_key_prefix: String,
    pub admin_api_key: SecretString,
    pub encryption_key: EncryptionKey,
    pub metrics_token: Option<SecretString>,
    pub public_dir: PathBuf,
    pub serve_frontend: bool,
    pub allow_origin: Vec<AllowedOrigin>,
    pub trusted_proxy_cidrs: Vec<IpNet>,
    pub grpc_reflection: bool,
    /// 0 = one per core.
    pub http_workers: usize,
    pub shutdown_timeout_secs: u64,
    pub run_migrations: bool,
    pub log_format: LogFormat,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: where to send OpenTelemetry traces (OTLP over gRPC, e.g.
    /// `http://otel-collector:4317`); unset: no export.
    pub otlp_endpoint: Option<Url>,
    /// `OTEL_SERVICE_NAME`: the `service.name` of exported traces.
    pub otel_service_name: String,
    pub jwt_access_ttl: Duration,
    pub jwt_refresh_ttl: Duration,
    /// `AUDIT_RETENTION_DAYS`: audit events older than this may be purged (default 2555 days,
    /// 1 – 36500; never while a legal hold covers them).
    pub audit_retention: Duration,
    /// `AUDIT_CHAIN_INTERVAL`: how often each replica seals new audit events into the hash
    /// chain (default 1 s, 50 ms – 24 h).
    pub audit_chain_interval: Duration,
    /// `ADMIN_ACCESS_TTL`: an admin user's access token (default 15 minutes, 1 m – 1 h).
    pub admin_access_ttl: Duration,
    /// `ADMIN_SESSION_TTL`: an admin session ends this long after sign-in whatever the
    /// refreshes (default 8 hours, 5 m – 24 h).
    pub admin_session_ttl: Duration,
    /// `SESSION_MAX_LIFETIME`: sessions end this long after sign-in (default 30 days).
    pub session_max_lifetime: Duration,
    /// `SESSION_IDLE_TIMEOUT`: sessions end when unused this long (default `JWT_REFRESH_TTL`).
    pub session_idle_timeout: Duration,
    /// `REAUTH_MAX_AGE`: how recent a sign-in or re-authentication must be for a sensitive
    /// change (default 5 minutes).
    pub reauth_max_age: Duration,
    /// `OIDC_CODE_TTL`: how long an OIDC authorization code may wait for its exchange
    /// (default 60 s; at most 10 minutes).
    pub oidc_code_ttl: Duration,
    /// `ORG_TOKEN_TTL`: the lifetime of an organization token (default 5 minutes; never beyond
    /// the access token that asked for it).
    pub org_token_ttl: Duration,
    pub bcrypt_cost: u32,
    /// `PASSWORD_HASH` (`argon2id`, default, or `bcrypt`) with `ARGON2_*` / `BCRYPT_COST`: how
    /// new passwords are hashed (stored hashes of the other kind are upgraded at login).
    pub password_hash: authservice_infrastructure::crypto::HashAlgorithm,
    /// Password hashes allowed to wait for a worker before callers get 503 `server_busy`.
    pub password_hash_queue: usize,
    pub password_policy: PasswordPolicy,
    pub blocked_email_domains: Vec<String>,
    /// `DNS_NAMESERVERS`: the resolvers asked for domain verification (`ip` or `ip:port`,
    /// comma-separated); empty = the system's (`/etc/resolv.conf`).
    pub dns_nameservers: Vec<std::net::SocketAddr>,
    /// `ALLOW_INSECURE_IDP_URLS`: SSO identity providers on http and on loopback or private
    /// hosts (development and tests only; logged at startup).
    pub allow_insecure_idp_urls: bool,
    /// `WEBHOOK_ALLOW_PRIVATE`: webhook endpoints on http and on loopback, private or
    /// link-local addresses (development and tests only; logged at startup).
    pub webhook_allow_private: bool,
    /// `WEBHOOK_RETRY_BASE`: the wait before a failed delivery's first retry, doubling with
    /// each attempt for a day (default 30 s, 100 ms – 1 h).
    pub webhook_retry_base: Duration,
    /// `WEBHOOK_DISABLE_AFTER`: an endpoint whose deliveries have all failed this long is
    /// disabled (default 5 days, 1 s – 90 days).
    pub webhook_disable_after: Duration,
    /// `WEBHOOK_POLL_INTERVAL`: how often each replica looks for new events to deliver and for
    /// retries coming due (default 1 s, 50 ms – 1 h).
    pub webhook_poll_interval: Duration,
    /// `ADMIN_OIDC_*`: operators may sign in through this OpenID Connect provider (then
    /// their authenticator), at `{BASE_URL}/api/admin/auth/sso/callback`.
    pub admin_oidc: Option<AdminOidc>,
    /// Every rate limit's rule: the catalogue's defaults (`authservice_application::limits`)
    /// with the `*_RATE_LIMIT` settings applied.
    pub rate_rules: RateRules,
    /// `ACCOUNT_LOCKOUT_ENABLED`: 5 failed logins in 15 min lock an email (per client) for 30 min.
    pub account_lockout_enabled: bool,
    /// `CLIENT_CACHE_TTL`: how long a replica serves API-key and client lookups from memory
    /// (the worst-case delay before another replica sees a suspension or key rotation).
    pub client_cache_ttl: Duration,
    /// `REVOCATION_CACHE_TTL`: how long a replica trusts "not revoked" (a token's `jti`, a
    /// user's sessions) while its Redis pub/sub invalidation feed is live.
    pub revocation_cache_ttl: Duration,
    /// `REVOCATION_CACHE_FALLBACK_TTL`: the same while the feed is down: the worst-case delay
    /// before another replica's revocation shows (at most 2 s).
    pub revocation_cache_fallback_ttl: Duration,
    /// `JWKS_PUBLISH_ALL`: `/.well-known/jwks.json` without a client answers every active
    /// client's keys (off: it asks for `?client_id=` or `X-API-Key`).
    pub jwks_publish_all: bool,
    /// `Secure` on the refresh cookie (auto: BASE_URL is https).
    pub cookie_secure: bool,
    pub cookie_same_site: CookieSameSite,
    pub cookie_domain: Option<String>,
    /// `SMTP_HOST` etc.; `None`: messages go to `email_dev_dir` (development only).
    pub smtp: Option<SmtpSettings>,
    /// `EMAIL_FROM`: `Name <address>` or an address.
    pub email_from: (Option<String>, String),
    /// `EMAIL_DEV_DIR`: where the development transport writes messages.
    pub email_dev_dir: PathBuf,
    /// `EMAIL_RETRY_BASE` / `EMAIL_RETRY_MAX`: backoff of failed deliveries.
    pub email_retry_base: Duration,
    pub email_retry_max: Duration,
    /// `EMAIL_MAX_ATTEMPTS`: delivery attempts before a message is given up.
    pub email_max_attempts: u32,
    /// `EMAIL_POLL_INTERVAL`: how often the worker looks for due messages (it is also woken
    /// at once when this replica queues one).
    pub email_poll_interval: Duration,
    /// `SMTP_TIMEOUT`: connect/command timeout.
    pub smtp_timeout: Duration,
    /// `EMAIL_ALLOW_PRIVATE_SMTP`: clients may name SMTP servers on internal addresses.
    pub email_allow_private_smtp: bool,
}

/// The operators' OpenID Connect provider.
#[derive(Clone)]
pub struct AdminOidc {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: secrecy::SecretString,
}

impl std::fmt::Debug for AdminOidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminOidc")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}
