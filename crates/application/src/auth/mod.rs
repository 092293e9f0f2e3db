//! Accounts and sessions: signup, login, refresh rotation, logout, the current user, JWKS.

mod authenticate_user;
mod change_password;
pub(crate) mod gate;
mod login;
mod logout;
mod manage_sessions;
mod publish_jwks;
mod purge_sessions;
mod reauthenticate;
mod refresh_session;
mod signup;
mod update_profile;

pub use authenticate_user::{AuthenticateUser, AuthenticateUserError, AuthenticatedUser};
pub use change_password::{ChangePassword, ChangePasswordError, ChangePasswordInput};
pub use login::{Login, LoginError, LoginInput, LoginOutcome};
pub use logout::{Logout, LogoutError};
pub use manage_sessions::{ListedSession, ManageSessions, SessionsError};
pub use publish_jwks::{PublishJwks, PublishJwksError};
pub use purge_sessions::{EXPIRED_SESSION_GRACE, PurgeExpiredSessions};
pub use reauthenticate::{ReauthProof, Reauthenticate, ReauthenticateError, Reauthenticated};
pub use refresh_session::{RefreshSession, RefreshSessionError, RefreshSessionInput};
pub use signup::{Signup, SignupError, SignupInput, SignupOutcome};
pub use update_profile::{UpdateProfile, UpdateProfileError, UpdateProfileInput};

use authservice_domain::EventType;
use std::time::Duration;

use authservice_domain::secret::sha256;
use authservice_domain::sign_in::AuthMethod;
use authservice_domain::{AuditEvent, Client, PasswordPolicy, User};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use uuid::Uuid;

use crate::ports::{AccessClaims, Ports};

/// Settings of the account flows.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// `iss` of every access token (BASE_URL).
    pub issuer: String,
    pub access_ttl: Duration,
    /// `JWT_REFRESH_TTL`: the default of `session_idle_timeout`.
    pub refresh_ttl: Duration,
    /// `SESSION_MAX_LIFETIME`: a session ends this long after sign-in, whatever the refreshes
    /// (per client: `settings.session_max_lifetime`).
    pub session_max_lifetime: Duration,
    /// `SESSION_IDLE_TIMEOUT`: a session ends when not refreshed for this long — the lifetime
    /// of each refresh token (per client: `settings.session_idle_timeout`).
    pub session_idle_timeout: Duration,
    /// `REAUTH_MAX_AGE`: how recent `auth_time` must be for a sensitive change.
    pub reauth_max_age: Duration,
    /// `OIDC_CODE_TTL`: how long an OIDC authorization code lives.
    pub oidc_code_ttl: Duration,
    /// `ORG_TOKEN_TTL`: how long an organization token lives (at most as long as the access
    /// token that asked for it).
    pub org_token_ttl: Duration,
    pub password_policy: PasswordPolicy,
    /// `BLOCKED_EMAIL_DOMAINS`, lowercased; added to the maintained disposable-domain list.
    pub blocked_email_domains: Vec<String>,
    /// `ACCOUNT_LOCKOUT_ENABLED`: after `LOGIN_FAILURE_RATE_LIMIT` failed logins an email is
    /// locked (per client) for the window of `LOGIN_LOCK_RATE_LIMIT`.
    pub lockout: bool,
    /// `JWKS_PUBLISH_ALL`: the JWKS without a named client lists every active client's keys.
    pub jwks_publish_all: bool,
}

/// What a successful signup, login or refresh hands back.
pub struct IssuedTokens {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: SecretString,
    pub refresh_expires_in: u64,
    pub user: User,
    pub session_id: Uuid,
    /// When the user last authenticated in the session (`auth_time`).
    pub auth_time: DateTime<Utc>,
    /// How the user signed in to the session (`amr`).
    pub amr: Vec<String>,
}

/// Every broken password rule, for the error envelope's `details`.
pub(crate) fn rules_json(rules: &[authservice_domain::PasswordRule]) -> serde_json::Value {
    serde_json::Value::Array(
        rules
            .iter()
            .map(|r| serde_json::json!({ "rule": r.code(), "message": r.message() }))
            .collect(),
    )
}

impl std::fmt::Debug for IssuedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedTokens")
            .field("user", &self.user.id)
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

/// A refresh token: 256 random bits as 64 hex characters, and its SHA-256 (what is stored).
fn new_refresh_token(ports: &Ports) -> (SecretString, [u8; 32]) {
    let token = authservice_domain::secret::hex(&ports.random.bytes32());
    let hash = sha256(token.as_bytes());
    (SecretString::from(token), hash)
}

