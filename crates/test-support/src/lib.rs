//! In-memory implementations of every port and a controllable clock, so the use cases can be
//! unit-tested in milliseconds without PostgreSQL, Redis, SMTP or a browser.
//!
//! [`World::new`] wires a complete [`Ports`]: the stores below (one in-memory database behind
//! every repository port, so a multi-aggregate write is as atomic as the adapter's
//! transaction), the in-process rate limiter and ephemeral store the server uses without Redis,
//! the real pure adapters (bcrypt at its lowest cost, RFC 6238 TOTP, webauthn-rs, AES-GCM,
//! templates), a signer of fake access tokens and a [`ManualClock`]. The stores keep the
//! adapters' documented rules (single use, families, "only live sessions", client scoping); the
//! end-to-end suite checks the real adapters against the same use cases.

mod clock;
mod stores;
mod tokens;

use std::sync::Arc;
use std::time::Duration;

use authservice_application::auth::AuthConfig;
use authservice_application::context::RequestCtx;
use authservice_application::email::MailConfig;
use authservice_application::limits::{Limits, RateRules};
use authservice_application::ports::{
    Clock, Mailbox, Mailer, OutboundEmail, OutboxSignal, Ports, SendError, SmtpRoute,
    UserRepository,
};
use authservice_domain::{Client, LinkBase, PasswordPolicy, User};
use authservice_infrastructure::crypto::{
    AesGcmSecretBox, HashAlgorithm, OsRandom, PooledHasher, RfcTotp, WebauthnRs,
};
use authservice_infrastructure::email::TemplateRenderer;
use authservice_infrastructure::memory::{MemoryEphemeralStore, MemoryRateLimiter};

pub use clock::ManualClock;
pub use stores::{MemoryDb, StoredSession};
pub use tokens::FakeTokens;

/// A password every seeded user has.
pub const PASSWORD: &str = "correct horse battery staple";

/// Records what would have been sent.
#[derive(Default)]
pub struct RecordingMailer {
    pub sent: std::sync::Mutex<Vec<(String, String)>>,
}

#[async_trait::async_trait]
impl Mailer for RecordingMailer {
    async fn send(
        &self,
        _message_id: uuid::Uuid,
        email: &OutboundEmail,
        _route: Option<&SmtpRoute>,
    ) -> Result<(), SendError> {
        self.sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((email.to.clone(), email.content.subject.clone()));
        Ok(())
    }
}

/// An identity provider the test scripts: the authorization URL names the state, and the
/// next `finish` answers what [`FakeIdp::answer`] set (checking the nonce it was sent).
#[derive(Default)]
pub struct FakeIdp {
    /// (state, nonce) of each authorization URL handed out.
    pub requests: std::sync::Mutex<Vec<(String, String)>>,
    next: std::sync::Mutex<Option<authservice_application::ports::IdpAssertion>>,
}

impl FakeIdp {
    /// The next sign-in at the IdP is `subject` with `claims`.
    pub fn answer(&self, subject: &str, claims: serde_json::Value) {
        *self.next.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(authservice_application::ports::IdpAssertion {
                subject: subject.to_owned(),
                claims: claims.as_object().cloned().unwrap_or_default(),
                provider_tokens: None,
            });
    }

    /// The `state` of the last authorization URL.
    #[must_use]
    pub fn last_state(&self) -> Option<String> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last()
            .map(|(state, _)| state.clone())
    }
}

#[async_trait::async_trait]
impl authservice_application::ports::OidcRelyingParty for FakeIdp {
    async fn authorization_url(
        &self,
        request: authservice_application::ports::OidcAuthRequest<'_>,
    ) -> Result<String, authservice_application::ports::IdpError> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((request.state.to_owned(), request.nonce.to_owned()));
        Ok(format!(
            "{}/authorize?state={}",
            request.idp.issuer, request.state
        ))
    }

    async fn finish(
        &self,
        callback: authservice_application::ports::OidcCallback<'_>,
    ) -> Result<
        authservice_application::ports::IdpAssertion,
        authservice_application::ports::IdpError,
    > {
        use authservice_application::ports::IdpError;
        let sent_nonce = self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|(_, nonce)| nonce == callback.nonce);
        if !sent_nonce {
            return Err(IdpError::Refused("nonce".to_owned()));
        }
        self.next
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| IdpError::Refused("no answer scripted".to_owned()))
    }
}

