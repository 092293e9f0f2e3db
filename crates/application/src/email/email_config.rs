//! Per-client email settings (admin): sender name and address, reply-to, the base of emailed
//! links, and optionally the client's own SMTP server, whose password is sealed at rest and
//! never returned. Every read and change is audited (changes with before/after, no secrets).

use authservice_domain::EventType;
use authservice_domain::email::parse_sender_name;
use authservice_domain::{
    ClientEmailConfig, ClientId, Email, LinkBase, Permission, SmtpServer, ValidationError,
};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::audit::record_quietly;
use crate::context::RequestCtx;
use crate::ports::{OutboxStats, Ports, StoredEmailConfig, Write};

/// What managing a client's email settings fails with.
pub type EmailConfigError = crate::clients::ClientActionError;

/// The SMTP part of a PUT.
#[derive(Debug, Default)]
pub struct PutSmtp {
    pub host: String,
    pub port: Option<u16>,
    pub username: Option<String>,
    /// Omitted: keep the stored password if host and username are unchanged.
    pub password: Option<SecretString>,
    pub tls: Option<String>,
}

/// A PUT body: replaces every field.
#[derive(Debug, Default)]
pub struct PutEmailConfig {
    pub from_name: Option<String>,
    pub from_email: Option<String>,
    pub reply_to: Option<String>,
    pub base_url: Option<String>,
    pub smtp: Option<PutSmtp>,
}

/// A PATCH body: absent fields stay, `Some(None)` clears.
#[derive(Debug, Default)]
pub struct PatchEmailConfig {
    pub from_name: Option<Option<String>>,
    pub from_email: Option<Option<String>>,
    pub reply_to: Option<Option<String>>,
    pub base_url: Option<Option<String>>,
    pub smtp: Option<Option<PutSmtp>>,
}

/// What an operator sees.
#[derive(Debug, Clone)]
pub struct EmailConfigView {
    pub client_id: ClientId,
    /// Whether the client has its own settings (otherwise the server's defaults apply).
    pub configured: bool,
    pub config: ClientEmailConfig,
    pub smtp_password_set: bool,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub outbox: OutboxStats,
}

/// An audit snapshot (never the password).
fn snapshot(stored: Option<&StoredEmailConfig>) -> Value {
    let Some(stored) = stored else {
        return Value::Null;
    };
    let c = &stored.config;
    json!({
        "from_name": c.from_name,
        "from_email": c.from_email.as_ref().map(Email::as_str),
        "reply_to": c.reply_to.as_ref().map(Email::as_str),
        "base_url": c.base_url.as_ref().map(LinkBase::as_str),
        "smtp": c.smtp.as_ref().map(|s| json!({
            "host": s.host, "port": s.port, "username": s.username, "tls": s.tls.as_str(),
            "password_set": stored.smtp_password.is_some(),
        })),
    })
}

fn optional<T>(
    raw: Option<&str>,
    parse: impl Fn(&str) -> Result<T, ValidationError>,
) -> Result<Option<T>, ValidationError> {
    raw.map(str::trim)
        .filter(|r| !r.is_empty())
        .map(parse)
        .transpose()
}

fn address(field: &'static str) -> impl Fn(&str) -> Result<Email, ValidationError> {
    move |raw| Email::parse(raw).map_err(|e| ValidationError::new(field, e.message))
}

pub struct ManageEmailConfig {
    ports: Ports,
    allow_private_smtp: bool,
}

/// Whether `host` names this machine or a private, loopback or link-local network (IP literals
/// and `localhost`; names resolving there are not caught).
fn is_internal_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => {
            ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.octets()[0] == 100 && (ip.octets()[1] & 0xc0) == 64
        }
        Ok(std::net::IpAddr::V6(ip)) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80
                || ip
                    .to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_loopback() || v4.is_private() || v4.is_link_local())
        }
        Err(_) => false,
    }
}

fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl ManageEmailConfig {
    #[must_use]
    pub fn new(ports: &Ports, config: &super::MailConfig) -> Self {
        Self {
            ports: ports.clone(),
            allow_private_smtp: config.allow_private_smtp,
        }
    }

    async fn client(
        &self,
        ctx: &RequestCtx,
        id: &str,
        permission: Permission,
    ) -> Result<ClientId, EmailConfigError> {
        Ok(
            crate::clients::existing_client(&self.ports, ctx, id, permission)
                .await?
                .id,
        )
    }

    async fn view(
        &self,
        id: ClientId,
        stored: Option<StoredEmailConfig>,
    ) -> Result<EmailConfigView, EmailConfigError> {
        let outbox = self.ports.outbox.stats(id).await?;
        Ok(match stored {
            Some(s) => EmailConfigView {
                client_id: id,
                configured: true,
                smtp_password_set: s.smtp_password.is_some(),
                config: s.config,
                created_at: Some(s.created_at),
                updated_at: Some(s.updated_at),
                outbox,
            },
            None => EmailConfigView {
                client_id: id,
                configured: false,
                config: ClientEmailConfig::default(),
                smtp_password_set: false,
                created_at: None,
                updated_at: None,
                outbox,
            },
        })
    }

    pub async fn get(
        &self,
        ctx: &RequestCtx,
        id: &str,
    ) -> Result<EmailConfigView, EmailConfigError> {
        let id = self.client(ctx, id, Permission::ClientsRead).await?;
        let stored = self.ports.email_configs.get(id).await?;
        let event = ctx
            .audit(EventType::EmailConfigRead)
            .client(id)
            .target("client", id)
            .at(self.ports.clock.now());
        record_quietly(&self.ports, &event).await;
        self.view(id, stored).await
    }

    /// Replaces the settings.
    pub async fn put(
        &self,
        ctx: &RequestCtx,
        id: &str,
        input: PutEmailConfig,
    ) -> Result<EmailConfigView, EmailConfigError> {
        let id = self.client(ctx, id, Permission::ClientsUpdate).await?;
        let before = self.ports.email_configs.get(id).await?;
        self.store(ctx, id, before, input).await
    }

    /// Changes only the fields present in `patch` (`Some(None)` clears one).
    pub async fn patch(
        &self,
        ctx: &RequestCtx,
        id: &str,
        patch: PatchEmailConfig,
    ) -> Result<EmailConfigView, EmailConfigError> {
        let id = self.client(ctx, id, Permission::ClientsUpdate).await?;
        let before = self.ports.email_configs.get(id).await?;
        let current = before
            .as_ref()
            .map(|b| b.config.clone())
            .unwrap_or_default();
        let keep = |field: Option<Option<String>>, now: Option<String>| field.unwrap_or(now);
        let input = PutEmailConfig {
            from_name: keep(patch.from_name, current.from_name.clone()),
            from_email: keep(
                patch.from_email,
                current.from_email.as_ref().map(|e| e.as_str().to_owned()),
            ),
            reply_to: keep(
                patch.reply_to,
                current.reply_to.as_ref().map(|e| e.as_str().to_owned()),
            ),
            base_url: keep(
                patch.base_url,
                current.base_url.as_ref().map(|b| b.as_str().to_owned()),
            ),
            smtp: patch.smtp.unwrap_or_else(|| {
                current.smtp.as_ref().map(|s| PutSmtp {
                    host: s.host.clone(),
                    port: Some(s.port),
                    username: s.username.clone(),
                    password: None,
                    tls: Some(s.tls.as_str().to_owned()),
                })
            }),
        };
        self.store(ctx, id, before, input).await
    }

    async fn store(
        &self,
        ctx: &RequestCtx,
        id: ClientId,
        before: Option<StoredEmailConfig>,
        input: PutEmailConfig,
    ) -> Result<EmailConfigView, EmailConfigError> {
        let smtp = input
            .smtp
            .as_ref()
            .map(|s| SmtpServer::parse(&s.host, s.port, s.username.as_deref(), s.tls.as_deref()))
            .transpose()?;
        if let Some(server) = &smtp {
            if !self.allow_private_smtp && is_internal_host(&server.host) {
                return Err(ValidationError::new(
                    "smtp.host",
                    "must not be a loopback, private or link-local address",
                )
                .into());
            }
            if server.tls == authservice_domain::SmtpTls::None
                && server.username.is_some()
                && !is_loopback_host(&server.host)
            {
                return Err(ValidationError::new(
                    "smtp.tls",
                    "credentials are only sent over starttls or tls (none is for loopback)",
                )
                .into());
            }
        }
        let config = ClientEmailConfig {
            from_name: input
                .from_name
                .as_deref()
                .map(parse_sender_name)
                .transpose()?
                .flatten(),
            from_email: optional(input.from_email.as_deref(), address("from_email"))?,
            reply_to: optional(input.reply_to.as_deref(), address("reply_to"))?,
            base_url: optional(input.base_url.as_deref(), |raw| {
                LinkBase::parse("base_url", raw)
            })?,
            smtp,
        };
        let new_password = input.smtp.as_ref().and_then(|s| s.password.as_ref());
        if new_password.is_some_and(|p| p.expose_secret().len() > 1024) {
            return Err(
                ValidationError::new("smtp.password", "must be at most 1024 characters").into(),
            );
        }
        let smtp_password = match (&config.smtp, new_password) {
            (None, _) => None,
            (Some(_), Some(password)) if !password.expose_secret().is_empty() => Some(
                self.ports
                    .secret_box
                    .seal(password.expose_secret().as_bytes())?,
            ),
            (Some(_), Some(_)) => None,
            // Same server, port, TLS mode and account: keep the password an operator need not
            // re-enter. Any change there needs it again (it must not follow a downgrade).
            (Some(server), None) => before.as_ref().and_then(|b| {
                b.config
                    .smtp
                    .as_ref()
                    .filter(|old| *old == server)
                    .and(b.smtp_password.clone())
            }),
        };
        let now = self.ports.clock.now();
        let stored = StoredEmailConfig {
            config,
            smtp_password,
            created_at: before.as_ref().map_or(now, |b| b.created_at),
            updated_at: now,
        };
        let event = ctx
            .audit(EventType::EmailConfigUpdated)
            .client(id)
            .target("client", id)
            .before(snapshot(before.as_ref()))
            .after(snapshot(Some(&stored)))
            .at(now);
        self.ports
            .uow
            .commit(vec![
                Write::PutEmailConfig {
                    client: id,
                    config: stored.clone(),
                },
                Write::Audit(event),
            ])
            .await?;
        self.view(id, Some(stored)).await
    }

    /// Returns whether there were settings to delete.
    pub async fn delete(&self, ctx: &RequestCtx, id: &str) -> Result<bool, EmailConfigError> {
        let id = self.client(ctx, id, Permission::ClientsUpdate).await?;
        let before = self.ports.email_configs.get(id).await?;
        let event = ctx
            .audit(EventType::EmailConfigDeleted)
            .client(id)
            .target("client", id)
            .before(snapshot(before.as_ref()))
            .at(self.ports.clock.now());
        let writes = vec![Write::DeleteEmailConfig(id), Write::Audit(event)];
        Ok(self.ports.uow.commit(writes).await?.is_all())
    }
}

#[cfg(test)]
mod tests;
