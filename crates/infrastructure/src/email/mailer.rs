//! Delivery through lettre: the server's SMTP transport (SMTP_*), a client's own server, or —
//! when SMTP_HOST is unset — a development transport that writes each message to a folder.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use authservice_application::ports::{Mailer, OutboundEmail, SendError, SmtpRoute};
use authservice_domain::secret::{hex, sha256};
use authservice_domain::{SmtpServer, SmtpTls};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

type Smtp = AsyncSmtpTransport<Tokio1Executor>;

/// The server's own way of sending.
pub enum MailTransport {
    Smtp {
        server: SmtpServer,
        password: Option<SecretString>,
    },
    /// Development only: every message is written to this folder as an `.eml` file.
    Folder(PathBuf),
}

pub struct SmtpMailer {
    default: DefaultTransport,
    timeout: Duration,
    /// Clients' own servers, pooled, by server and credentials.
    custom: Mutex<HashMap<String, Smtp>>,
}

enum DefaultTransport {
    Smtp(Smtp),
    Folder(PathBuf),
}

fn build_transport(
    server: &SmtpServer,
    password: Option<&SecretString>,
    timeout: Duration,
) -> anyhow::Result<Smtp> {
    let builder = match server.tls {
        SmtpTls::None => Smtp::builder_dangerous(server.host.as_str()),
        SmtpTls::StartTls => Smtp::starttls_relay(&server.host)?,
        SmtpTls::Tls => Smtp::relay(&server.host)?,
    };
    let mut builder = builder
        .port(server.port)
        .timeout(Some(timeout))
        .pool_config(
            PoolConfig::new()
                .max_size(4)
                .idle_timeout(Duration::from_secs(60)),
        );
    if let Some(user) = &server.username {
        let password = password
            .map(|p| p.expose_secret().to_owned())
            .unwrap_or_default();
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    Ok(builder.build())
}

fn message(id: Uuid, email: &OutboundEmail) -> Result<Message, SendError> {
    let bad = |what: &str, e: &dyn std::fmt::Display| SendError::Permanent(format!("{what}: {e}"));
    let from_address = email
        .from
        .email
        .parse()
        .map_err(|e| bad("sender address", &e))?;
    let mut builder = Message::builder()
        .from(Mailbox::new(email.from.name.clone(), from_address))
        .to(Mailbox::new(
            None,
            email.to.parse().map_err(|e| bad("recipient address", &e))?,
        ))
        .subject(email.content.subject.clone())
        .message_id(Some(format!("<{}@authservice>", id.simple())));
    if let Some(reply_to) = &email.reply_to {
        builder = builder.reply_to(Mailbox::new(
            None,
            reply_to.parse().map_err(|e| bad("reply-to address", &e))?,
        ));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            email.content.text.clone(),
            email.content.html.clone(),
        ))
        .map_err(|e| bad("building the message", &e))
}

fn classify(err: &lettre::transport::smtp::Error) -> SendError {
    if err.is_permanent() {
        SendError::Permanent(err.to_string())
    } else {
        SendError::Transient(err.to_string())
    }
}

impl SmtpMailer {
    /// # Errors
    /// The SMTP settings cannot make a transport (e.g. an invalid TLS host name), or the
    /// development folder cannot be created.
    pub fn new(transport: MailTransport, timeout: Duration) -> anyhow::Result<Self> {
        let default = match transport {
            MailTransport::Smtp { server, password } => {
                DefaultTransport::Smtp(build_transport(&server, password.as_ref(), timeout)?)
            }
            MailTransport::Folder(dir) => {
                std::fs::create_dir_all(&dir)?;
                tracing::warn!(
                    folder = %dir.display(),
                    "SMTP_HOST is not set: emails are written to a folder (development only)"
                );
                DefaultTransport::Folder(dir)
            }
        };
        Ok(Self {
            default,
            timeout,
            custom: Mutex::new(HashMap::new()),
        })
    }

    fn custom_transport(&self, route: &SmtpRoute) -> Result<Smtp, SendError> {
        let s = &route.server;
        let secret = route
            .password
            .as_ref()
            .map(|p| hex(&sha256(p.expose_secret().as_bytes())[..8]))
            .unwrap_or_default();
        let key = format!(
            "{}|{}|{}|{}|{secret}",
            s.host,
            s.port,
            s.username.as_deref().unwrap_or(""),
            s.tls.as_str()
        );
        let mut custom = self.custom.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = custom.get(&key) {
            return Ok(t.clone());
        }
        let transport = build_transport(s, route.password.as_ref(), self.timeout)
            .map_err(|e| SendError::Permanent(format!("client SMTP settings: {e}")))?;
        if custom.len() >= 256 {
            custom.clear();
        }
        custom.insert(key, transport.clone());
        Ok(transport)
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(
        &self,
        message_id: Uuid,
        email: &OutboundEmail,
        route: Option<&SmtpRoute>,
    ) -> Result<(), SendError> {
        let msg = message(message_id, email)?;
        let transport = match (route, &self.default) {
            (Some(route), _) => self.custom_transport(route)?,
            (None, DefaultTransport::Smtp(t)) => t.clone(),
            (None, DefaultTransport::Folder(dir)) => {
                let path = dir.join(format!("{}.eml", message_id.simple()));
                tokio::fs::write(&path, msg.formatted())
                    .await
                    .map_err(|e| {
                        SendError::Transient(format!("writing {}: {e}", path.display()))
                    })?;
                tracing::info!(path = %path.display(), "email written to the development folder (not sent)");
                return Ok(());
            }
        };
        transport
            .send(msg)
            .await
            .map(|_| ())
            .map_err(|e| classify(&e))
    }
}