#[async_trait::async_trait]
impl authservice_application::ports::OAuth2Client for FakeIdp {
    async fn authorization_url(
        &self,
        request: authservice_application::ports::OAuth2AuthRequest<'_>,
    ) -> Result<String, authservice_application::ports::IdpError> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((request.state.to_owned(), String::new()));
        Ok(format!(
            "{}?state={}",
            request.endpoints.authorization, request.state
        ))
    }

    async fn finish(
        &self,
        _callback: authservice_application::ports::OAuth2Callback<'_>,
    ) -> Result<
        authservice_application::ports::IdpAssertion,
        authservice_application::ports::IdpError,
    > {
        self.next
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| {
                authservice_application::ports::IdpError::Refused("no answer scripted".to_owned())
            })
    }
}

/// DNS answers set by the test: TXT strings per name (a name not set has none).
#[derive(Default)]
pub struct StaticDns {
    pub txt: std::sync::Mutex<std::collections::HashMap<String, Vec<String>>>,
}

impl StaticDns {
    /// Publishes `value` as a TXT record at `name`.
    pub fn publish(&self, name: &str, value: &str) {
        self.txt
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(name.to_owned())
            .or_default()
            .push(value.to_owned());
    }
}

#[async_trait::async_trait]
impl authservice_application::ports::DnsResolver for StaticDns {
    async fn txt(
        &self,
        name: &str,
    ) -> Result<Vec<String>, authservice_application::ports::DnsError> {
        Ok(self
            .txt
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
            .unwrap_or_default())
    }
}

/// Counts wake-ups of the outbox worker.
#[derive(Default)]
pub struct CountingSignal(pub std::sync::atomic::AtomicUsize);

