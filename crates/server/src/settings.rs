//! Every setting, read once at startup from the environment (a `.env` file is loaded first when
//! present). Secrets may come from `<NAME>_FILE`. Every bad value is reported, each naming its
//! variable, and the server refuses to start.

use std::net::IpAddr;
use std::path::PathBuf;

use std::time::Duration;

use authservice_application::limits::{self, CATALOGUE, RateRules};
use authservice_domain::{AllowedOrigin, PasswordPolicy};
use base64::Engine;
use ipnet::IpNet;
use secrecy::SecretString;
use url::Url;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

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
    /// `SESSION_MAX_LIFETIME`: sessions end this long after sign-in (default 30 days).
    pub session_max_lifetime: Duration,
    /// `SESSION_IDLE_TIMEOUT`: sessions end when unused this long (default `JWT_REFRESH_TTL`).
    pub session_idle_timeout: Duration,
    /// `REAUTH_MAX_AGE`: how recent a sign-in or re-authentication must be for a sensitive
    /// change (default 5 minutes).
    pub reauth_max_age: Duration,
    pub bcrypt_cost: u32,
    /// `PASSWORD_HASH` (`argon2id`, default, or `bcrypt`) with `ARGON2_*` / `BCRYPT_COST`: how
    /// new passwords are hashed (stored hashes of the other kind are upgraded at login).
    pub password_hash: authservice_infrastructure::crypto::HashAlgorithm,
    /// Password hashes allowed to wait for a worker before callers get 503 `server_busy`.
    pub password_hash_queue: usize,
    pub password_policy: PasswordPolicy,
    pub blocked_email_domains: Vec<String>,
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

/// The server's SMTP relay.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub server: authservice_domain::SmtpServer,
    pub password: Option<SecretString>,
}

/// `SameSite` of the refresh cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieSameSite {
    Lax,
    Strict,
    None,
}

/// The 32-byte AES-256-GCM key (never printed).
#[derive(Clone)]
pub struct EncryptionKey(pub [u8; 32]);

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey([redacted])")
    }
}

/// All problems found, one line each.
#[derive(Debug)]
pub struct SettingsError(pub Vec<String>);

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for line in &self.0 {
            writeln!(f, "  - {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SettingsError {}

struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    errors: Vec<String>,
}

impl Reader<'_> {
    fn raw(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    /// A plain value with a default.
    fn parse<T>(&mut self, name: &str, default: T, parse: impl Fn(&str) -> Result<T, String>) -> T {
        match self.raw(name) {
            None => default,
            Some(v) => parse(v.trim()).unwrap_or_else(|e| {
                self.errors.push(format!("{name}: {e}"));
                default
            }),
        }
    }

    /// A value whose default is written as text and goes through the same parser, so a default
    /// the server would refuse cannot ship (it is reported like a bad value).
    fn parse_or_text<T: Default>(
        &mut self,
        name: &str,
        default: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> T {
        let raw = self.raw(name);
        let (value, what) = match &raw {
            Some(v) => (v.trim(), ""),
            None => (default, "default "),
        };
        parse(value).unwrap_or_else(|e| {
            self.errors.push(format!("{name}: {what}{e}"));
            T::default()
        })
    }

    /// A secret from `NAME` or the file named by `NAME_FILE` (not both).
    fn secret(&mut self, name: &str) -> Option<String> {
        let file_var = format!("{name}_FILE");
        match (self.raw(name), self.raw(&file_var)) {
            (Some(_), Some(_)) => {
                self.errors
                    .push(format!("{name}: set either {name} or {file_var}, not both"));
                None
            }
            (Some(v), None) => Some(v.trim().to_owned()),
            (None, Some(path)) => match std::fs::read_to_string(path.trim()) {
                Ok(content) if !content.trim().is_empty() => Some(content.trim().to_owned()),
                Ok(_) => {
                    self.errors
                        .push(format!("{file_var}: file {path} is empty"));
                    None
                }
                Err(e) => {
                    self.errors
                        .push(format!("{file_var}: cannot read {path}: {e}"));
                    None
                }
            },
            (None, None) => None,
        }
    }

    fn required_secret(&mut self, name: &str) -> Option<String> {
        let value = self.secret(name);
        if value.is_none() && !self.errors.iter().any(|e| e.starts_with(name)) {
            self.errors
                .push(format!("{name}: required (or {name}_FILE)"));
        }
        value
    }
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("'{v}' is not a boolean (true/false)")),
    }
}

