//! Every setting, read once at startup from the environment (a `.env` file is loaded first when
//! present). Secrets may come from `<NAME>_FILE`. Every bad value is reported, each naming its
//! variable, and the server refuses to start.

use std::net::IpAddr;
use std::path::PathBuf;

use std::time::Duration;

use authservice_application::limits::{self, CATALOGUE, RateRules};
use authservice_domain::{AllowedOrigin, PasswordPolicy};
use ipnet::IpNet;
use url::Url;

mod parse;
mod types;

use parse::*;
mod fields;

pub use fields::{AdminOidc, Settings};
pub use types::{CookieSameSite, EncryptionKey, LogFormat, SettingsError, SmtpSettings};

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
        let audit_retention = r.parse(
            "AUDIT_RETENTION_DAYS",
            Duration::from_secs(2555 * 86_400),
            |v| parse_in_range(v, 1..=36_500).map(|days| Duration::from_secs(days * 86_400)),
        );
        let audit_chain_interval = r.parse("AUDIT_CHAIN_INTERVAL", Duration::from_secs(1), |v| {
            parse_duration_in(v, Duration::from_millis(50), Duration::from_secs(86_400))
        });
        let admin_access_ttl = r.parse("ADMIN_ACCESS_TTL", Duration::from_secs(900), |v| {
            parse_duration_in(v, Duration::from_secs(60), Duration::from_secs(3600))
        });
        let admin_session_ttl = r.parse("ADMIN_SESSION_TTL", Duration::from_secs(8 * 3600), |v| {
            parse_duration_in(v, Duration::from_secs(300), Duration::from_secs(86_400))
        });
        let oidc_code_ttl = r.parse("OIDC_CODE_TTL", Duration::from_secs(60), |v| {
            parse_duration_in(v, Duration::from_secs(1), Duration::from_secs(600))
        });
        let org_token_ttl = r.parse("ORG_TOKEN_TTL", Duration::from_secs(300), |v| {
            parse_duration_in(v, Duration::from_secs(30), Duration::from_secs(3600))
        });
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
        let allow_insecure_idp_urls = r.parse("ALLOW_INSECURE_IDP_URLS", false, parse_bool);
        let webhook_allow_private = r.parse("WEBHOOK_ALLOW_PRIVATE", false, parse_bool);
        let admin_oidc = admin_oidc(&mut r, allow_insecure_idp_urls);
        let webhook_retry_base = r.parse("WEBHOOK_RETRY_BASE", Duration::from_secs(30), |v| {
            parse_duration_in(v, Duration::from_millis(100), Duration::from_secs(3600))
        });
        let webhook_poll_interval = r.parse("WEBHOOK_POLL_INTERVAL", Duration::from_secs(1), |v| {
            parse_duration_in(v, Duration::from_millis(50), Duration::from_secs(3600))
        });
        let webhook_disable_after = r.parse(
            "WEBHOOK_DISABLE_AFTER",
            Duration::from_secs(5 * 86_400),
            |v| parse_duration_in(v, Duration::from_secs(1), Duration::from_secs(90 * 86_400)),
        );
        let dns_nameservers = r.parse("DNS_NAMESERVERS", Vec::new(), |v| {
            parse_list(v, |s| {
                s.parse::<std::net::SocketAddr>()
                    .or_else(|_| {
                        s.parse::<std::net::IpAddr>()
                            .map(|ip| std::net::SocketAddr::new(ip, 53))
                    })
                    .map_err(|_| format!("'{s}' is not an address (ip or ip:port)"))
            })
        });
        let rate_rules = CATALOGUE.iter().fold(RateRules::default(), |rules, spec| {
            let rule = r.parse(spec.setting, spec.default, |v| {
                limits::parse_rule(v, spec.default)
                    .and_then(|rule| spec.limit.check(rule).map(|()| rule))
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
                    admin_access_ttl,
                    admin_session_ttl,
                    audit_retention,
                    audit_chain_interval,
                    oidc_code_ttl,
                    org_token_ttl,
                    bcrypt_cost,
                    password_hash,
                    password_hash_queue,
                    password_policy,
                    blocked_email_domains,
                    dns_nameservers,
                    allow_insecure_idp_urls,
                    webhook_allow_private,
                    webhook_retry_base,
                    webhook_disable_after,
                    webhook_poll_interval,
                    admin_oidc,
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
mod tests;

/// `ADMIN_OIDC_ISSUER`, `ADMIN_OIDC_CLIENT_ID` and `ADMIN_OIDC_CLIENT_SECRET` (or `_FILE`):
/// all three or none.
fn admin_oidc(r: &mut Reader<'_>, allow_insecure: bool) -> Option<fields::AdminOidc> {
    let text = |v: &str| Ok(Some(v.to_owned()));
    let issuer: Option<String> = r.parse("ADMIN_OIDC_ISSUER", None, text);
    let client_id: Option<String> = r.parse("ADMIN_OIDC_CLIENT_ID", None, text);
    let client_secret = r.secret("ADMIN_OIDC_CLIENT_SECRET");
    match (issuer, client_id, client_secret) {
        (None, None, None) => None,
        (Some(issuer), Some(client_id), Some(secret)) if !client_id.is_empty() => {
            match authservice_domain::sso::check_idp_url(&issuer, allow_insecure) {
                Ok(_) => Some(fields::AdminOidc {
                    issuer: issuer.trim_end_matches('/').to_owned(),
                    client_id,
                    client_secret: secret.into(),
                }),
                Err(e) => {
                    r.errors.push(format!("ADMIN_OIDC_ISSUER: {}", e.message));
                    None
                }
            }
        }
        _ => {
            r.errors.push(
                "ADMIN_OIDC_ISSUER: set it with ADMIN_OIDC_CLIENT_ID and ADMIN_OIDC_CLIENT_SECRET (all three or none)"
                    .to_owned(),
            );
            None
        }
    }
}