impl OutboxSignal for CountingSignal {
    fn wake(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Records webhook messages and answers each with `status` (0: a transport failure).
pub struct RecordingWebhookSender {
    pub status: std::sync::atomic::AtomicU16,
    /// (url, message id, body, number of signatures)
    pub sent: std::sync::Mutex<Vec<(String, String, String, usize)>>,
}

impl Default for RecordingWebhookSender {
    fn default() -> Self {
        Self {
            status: std::sync::atomic::AtomicU16::new(204),
            sent: std::sync::Mutex::default(),
        }
    }
}

#[async_trait::async_trait]
impl authservice_application::ports::WebhookSender for RecordingWebhookSender {
    async fn send(
        &self,
        url: &str,
        message_id: &str,
        _timestamp: i64,
        body: &str,
        keys: &[Vec<u8>],
    ) -> authservice_application::ports::SendOutcome {
        self.sent.lock().expect("sent").push((
            url.to_owned(),
            message_id.to_owned(),
            body.to_owned(),
            keys.len(),
        ));
        let status = self.status.load(std::sync::atomic::Ordering::Relaxed);
        authservice_application::ports::SendOutcome {
            response_status: (status > 0).then_some(status),
            latency_ms: 1,
            error: (!(200..300).contains(&status)).then(|| format!("status {status}")),
        }
    }
}

/// Everything a use case needs, in memory.
pub struct World {
    pub ports: Ports,
    pub db: Arc<MemoryDb>,
    pub clock: Arc<ManualClock>,
    pub client: Client,
    pub dns: Arc<StaticDns>,
    /// The OpenID Connect IdP of SSO connections.
    pub idp: Arc<FakeIdp>,
    pub webhook_sender: Arc<RecordingWebhookSender>,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    /// A world with one active client ([`authservice_domain::testing::client`]) and no users.
    #[must_use]
    pub fn new() -> Self {
        Self::with_rules(RateRules::default())
    }

    /// The same, with other rate limits.
    #[must_use]
    pub fn with_rules(rules: RateRules) -> Self {
        let clock = Arc::new(ManualClock::default());
        let db = Arc::new(MemoryDb::new());
        let dns = Arc::new(StaticDns::default());
        let idp = Arc::new(FakeIdp::default());
        let client = authservice_domain::testing::client();
        db.seed_client(&client);
        let secret_box = Arc::new(AesGcmSecretBox::new(&[7; 32]));
        let webhook_sender = Arc::new(RecordingWebhookSender::default());
        let ports = Ports {
            admins: db.clone(),
            clients: db.clone(),
            users: db.clone(),
            sessions: db.clone(),
            tokens: Arc::new(FakeTokens::new(clock.clone())),
            signing_keys: db.clone(),
            passwords: Arc::new(PooledHasher::new(HashAlgorithm::Bcrypt { cost: 4 }, 2, 64)),
            audit: db.clone(),
            audit_retention: db.clone(),
            audit_chain: db.clone(),
            webhooks: db.clone(),
            webhook_sender: webhook_sender.clone(),
            limits: Limits::new(Arc::new(MemoryRateLimiter::new()), rules),
            ephemeral: Arc::new(MemoryEphemeralStore::new()),
            one_time_tokens: db.clone(),
            outbox: db.clone(),
            outbox_signal: Arc::new(CountingSignal::default()),
            email_configs: db.clone(),
            email_renderer: Arc::new(TemplateRenderer::new().expect("email templates")),
            mailer: Arc::new(RecordingMailer::default()),
            mfa: db.clone(),
            totp: Arc::new(RfcTotp),
            passkeys: db.clone(),
            organizations: db.clone(),
            invitations: db.clone(),
            org_authorization: db.clone(),
            oidc_apps: db.clone(),
            org_domains: db.clone(),
            dns: dns.clone(),
            sso_connections: db.clone(),
            scim_directories: db.clone(),
            scim_users: db.clone(),
            scim_groups: db.clone(),
            oidc_rp: idp.clone(),
            social_providers: db.clone(),
            oauth2: idp.clone(),
            saml_sp: Arc::new(
                authservice_infrastructure::saml_sp::SamaelSp::new(true).expect("SAML SP"),
            ),
            consents: db.clone(),
            service_accounts: db.clone(),
            client_assertions: Arc::new(authservice_infrastructure::crypto::JwtClientAssertions),
            webauthn: Arc::new(WebauthnRs::new()),
            secret_box,
            uow: db.clone(),
            random: Arc::new(OsRandom),
            clock: clock.clone(),
            probes: Vec::new(),
        };
        Self {
            ports,
            db,
            clock,
            client,
            dns,
            idp,
            webhook_sender,
        }
    }

    /// The server's defaults for the account flows.
    #[must_use]
    pub fn auth_config(&self) -> AuthConfig {
        AuthConfig {
            issuer: "https://auth.test".to_owned(),
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 86_400),
            session_max_lifetime: Duration::from_secs(30 * 86_400),
            session_idle_timeout: Duration::from_secs(30 * 86_400),
            reauth_max_age: Duration::from_secs(5 * 60),
            oidc_code_ttl: Duration::from_secs(60),
            org_token_ttl: Duration::from_secs(5 * 60),
            password_policy: PasswordPolicy::default(),
            blocked_email_domains: Vec::new(),
            lockout: false,
            jwks_publish_all: false,
        }
    }

    /// The server's defaults for emailed links and notices.
    #[must_use]
    pub fn mail_config(&self) -> MailConfig {
        MailConfig {
            base_url: LinkBase::parse("BASE_URL", "https://auth.test").expect("base url"),
            default_from: Mailbox {
                name: None,
                email: "no-reply@auth.test".to_owned(),
            },
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            max_attempts: 5,
            lease: Duration::from_secs(60),
            allow_private_smtp: false,
        }
    }

    /// A request on an app route of [`World::client`].
    #[must_use]
    pub fn ctx(&self) -> RequestCtx {
        let mut ctx = RequestCtx::anonymous("req-test");
        ctx.ip = Some("203.0.113.7".parse().expect("ip"));
        ctx.client = Some(self.client.clone());
        ctx
    }

    /// Replaces the client (settings, status) everywhere it is read.
    pub fn set_client(&mut self, client: Client) {
        self.db.seed_client(&client);
        self.client = client;
    }

    /// Stores `user` with [`PASSWORD`].
    ///
    /// # Panics
    /// When the store refuses it (a duplicate email).
    pub async fn seed_user(&self, user: &User) {
        let hash = self
            .ports
            .passwords
            .hash(PASSWORD)
            .await
            .expect("hash the password");
        let audit = self
            .ctx()
            .audit(authservice_domain::EventType::Signup)
            .at(self.clock.now());
        UserRepository::insert(&*self.db, user, &hash, &audit, None, None)
            .await
            .expect("seed user");
    }

    /// The one-time token in the link of the last message queued for `to` (the message is
    /// opened as the outbox worker would).
    ///
    /// # Panics
    /// When no such message or link exists.
    #[must_use]
    pub fn last_link_token(&self, to: &str) -> String {
        let message = self
            .db
            .queued()
            .into_iter()
            .rev()
            .find(|m| m.recipient.as_str() == to)
            .expect("a message for this address");
        let opened = self
            .ports
            .secret_box
            .open(&message.sealed)
            .expect("the message opens");
        let text = String::from_utf8_lossy(&opened);
        let start = text.find("token=").expect("a link with a token") + "token=".len();
        text[start..start + 64].to_owned()
    }

    /// The clock's current instant.
    #[must_use]
    pub fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Audit event types recorded so far, oldest first.
    #[must_use]
    pub fn events(&self) -> Vec<String> {
        self.db.event_types()
    }
}