/// How long sessions of `client` live: its own settings, else the server's.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionLimits {
    pub(crate) idle: chrono::Duration,
    pub(crate) max_lifetime: chrono::Duration,
}

impl SessionLimits {
    pub(crate) fn of(config: &AuthConfig, client: &Client) -> anyhow::Result<Self> {
        let policy = client.policy();
        let idle = policy
            .session_idle_timeout
            .unwrap_or(config.session_idle_timeout);
        let max = policy
            .session_max_lifetime
            .unwrap_or(config.session_max_lifetime);
        Ok(Self {
            idle: chrono::Duration::from_std(idle)?,
            max_lifetime: chrono::Duration::from_std(max)?,
        })
    }

    /// When a refresh token issued at `now` in a session started at `started_at` expires.
    pub(crate) fn token_expiry(
        &self,
        started_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> DateTime<Utc> {
        (now + self.idle).min(started_at + self.max_lifetime)
    }
}

/// Signs an access token for `user` in session `family_id`; it never outlives the session's
/// hard end.
async fn sign_access_token(
    ports: &Ports,
    config: &AuthConfig,
    client: &Client,
    user: &User,
    session: SessionStamp<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    sign_access_token_for(ports, config, client, user, session, None, now).await
}

/// An access token handed to an OIDC app: issued by the tenant's issuer, with the scopes the
/// user granted and the app as authorized party (`token_use: access`).
#[derive(Debug, Clone)]
pub(crate) struct AppStamp {
    pub(crate) issuer: String,
    /// The app's `client_id` (`azp`).
    pub(crate) azp: String,
    pub(crate) scopes: Vec<String>,
}

/// [`sign_access_token`], for an OIDC app's session when `app` is given.
pub(crate) async fn sign_access_token_for(
    ports: &Ports,
    config: &AuthConfig,
    client: &Client,
    user: &User,
    session: SessionStamp<'_>,
    app: Option<&AppStamp>,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    // An app sees the address only with the `email` scope, and never the user's role.
    let shows_email = app.is_none_or(|a| a.scopes.iter().any(|s| s == "email"));
    let claims = AccessClaims {
        sub: user.id.to_string(),
        iss: app.map_or_else(|| config.issuer.clone(), |a| a.issuer.clone()),
        aud: client.id.to_string(),
        iat: now.timestamp(),
        exp: (now.timestamp() + i64::try_from(config.access_ttl.as_secs()).unwrap_or(900))
            .min(session.ends_at.timestamp()),
        jti: Uuid::new_v4().simple().to_string(),
        client_id: client.id.to_string(),
        email: if shows_email {
            user.email.as_str().to_owned()
        } else {
            String::new()
        },
        email_verified: shows_email && user.email_verified,
        role: if app.is_some() {
            String::new()
        } else {
            user.role.clone()
        },
        sid: session.family_id.to_string(),
        auth_time: session.auth_time.timestamp(),
        amr: session.amr.to_vec(),
        org: None,
        grant: app.map(|a| crate::ports::GrantClaims {
            token_use: "access".to_owned(),
            scopes: a.scopes.clone(),
            azp: a.azp.clone(),
            service_account_name: None,
        }),
    };
    ports.tokens.sign(client, &claims).await
}

/// The session an access token is signed for: its id (`sid`), its hard end (no token outlives
/// it), when the user last authenticated in it (`auth_time`) and how they signed in (`amr`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionStamp<'a> {
    pub(crate) family_id: Uuid,
    pub(crate) ends_at: DateTime<Utc>,
    pub(crate) auth_time: DateTime<Utc>,
    pub(crate) amr: &'a [String],
}

/// Whether the caller authenticated recently enough for a sensitive change: the access
/// token's `auth_time` within `REAUTH_MAX_AGE` (and not in the future beyond a minute of skew).
pub(crate) fn recently_authenticated(
    config: &AuthConfig,
    claims: &AccessClaims,
    now: DateTime<Utc>,
) -> bool {
    let max_age = i64::try_from(config.reauth_max_age.as_secs()).unwrap_or(i64::MAX);
    let age = now.timestamp() - claims.auth_time;
    claims.auth_time > 0 && (-60..=max_age).contains(&age)
}

/// A login ready to store: the first session row of a new family, and the tokens it hands
/// out (the access token is already signed, so storing is the last step).
pub(crate) struct PreparedSession {
    pub(crate) session: crate::ports::NewSession,
    pub(crate) tokens: IssuedTokens,
}