/// `900`, `900s`, `15m`, `168h`, `7d` (also `ms`).
fn parse_duration(v: &str) -> Result<Duration, String> {
    authservice_domain::duration::parse(v)
}

/// A duration (`0` allowed) within `min..=max`.
fn parse_duration_in(v: &str, min: Duration, max: Duration) -> Result<Duration, String> {
    let d = if v == "0" {
        Duration::ZERO
    } else {
        parse_duration(v)?
    };
    if d < min || d > max {
        return Err(format!("'{v}' must be between {min:?} and {max:?}"));
    }
    Ok(d)
}

const DEFAULT_EMAIL_FROM: &str = "no-reply@authservice.localhost";

/// `Name <address>` or `address`.
fn parse_mailbox(v: &str) -> Result<(Option<String>, String), String> {
    let (name, address) = match v.rsplit_once('<') {
        Some((name, rest)) => {
            let address = rest
                .strip_suffix('>')
                .ok_or_else(|| format!("'{v}' must be 'Name <address>' or an address"))?;
            let name = name.trim().trim_matches('"').trim();
            ((!name.is_empty()).then(|| name.to_owned()), address.trim())
        }
        None => (None, v.trim()),
    };
    let email = authservice_domain::Email::parse(address)
        .map_err(|_| format!("'{address}' is not an email address"))?;
    Ok((name, email.as_str().to_owned()))
}

fn parse_in_range(v: &str, range: std::ops::RangeInclusive<u64>) -> Result<u64, String> {
    v.parse::<u64>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            format!(
                "'{v}' must be a number from {} to {}",
                range.start(),
                range.end()
            )
        })
}

fn parse_port(v: &str) -> Result<u16, String> {
    v.parse::<u16>()
        .map_err(|_| format!("'{v}' is not a port number (0-65535)"))
}

fn parse_list<T>(v: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse)
        .collect()
}

fn parse_encryption_key(v: &str) -> Result<[u8; 32], String> {
    let bytes = if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(v).map_err(|e| e.to_string())?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(v)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(v))
            .map_err(|_| "must be 32 bytes as 64 hex characters or base64".to_owned())?
    };
    bytes
        .try_into()
        .map_err(|_| "must decode to exactly 32 bytes".to_owned())
}

fn parse_url(v: &str, schemes: &[&str]) -> Result<(), String> {
    let url = Url::parse(v).map_err(|_| "is not a valid URL".to_owned())?;
    if schemes.contains(&url.scheme()) {
        Ok(())
    } else {
        Err(format!("scheme must be one of {}", schemes.join(", ")))
    }
}

