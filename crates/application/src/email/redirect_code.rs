//! Redirect codes: a one-time `auth_code` handed to an app after a hosted sign-in (or a magic
//! link opened in the browser), exchanged by the app's backend for a session.

use authservice_domain::EventType;
use authservice_domain::secret::{hex, sha256};
use authservice_domain::sign_in::{Admission, Proof};
use authservice_domain::{ClientId, UserId};
use serde_json::json;

use super::magic_link::{REDIRECT_CODE_TTL, redirect_key};
use super::{EmailFlowError, MailConfig, token_digest};
use crate::audit::record_quietly;
use crate::auth::{AuthConfig, login_event};
use crate::context::RequestCtx;
use crate::ports::Ports;

/// What `redirect/exchange` presents besides the API key.
#[derive(Clone, Copy)]
pub struct ExchangeRedirectCodeInput<'a> {
    pub code: &'a str,
    /// Required, and must match, when the code was issued with a `code_challenge`.
    pub code_verifier: Option<&'a str>,
    /// Must equal the `redirect_uri` the code was issued for.
    pub redirect_uri: Option<&'a str>,
    /// An SSO code for the hosted login page: the page's `state` it was begun with.
    pub state: Option<&'a str>,
}

impl std::fmt::Debug for ExchangeRedirectCodeInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeRedirectCodeInput")
            .field("code", &"[redacted]")
            .field("code_verifier", &self.code_verifier.map(|_| "[redacted]"))
            .field("redirect_uri", &self.redirect_uri)
            .field("state", &self.state.map(|_| "[redacted]"))
            .finish()
    }
}

pub struct ExchangeRedirectCode {
    ports: Ports,
    config: AuthConfig,
}

impl ExchangeRedirectCode {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
        }
    }

    /// Takes the code (single use: read and deleted atomically) and starts a session for
    /// `client` (the request's API key): a code of another client is refused (and spent), as is
    /// one presented with another `redirect_uri` than it was issued for, or — when it was
    /// issued with a `code_challenge` — without the matching `code_verifier` (PKCE, S256).
    #[tracing::instrument(name = "exchange_redirect_code", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        client: Option<ClientId>,
        input: ExchangeRedirectCodeInput<'_>,
    ) -> Result<crate::auth::LoginOutcome, EmailFlowError> {
        let code = input.code;
        let hash = token_digest(code).map_err(|_| EmailFlowError::RedirectCodeInvalid)?;
        // Without a key only a magic link's code may be exchanged; any other is refused
        // before it is spent (its app can still exchange it with its key).
        if client.is_none() {
            let peeked = self.ports.ephemeral.get_value(&redirect_key(&hash)).await?;
            let is_magic_link = peeked
                .as_deref()
                .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok())
                .is_some_and(|v| v["method"] == "magic_link");
            if peeked.is_some() && !is_magic_link {
                return Err(EmailFlowError::ApiKeyRequired);
            }
        }
        let stored = self
            .ports
            .ephemeral
            .take(&redirect_key(&hash))
            .await?
            .ok_or(EmailFlowError::RedirectCodeInvalid)?;
        let stored: serde_json::Value =
            serde_json::from_str(&stored).map_err(anyhow::Error::from)?;
        let field = |name: &str| stored.get(name).and_then(serde_json::Value::as_str);
        let owner = field("client_id")
            .and_then(|id| ClientId::parse(id).ok())
            .ok_or(EmailFlowError::RedirectCodeInvalid)?;
        let user_id = field("user_id")
            .and_then(|id| UserId::parse(id).ok())
            .ok_or(EmailFlowError::RedirectCodeInvalid)?;
        let method = field("method").unwrap_or("redirect").to_owned();
        match client {
            Some(client) if client != owner => {
                return Err(EmailFlowError::RedirectCodeClientMismatch);
            }
            Some(_) => {}
            // A magic link's code goes only to this server's own login page (a relative
            // redirect), which may not know the client's key in a fresh browser; a code handed
            // to an app needs the app's key.
            None if method == "magic_link" => {}
            None => return Err(EmailFlowError::ApiKeyRequired),
        }
        if let Some(expected) = field("redirect_uri")
            && input.redirect_uri.map(str::trim) != Some(expected)
        {
            return Err(EmailFlowError::RedirectUriMismatch);
        }
        if let Some(expected) = field("page_state") {
            let presented = input
                .state
                .map(|s| authservice_domain::secret::hex(&sha256(s.trim().as_bytes())));
            let matches = presented.is_some_and(|p| {
                authservice_domain::secret::secrets_equal(p.as_bytes(), expected.as_bytes())
            });
            if !matches {
                return Err(EmailFlowError::StateMismatch);
            }
        }
        if let Some(challenge) = field("code_challenge") {
            let verifier = input
                .code_verifier
                .map(str::trim)
                .ok_or(EmailFlowError::CodeVerifierInvalid)?;
            if !authservice_domain::pkce::verifier_matches(verifier, challenge) {
                return Err(EmailFlowError::CodeVerifierInvalid);
            }
        }
        let (owner, mut user) = super::magic_link::load_login(&self.ports, owner, user_id).await?;
        // A magic link is a first factor; a code issued after a completed hosted sign-in is not
        // asked for a second factor again.
        let proof = match method.as_str() {
            "magic_link" => Proof::MagicLinkCode,
            // A consumer provider vouched: the user's own second factor is still asked.
            "social" => Proof::ExternalIdentity,
            _ => Proof::CompletedSignIn,
        };
        let admission = crate::auth::gate::admit(&self.ports, &owner, &user, proof).await??;
        if let Admission::SecondFactor(methods) = admission {
            let challenge = crate::mfa::start_challenge(
                &self.ports,
                ctx,
                &owner,
                &user,
                if method == "social" {
                    crate::mfa::FirstFactor::Federated
                } else {
                    crate::mfa::FirstFactor::MagicLink
                },
                methods,
            )
            .await?;
            return Ok(crate::auth::LoginOutcome::SecondFactor(challenge));
        }
        let now = self.ports.clock.now();
        user.last_login_at = Some(now);
        // The app's session carries the hosted sign-in's time, not the exchange's.
        let auth_time = stored
            .get("auth_time")
            .and_then(serde_json::Value::as_i64)
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .unwrap_or(now);
        // ... and how the user signed in there (a magic link's code: the link itself).
        let amr = if method == "magic_link" {
            authservice_domain::sign_in::amr(&[authservice_domain::sign_in::AuthMethod::MagicLink])
        } else {
            stored
                .get("amr")
                .and_then(|v| serde_json::from_value::<Vec<String>>(v.clone()).ok())
                .unwrap_or_default()
        };
        let prepared = crate::auth::prepare_app_session(
            &self.ports,
            &self.config,
            ctx,
            &owner,
            user,
            crate::auth::SignIn { auth_time, amr },
            None,
        )
        .await?;
        let mut login = login_event(&self.ports, ctx, &prepared);
        login.metadata["method"] = json!(method);
        self.ports
            .sessions
            .create(&prepared.session, &login)
            .await?;
        Ok(crate::auth::LoginOutcome::Tokens(Box::new(prepared.tokens)))
    }
}