/// Prepares a new session (family) for `user`, who authenticated just now by `methods`.
pub(crate) async fn prepare_session(
    ports: &Ports,
    config: &AuthConfig,
    ctx: &crate::RequestCtx,
    client: &Client,
    user: User,
    methods: &[AuthMethod],
) -> anyhow::Result<PreparedSession> {
    let now = ports.clock.now();
    let sign_in = SignIn {
        auth_time: now,
        amr: authservice_domain::sign_in::amr(methods),
    };
    prepare_app_session(ports, config, ctx, client, user, sign_in, None).await
}

/// When and how the user authenticated (`auth_time`, `amr`): a session handed over from
/// another (a redirect code, an OIDC code) carries the original sign-in's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SignIn {
    pub(crate) auth_time: DateTime<Utc>,
    pub(crate) amr: Vec<String>,
}

/// Prepares a new session (family) for `user`, who signed in as `sign_in` says (a redirect
/// code hands over a sign-in that happened on the hosted pages moments before); granted to an
/// OIDC app (its id, and the stamp of its access tokens) when `app` is given.
pub(crate) async fn prepare_app_session(
    ports: &Ports,
    config: &AuthConfig,
    ctx: &crate::RequestCtx,
    client: &Client,
    user: User,
    sign_in: SignIn,
    app: Option<(uuid::Uuid, &AppStamp)>,
) -> anyhow::Result<PreparedSession> {
    let SignIn { auth_time, amr } = sign_in;
    let now = ports.clock.now();
    let auth_time = auth_time.min(now);
    let limits = SessionLimits::of(config, client)?;
    let expires_at = limits.token_expiry(now, now);
    let (refresh_token, refresh_hash) = new_refresh_token(ports);
    let family_id = Uuid::now_v7();
    let session = crate::ports::NewSession {
        id: Uuid::now_v7(),
        family_id,
        client_id: client.id,
        user_id: user.id,
        refresh_token_hash: refresh_hash,
        user_agent: ctx.user_agent.clone(),
        ip: ctx.ip.map(|ip| ip.to_string()),
        started_at: now,
        created_at: now,
        expires_at,
        auth_time,
        amr: amr.clone(),
        rehash: None,
        grant: app.map(|(app_id, stamp)| crate::ports::SessionGrant {
            app_id,
            scopes: stamp.scopes.clone(),
        }),
    };
    let access_token = sign_access_token_for(
        ports,
        config,
        client,
        &user,
        SessionStamp {
            family_id,
            ends_at: now + limits.max_lifetime,
            auth_time,
            amr: &amr,
        },
        app.map(|(_, stamp)| stamp),
        now,
    )
    .await?;
    Ok(PreparedSession {
        session,
        tokens: IssuedTokens {
            access_token,
            expires_in: config.access_ttl.as_secs(),
            refresh_token,
            refresh_expires_in: u64::try_from((expires_at - now).num_seconds()).unwrap_or(0),
            user,
            session_id: family_id,
            auth_time,
            amr,
        },
    })
}

/// The `login_succeeded` event of a prepared session.
pub(crate) fn login_event(
    ports: &Ports,
    ctx: &crate::RequestCtx,
    prepared: &PreparedSession,
) -> AuditEvent {
    let user = &prepared.tokens.user;
    let mut event = ctx
        .audit(EventType::LoginSucceeded)
        .client(user.client_id)
        .target("user", user.id)
        .metadata(serde_json::json!({ "session_id": prepared.session.family_id.to_string() }))
        .at(ports.clock.now());
    event.user_id = Some(user.id.as_uuid());
    event
}

/// Whether `password` is the user's (the same hashing work when the account has none).
pub(crate) async fn password_matches(
    ports: &Ports,
    user: &User,
    password: &SecretString,
) -> Result<bool, crate::ports::HashError> {
    use secrecy::ExposeSecret;
    let stored = ports
        .users
        .get(user.client_id, user.id)
        .await?
        .and_then(|u| u.password_hash);
    match stored {
        Some(hash) => {
            ports
                .passwords
                .verify(password.expose_secret(), &hash)
                .await
        }
        None => {
            ports
                .passwords
                .verify_dummy(password.expose_secret())
                .await?;
            Ok(false)
        }
    }
}

/// The client an app route was called for (resolved from `X-API-Key`).
pub(crate) fn require_client(ctx: &crate::RequestCtx) -> anyhow::Result<&Client> {
    ctx.client
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("app route called without a resolved client"))
}