impl Settings {
    /// Reads the process environment (call `dotenvy::dotenv()` first to honour `.env`).
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let mut r = Reader {
            lookup,
            errors: Vec::new(),
        };
        let host = r.parse("HOST", IpAddr::from([0, 0, 0, 0]), |v| {
            v.parse().map_err(|_| format!("'{v}' is not an IP address"))
        });
        let port = r.parse("PORT", 8080, parse_port);
        let grpc_port = r.parse("GRPC_PORT", 9090, parse_port);
        let default_base = Url::parse("http://localhost:8080").expect("static URL");
        let base_url = r.parse("BASE_URL", default_base, |v| {
            parse_url(v, &["http", "https"])?;
            Url::parse(v).map_err(|e| e.to_string())
        });
        let database_url = r.required_secret("DATABASE_URL");
        if let Some(url) = &database_url
            && let Err(e) = parse_url(url, &["postgres", "postgresql"])
        {
            r.errors.push(format!("DATABASE_URL: {e}"));
        }
        let database_max_connections = r.parse("DATABASE_MAX_CONNECTIONS", 16, |v| {
            v.parse::<usize>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| format!("'{v}' must be a number from 1 to 1000"))
        });
        let redis_url = r.secret("REDIS_URL");
        if let Some(url) = &redis_url
            && let Err(e) = parse_url(url, &["redis", "rediss"])
        {
            r.errors.push(format!("REDIS_URL: {e}"));
        }
        let redis_key_prefix = r.parse("REDIS_KEY_PREFIX", "auth:".to_owned(), |v| {
            if v.len() <= 64 && !v.contains(char::is_whitespace) {
                Ok(v.to_owned())
            } else {
                Err("must be at most 64 characters without whitespace".to_owned())
            }
        });
        let admin_api_key = r.required_secret("ADMIN_API_KEY");
        if let Some(key) = &admin_api_key
            && key.len() < 32
        {
            r.errors
                .push("ADMIN_API_KEY: must be at least 32 characters".to_owned());
        }
        let encryption_key = r.required_secret("ENCRYPTION_KEY").and_then(|v| {
            parse_encryption_key(&v)
                .map_err(|e| r.errors.push(format!("ENCRYPTION_KEY: {e}")))
                .ok()
        });
        let metrics_token = r.secret("METRICS_TOKEN");
        let public_dir = r.parse("PUBLIC_DIR", PathBuf::from("./public"), |v| {
            Ok(PathBuf::from(v))
        });
        let serve_frontend = r.parse("SERVE_FRONTEND", true, parse_bool);
        let allow_origin = r.parse("ALLOW_ORIGIN", Vec::new(), |v| {
            parse_list(v, |o| AllowedOrigin::parse(o).map_err(|e| e.message))
        });
        let trusted_proxy_cidrs = r.parse("TRUSTED_PROXY_CIDRS", Vec::new(), |v| {
            parse_list(v, |c| {
                c.parse::<IpNet>()
                    .or_else(|_| c.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("'{c}' is not a CIDR"))
            })
        });
        let grpc_reflection = r.parse("GRPC_REFLECTION", false, parse_bool);
        let http_workers = r.parse("HTTP_WORKERS", 0, |v| {
            v.parse::<usize>()
                .ok()
                .filter(|n| *n <= 256)
                .ok_or_else(|| format!("'{v}' must be a number from 0 to 256"))
        });
        let shutdown_timeout_secs = r.parse("SHUTDOWN_TIMEOUT_SECS", 10, |v| {
            v.parse::<u64>()
                .ok()
                .filter(|n| *n <= 300)
                .ok_or_else(|| format!("'{v}' must be seconds from 0 to 300"))
        });
        let run_migrations = r.parse("RUN_MIGRATIONS", true, parse_bool);
        let otlp_endpoint = r.parse("OTEL_EXPORTER_OTLP_ENDPOINT", None, |v| {
            Url::parse(v)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .map(Some)
                .ok_or_else(|| {
                    format!("'{v}' must be an http(s) URL such as http://collector:4317")
                })
        });
        let otel_service_name = r.parse("OTEL_SERVICE_NAME", "authservice".to_owned(), |v| {
            Ok(v.to_owned())
        });
        let log_format = r.parse("LOG_FORMAT", LogFormat::Json, |v| match v {
            "json" => Ok(LogFormat::Json),
            "pretty" => Ok(LogFormat::Pretty),
            _ => Err(format!("'{v}' must be json or pretty")),
        });

        let jwt_access_ttl = r.parse("JWT_ACCESS_TTL", Duration::from_secs(900), parse_duration);
        let jwt_refresh_ttl = r.parse(
            "JWT_REFRESH_TTL",
            Duration::from_secs(168 * 3600),
            parse_duration,
        );
        let session_max_lifetime = r.parse(
            "SESSION_MAX_LIFETIME",
            Duration::from_secs(30 * 86_400),
            parse_duration,
        );
        let session_idle_timeout = r.parse("SESSION_IDLE_TIMEOUT", jwt_refresh_ttl, parse_duration);
        let reauth_max_age = r.parse("REAUTH_MAX_AGE", Duration::from_secs(300), parse_duration);
        let bcrypt_cost = r.parse("BCRYPT_COST", 12, |v| {
            parse_in_range(v, 10..=16).map(|n| n as u32)
        });
        let argon2_memory_kib = r.parse("ARGON2_MEMORY_KIB", 19 * 1024, |v| {
            parse_in_range(v, 8 * 1024..=1024 * 1024).map(|n| n as u32)
        });
        let argon2_iterations = r.parse("ARGON2_ITERATIONS", 2, |v| {
            parse_in_range(v, 1..=10).map(|n| n as u32)
        });
        let argon2_parallelism = r.parse("ARGON2_PARALLELISM", 1, |v| {
            parse_in_range(v, 1..=16).map(|n| n as u32)
        });
        let password_hash = r.parse(
            "PASSWORD_HASH",
            authservice_infrastructure::crypto::HashAlgorithm::Argon2id {
                memory_kib: argon2_memory_kib,
                iterations: argon2_iterations,
                parallelism: argon2_parallelism,
            },
            |v| match v.to_ascii_lowercase().as_str() {
                "argon2id" => Ok(
                    authservice_infrastructure::crypto::HashAlgorithm::Argon2id {
                        memory_kib: argon2_memory_kib,
                        iterations: argon2_iterations,
                        parallelism: argon2_parallelism,
                    },
                ),
                "bcrypt" => Ok(authservice_infrastructure::crypto::HashAlgorithm::Bcrypt {
                    cost: bcrypt_cost,
                }),
                _ => Err(format!("'{v}' must be argon2id or bcrypt")),
            },
        );
        let password_hash_queue = r.parse("PASSWORD_HASH_QUEUE", 64, |v| {
            parse_in_range(v, 0..=10_000).map(|n| n as usize)
        });
        let defaults = PasswordPolicy::default();
        let password_policy = PasswordPolicy {
            min_length: r.parse("PASSWORD_MIN_LENGTH", defaults.min_length, |v| {
                parse_in_range(v, 1..=72).map(|n| n as usize)
            }),
            max_bytes: r.parse("PASSWORD_MAX_LENGTH", defaults.max_bytes, |v| {
                parse_in_range(v, 8..=72).map(|n| n as usize)
            }),
            min_unique: r.parse("PASSWORD_MIN_UNIQUE", defaults.min_unique, |v| {
                parse_in_range(v, 0..=72).map(|n| n as usize)
            }),
            block_common: r.parse("PASSWORD_BLOCK_COMMON", true, parse_bool),
            block_user_info: r.parse("PASSWORD_BLOCK_USER_INFO", true, parse_bool),
        };
        if password_policy.min_length > password_policy.max_bytes {
            r.errors
                .push("PASSWORD_MIN_LENGTH: must not exceed PASSWORD_MAX_LENGTH".to_owned());
        }
        let blocked_email_domains = r.parse("BLOCKED_EMAIL_DOMAINS", Vec::new(), |v| {
            parse_list(v, |d| {
                let (bang, rest) = d.strip_prefix('!').map_or(("", d), |r| ("!", r));
                let d = rest.trim_start_matches('.').to_ascii_lowercase();
                if d.contains('.') && !d.contains(char::is_whitespace) && !d.contains('@') {
                    Ok(format!("{bang}{d}"))
                } else {
                    Err(format!("'{d}' is not a domain"))
                }
            })
        });
        let rate_rules = CATALOGUE.iter().fold(RateRules::default(), |rules, spec| {
            let rule = r.parse(spec.setting, spec.default, |v| {
                limits::parse_rule(v, spec.default)
            });
            rules.with(spec.limit, rule)
        });

        let account_lockout_enabled = r.parse("ACCOUNT_LOCKOUT_ENABLED", false, parse_bool);
        let jwks_publish_all = r.parse("JWKS_PUBLISH_ALL", false, parse_bool);
        let client_cache_ttl = r.parse("CLIENT_CACHE_TTL", Duration::from_secs(10), |v| {
            parse_duration_in(v, Duration::ZERO, Duration::from_secs(86_400))
        });
        let revocation_cache_ttl = r.parse("REVOCATION_CACHE_TTL", Duration::from_secs(30), |v| {
            parse_duration_in(v, Duration::ZERO, Duration::from_secs(3600))
        });
        let revocation_cache_fallback_ttl = r.parse(
            "REVOCATION_CACHE_FALLBACK_TTL",
            Duration::from_secs(1),
            |v| parse_duration_in(v, Duration::ZERO, Duration::from_secs(2)),
        );
        let https = base_url.scheme() == "https";
        let cookie_secure = r.parse("COOKIE_SECURE", https, |v| {
            if v == "auto" {
                Ok(https)
            } else {
                parse_bool(v)
            }
        });
        let cookie_same_site = r.parse(
            "COOKIE_SAMESITE",
            if cookie_secure {
                CookieSameSite::None
            } else {
                CookieSameSite::Lax
            },
            |v| match v.to_ascii_lowercase().as_str() {
                "auto" => Ok(if cookie_secure {
                    CookieSameSite::None
                } else {
                    CookieSameSite::Lax
                }),
                "lax" => Ok(CookieSameSite::Lax),
                "strict" => Ok(CookieSameSite::Strict),
                "none" => Ok(CookieSameSite::None),
                _ => Err(format!("'{v}' must be auto, lax, strict or none")),
            },
        );
        if cookie_same_site == CookieSameSite::None && !cookie_secure {
            r.errors.push("COOKIE_SAMESITE: none requires a Secure cookie (https BASE_URL or COOKIE_SECURE=true)".to_owned());
        }
        let cookie_domain = r.parse("COOKIE_DOMAIN", None, |v| {
            if v.contains(['/', ':', ' ', '@']) {
                Err(format!("'{v}' is not a cookie domain"))
            } else {
                Ok(Some(v.trim_start_matches('.').to_ascii_lowercase()))
            }
        });

        let smtp_port = r.parse("SMTP_PORT", None, |v| parse_port(v).map(Some));
        let smtp_username = r.parse("SMTP_USERNAME", None, |v| Ok(Some(v.to_owned())));
        let smtp_password = r.secret("SMTP_PASSWORD");
        let smtp_tls = r.parse("SMTP_TLS", None, |v| {
            authservice_domain::SmtpTls::parse(v)
                .map(|t| Some(t.as_str().to_owned()))
                .map_err(|e| e.message)
        });
        let smtp = r.parse("SMTP_HOST", None, |v| {
            authservice_domain::SmtpServer::parse(
                v,
                smtp_port,
                smtp_username.as_deref(),
                smtp_tls.as_deref(),
            )
            .map(Some)
            .map_err(|e| e.message)
        });
        let smtp = smtp.map(|server| SmtpSettings {
            server,
            password: smtp_password.map(Into::into),
        });
        // `.localhost` is reserved (RFC 6761) and, unlike a bare `localhost`, a valid domain.
        let email_from = r.parse_or_text("EMAIL_FROM", DEFAULT_EMAIL_FROM, parse_mailbox);
        let email_dev_dir = r.parse("EMAIL_DEV_DIR", PathBuf::from("./.data/mail"), |v| {
            Ok(PathBuf::from(v))
        });
        let email_retry_base = r.parse("EMAIL_RETRY_BASE", Duration::from_secs(10), parse_duration);
        let email_retry_max = r.parse("EMAIL_RETRY_MAX", Duration::from_secs(900), parse_duration);
        let email_max_attempts = r.parse("EMAIL_MAX_ATTEMPTS", 12, |v| {
            parse_in_range(v, 1..=100).map(|n| u32::try_from(n).unwrap_or(12))
        });
        let email_poll_interval = r.parse(
            "EMAIL_POLL_INTERVAL",
            Duration::from_secs(5),
            parse_duration,
        );
        let smtp_timeout = r.parse("SMTP_TIMEOUT", Duration::from_secs(15), parse_duration);
        let email_allow_private_smtp = r.parse("EMAIL_ALLOW_PRIVATE_SMTP", false, parse_bool);

        match (database_url, admin_api_key, encryption_key) {
            (Some(database_url), Some(admin_api_key), Some(encryption_key))
                if r.errors.is_empty() =>
            {
                Ok(Self {
                    host,
                    port,
                    grpc_port,
                    base_url,
                    database_url: database_url.into(),
                    database_max_connections,
                    redis_url: redis_url.map(Into::into),
                    redis_key_prefix,
                    admin_api_key: admin_api_key.into(),
                    encryption_key: EncryptionKey(encryption_key),
                    metrics_token: metrics_token.map(Into::into),
                    public_dir,
                    serve_frontend,
                    allow_origin,
                    trusted_proxy_cidrs,
                    grpc_reflection,
                    http_workers,
                    shutdown_timeout_secs,
                    run_migrations,
                    log_format,
                    otlp_endpoint,
                    otel_service_name,
                    jwt_access_ttl,
                    jwt_refresh_ttl,
                    session_max_lifetime,
                    session_idle_timeout,
                    reauth_max_age,
                    bcrypt_cost,
                    password_hash,
                    password_hash_queue,
                    password_policy,
                    blocked_email_domains,
                    rate_rules,
                    account_lockout_enabled,
                    client_cache_ttl,
                    revocation_cache_ttl,
                    revocation_cache_fallback_ttl,
                    jwks_publish_all,
                    cookie_secure,
                    cookie_same_site,
                    cookie_domain,
                    smtp,
                    email_from,
                    email_dev_dir,
                    email_retry_base,
                    email_retry_max,
                    email_max_attempts,
                    email_poll_interval,
                    smtp_timeout,
                    email_allow_private_smtp,
                })
            }
            _ => Err(SettingsError(r.errors)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(&move |k| map.get(k).cloned())
    }

    const BASE: [(&str, &str); 3] = [
        ("DATABASE_URL", "postgres://u:p@localhost/db"),
        ("ADMIN_API_KEY", "0123456789abcdef0123456789abcdef"),
        (
            "ENCRYPTION_KEY",
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        ),
    ];

    #[test]
    fn defaults_apply() {
        let s = load(&BASE).unwrap();
        assert_eq!(s.port, 8080);
        assert_eq!(s.grpc_port, 9090);
        assert!(s.redis_url.is_none());
        assert_eq!(s.redis_key_prefix, "auth:");
        assert!(s.serve_frontend);
        assert!(!s.grpc_reflection);
        assert_eq!(s.encryption_key.0[31], 0x1f);
        assert_eq!(s.jwt_access_ttl, Duration::from_secs(900));
        assert_eq!(s.jwt_refresh_ttl, Duration::from_secs(168 * 3600));
        assert_eq!(s.bcrypt_cost, 12);
        assert_eq!(s.password_policy, PasswordPolicy::default());
        assert!(!s.cookie_secure);
        assert_eq!(s.cookie_same_site, CookieSameSite::Lax);
        let mut https = BASE.to_vec();
        https.push(("BASE_URL", "https://auth.example.com"));
        let s = load(&https).unwrap();
        assert!(s.cookie_secure);
        assert_eq!(s.cookie_same_site, CookieSameSite::None);
        let mut bad = BASE.to_vec();
        bad.push(("COOKIE_SAMESITE", "none"));
        assert!(
            load(&bad)
                .err()
                .unwrap()
                .to_string()
                .contains("COOKIE_SAMESITE")
        );
    }

    #[test]
    fn every_bad_value_is_named() {
        let mut pairs = vec![
            ("PORT", "eighty"),
            ("GRPC_REFLECTION", "maybe"),
            ("TRUSTED_PROXY_CIDRS", "10.0.0.0/8, nope"),
            ("ALLOW_ORIGIN", "*"),
            ("ENCRYPTION_KEY", "short"),
            ("DATABASE_URL", "mysql://x"),
            ("ADMIN_API_KEY", "tiny"),
            ("LOGIN_RATE_LIMIT", "0"),
            ("TOTP_CODE_RATE_LIMIT", "5/forever"),
            ("REVOCATION_CACHE_FALLBACK_TTL", "10s"),
        ];
        pairs.push(("REDIS_URL", "http://x"));
        let err = load(&pairs).err().unwrap().to_string();
        for var in [
            "PORT:",
            "GRPC_REFLECTION:",
            "TRUSTED_PROXY_CIDRS:",
            "ALLOW_ORIGIN:",
            "ENCRYPTION_KEY:",
            "DATABASE_URL:",
            "ADMIN_API_KEY:",
            "REDIS_URL:",
            "LOGIN_RATE_LIMIT:",
            "TOTP_CODE_RATE_LIMIT:",
            "REVOCATION_CACHE_FALLBACK_TTL:",
        ] {
            assert!(err.contains(var), "{var} missing from {err}");
        }
    }

    #[test]
    fn durations_and_auth_limits() {
        let mut pairs = BASE.to_vec();
        pairs.extend([
            ("JWT_ACCESS_TTL", "5m"),
            ("JWT_REFRESH_TTL", "7d"),
            ("BCRYPT_COST", "10"),
        ]);
        let s = load(&pairs).unwrap();
        assert_eq!(s.jwt_access_ttl, Duration::from_secs(300));
        assert_eq!(s.jwt_refresh_ttl, Duration::from_secs(7 * 86_400));
        assert_eq!(s.bcrypt_cost, 10);
        let mut bad = BASE.to_vec();
        bad.extend([
            ("JWT_ACCESS_TTL", "soon"),
            ("BCRYPT_COST", "9"),
            ("BLOCKED_EMAIL_DOMAINS", "a@b"),
        ]);
        let err = load(&bad).err().unwrap().to_string();
        for var in ["JWT_ACCESS_TTL:", "BCRYPT_COST:", "BLOCKED_EMAIL_DOMAINS:"] {
            assert!(err.contains(var), "{var} missing from {err}");
        }
    }

    /// `.env.example` as `deploy/local/services.sh` copies it (empty values count as unset).
    fn env_example() -> Vec<(String, String)> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.env.example");
        std::fs::read_to_string(path)
            .expect(".env.example")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (k, v) = l.split_once('=').expect("KEY=value");
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }

    #[test]
    fn every_default_parses_with_an_empty_environment() {
        // Only the three required secrets are missing: no default is refused by its own parser.
        let err = load(&[]).err().unwrap();
        assert_eq!(
            err.0,
            [
                "DATABASE_URL: required (or DATABASE_URL_FILE)",
                "ADMIN_API_KEY: required (or ADMIN_API_KEY_FILE)",
                "ENCRYPTION_KEY: required (or ENCRYPTION_KEY_FILE)",
            ],
            "{err}"
        );
        let s = load(&BASE).unwrap();
        assert_eq!(s.email_from.1, DEFAULT_EMAIL_FROM);
    }

    #[test]
    fn env_example_parses_and_states_the_real_defaults() {
        let example = env_example();
        let mut pairs: Vec<(&str, &str)> = example
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .filter(|(k, _)| !BASE.iter().any(|(b, _)| b == k))
            .collect();
        pairs.extend(BASE);
        let from_example = load(&pairs).unwrap_or_else(|e| panic!(".env.example: {e}"));
        let defaults = load(&BASE).unwrap();
        // Same settings whether a value comes from the example or from the server's default.
        assert_eq!(format!("{from_example:?}"), format!("{defaults:?}"));
        // Every key the example lists is one the server reads (RUST_LOG: the log filter).
        for (key, _) in &example {
            let src = include_str!("settings.rs");
            let rate_limit = CATALOGUE.iter().any(|spec| spec.setting == key);
            assert!(
                key == "RUST_LOG" || rate_limit || src.contains(&format!("\"{key}\"")),
                "{key} in .env.example is not a setting"
            );
        }
    }

    #[test]
    fn the_kubernetes_config_map_names_real_settings_that_parse() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/k8s/configmap.yaml"
        );
        let text = std::fs::read_to_string(path).expect("configmap.yaml");
        let pairs: Vec<(String, String)> = text
            .lines()
            .filter_map(|l| l.strip_prefix("  "))
            .filter(|l| !l.starts_with([' ', '#']))
            .filter_map(|l| l.split_once(": "))
            .filter(|(k, _)| k.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
            .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
            .collect();
        assert!(pairs.iter().any(|(k, _)| k == "TRUSTED_PROXY_CIDRS"));
        let src = include_str!("settings.rs");
        for (key, _) in &pairs {
            assert!(
                key == "RUST_LOG" || src.contains(&format!("\"{key}\"")),
                "{key} in configmap.yaml is not a setting"
            );
        }
        let mut all: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.extend(BASE);
        let s = load(&all).unwrap_or_else(|e| panic!("configmap.yaml: {e}"));
        assert!(
            !s.trusted_proxy_cidrs.is_empty(),
            "the ingress network is trusted"
        );
    }

    #[test]
    fn missing_required_values_are_named() {
        let err = load(&[]).err().unwrap().to_string();
        assert!(err.contains("DATABASE_URL: required"));
        assert!(err.contains("ADMIN_API_KEY: required"));
        assert!(err.contains("ENCRYPTION_KEY: required"));
    }

    #[test]
    fn secrets_can_come_from_files() {
        let dir = std::env::temp_dir().join(format!("as-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("admin_key");
        std::fs::write(&path, "file-admin-key-0123456789abcdef0123\n").unwrap();
        let path_str = path.to_string_lossy().to_string();
        let s = load(&[BASE[0], BASE[2], ("ADMIN_API_KEY_FILE", path_str.as_str())]).unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(
            s.admin_api_key.expose_secret(),
            "file-admin-key-0123456789abcdef0123"
        );
        let both = load(&[
            BASE[0],
            BASE[1],
            BASE[2],
            ("ADMIN_API_KEY_FILE", path_str.as_str()),
        ]);
        assert!(both.err().unwrap().to_string().contains("not both"));
        let base64_key = load(&[
            BASE[0],
            BASE[1],
            (
                "ENCRYPTION_KEY",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ),
        ])
        .unwrap();
        assert_eq!(base64_key.encryption_key.0[1], 1);
    }
}