/// What a page asks a redirect code for.
#[derive(Debug, Clone, Default)]
pub struct IssueRedirectCodeInput {
    /// Where the code will be sent: exactly a registered redirect URI of the client.
    pub redirect_uri: Option<String>,
    /// PKCE: BASE64URL(SHA-256(verifier)) from the app that started the sign-in.
    pub code_challenge: Option<String>,
    /// Only `S256`.
    pub code_challenge_method: Option<String>,
}

/// A one-time code for the signed-in user, to hand a session to an app after a hosted sign-in
/// (appended to one of the client's registered `redirect_uris`; exchanged with
/// `redirect/exchange` by the app's backend with its API key, the same `redirect_uri` and, when
/// the app sent a `code_challenge`, its `code_verifier`). The exchange starts the app's own
/// session; no token travels in the URL, and a code that leaks from the URL is useless without
/// the key (and the verifier).
pub struct IssueRedirectCode {
    ports: Ports,
    config: AuthConfig,
    /// The server's own origin (`BASE_URL`), accepted by the fallback rule.
    own_origin: String,
}

impl IssueRedirectCode {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig, mail: &MailConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
            own_origin: mail.base_url.origin(),
        }
    }

    #[tracing::instrument(name = "issue_redirect_code", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        caller: &crate::auth::AuthenticatedUser,
        input: IssueRedirectCodeInput,
    ) -> Result<String, EmailFlowError> {
        let user = &caller.user;
        let client = crate::auth::require_client(ctx)?;
        // Handing the session to an app starts a new session there: only right after a
        // sign-in, never with an old token alone.
        if !crate::auth::recently_authenticated(
            &self.config,
            &caller.claims,
            self.ports.clock.now(),
        ) {
            return Err(EmailFlowError::ReauthenticationRequired);
        }
        let redirect_uri = input
            .redirect_uri
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| {
                authservice_domain::ValidationError::new("redirect_uri", "is required")
            })?;
        if !client.accepts_redirect_uri(redirect_uri, &self.own_origin) {
            return Err(EmailFlowError::RedirectUriNotAllowed);
        }
        let challenge = match (
            input
                .code_challenge
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty()),
            input.code_challenge_method.as_deref().map(str::trim),
        ) {
            (None, _) => None,
            (Some(challenge), Some("S256")) => {
                if !authservice_domain::pkce::is_s256_challenge(challenge) {
                    return Err(authservice_domain::ValidationError::new(
                        "code_challenge",
                        "must be BASE64URL(SHA-256(code_verifier)): 43 characters",
                    )
                    .into());
                }
                Some(challenge)
            }
            (Some(_), _) => {
                return Err(authservice_domain::ValidationError::new(
                    "code_challenge_method",
                    "must be S256",
                )
                .into());
            }
        };
        let value = json!({
            "client_id": user.client_id.to_string(),
            "user_id": user.id.to_string(),
            "method": "hosted_login",
            "redirect_uri": redirect_uri,
            "code_challenge": challenge,
            "auth_time": caller.claims.auth_time,
            "amr": caller.claims.amr,
        });
        let code = mint_code(&self.ports, &value).await?;
        let mut event = ctx
            .audit(EventType::RedirectCodeIssued)
            .client(user.client_id)
            .target("user", user.id)
            .metadata(json!({ "redirect_uri": redirect_uri, "pkce": challenge.is_some() }))
            .at(self.ports.clock.now());
        event.user_id = Some(user.id.as_uuid());
        record_quietly(&self.ports, &event).await;
        Ok(code)
    }
}

/// Stores a one-time redirect code for `value` (`client_id`, `user_id`, `method`, and the
/// `redirect_uri`, `code_challenge`, `auth_time` and `amr` it was issued with) for two minutes
/// and returns it; only its SHA-256 is stored.
///
/// # Errors
/// The store failed.
pub(crate) async fn mint_code(ports: &Ports, value: &serde_json::Value) -> anyhow::Result<String> {
    let code = hex(&ports.random.bytes32());
    ports
        .ephemeral
        .put_value(
            &redirect_key(&sha256(code.as_bytes())),
            &value.to_string(),
            REDIRECT_CODE_TTL,
        )
        .await?;
    Ok(code)
}
