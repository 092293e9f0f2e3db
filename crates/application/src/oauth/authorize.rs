//! The authorization endpoint of a tenant's issuer (`/t/{slug}/authorize`, OpenID Connect Core
//! 3.1.2, RFC 6749 §4.1, RFC 7636, RFC 9207): who the app is and where it may be answered are
//! checked first, and a failure there is shown, never redirected; every later failure goes back
//! to the app's `redirect_uri` with `error`, `state` and `iss`.
//!
//! The browser's session is the hosted pages' `auth_refresh` cookie of the same tenant (a user
//! of tenant A never completes a flow at B's issuer: A's sessions are not found there). Without
//! one — or when `prompt=login` or `max_age` ask for a fresh sign-in — the request waits in the
//! ephemeral store under a random handle while the browser signs in on the hosted login page
//! (which identifies its tenant by that handle) and comes back to `…/authorize/continue`. A
//! third-party app then needs the user's consent (the hosted consent page), remembered per user
//! and app. The code is 256 random bits, stored only as its SHA-256 for `OIDC_CODE_TTL`, and
//! taken (read and deleted atomically) by the exchange.

use std::time::Duration;

use authservice_domain::oidc_app::{AppType, GrantType, OidcApp};
use authservice_domain::secret::{hex, sha256};
use authservice_domain::sign_in::{self, Proof, SecondFactors};
use authservice_domain::{Client, EventType, TokenMode, User};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::tenant_issuer;
use crate::audit::record_quietly;
use crate::auth::AuthConfig;
use crate::context::RequestCtx;
use crate::limits::{Limit, subject};
use crate::ports::{Ports, PresentedToken};

/// How long a request waits for the user to sign in or consent.
pub const REQUEST_TTL: Duration = Duration::from_secs(30 * 60);
/// Codes never live longer than this, whatever `OIDC_CODE_TTL` says (RFC 6749 §4.1.2).
const MAX_CODE_TTL: Duration = Duration::from_secs(600);
/// Longest `state` and `nonce` accepted.
const MAX_ECHO_LEN: usize = 1024;

/// What the browser is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeOutcome {
    /// Shown on a page of this server (the client or its redirect URI is not known): never
    /// sent to an unverified address.
    Refuse {
        error: &'static str,
        description: String,
    },
    /// 302 to this URL: the app's `redirect_uri` with a code or an error, or a hosted page.
    Redirect(String),
    /// 302 to a hosted page (`to`) for a request parked just now, bound to this browser: the
    /// cookie `cookie_name` = `binding` must come back to continue or decide it, so a handle
    /// that leaks from an address bar is no use in another browser.
    Park {
        to: String,
        cookie_name: String,
        binding: String,
    },
    /// Too many authorization requests from this address (`OAUTH_AUTHORIZE_RATE_LIMIT`):
    /// shown (429, `Retry-After`), nothing is stored.
    RateLimited { retry_after: Duration },
}

/// A request waiting for sign-in or consent.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    client_id: Uuid,
    app_id: Uuid,
    redirect_uri: String,
    scopes: Vec<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    prompt: Vec<String>,
    max_age: Option<i64>,
    login_hint: Option<String>,
    ui_locale: Option<String>,
    created_at: i64,
    /// Set when the request reached the consent page: the user whose session passed the
    /// sign-in rules then (only they may decide).
    #[serde(default)]
    consent_for: Option<Uuid>,
    /// SHA-256 (hex) of the secret in the cookie of the browser that started the request.
    #[serde(default)]
    browser: Option<String>,
}

/// What a code stands for until it is exchanged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CodeGrant {
    pub(crate) client_id: Uuid,
    pub(crate) app_id: Uuid,
    pub(crate) user_id: Uuid,
    pub(crate) redirect_uri: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) nonce: Option<String>,
    pub(crate) code_challenge: Option<String>,
    pub(crate) auth_time: i64,
    /// How the user signed in to the browser's session (`amr`).
    #[serde(default)]
    pub(crate) amr: Vec<String>,
    pub(crate) expires_at: i64,
}

pub(crate) fn code_key(hash: &str) -> String {
    format!("oauth_code:{hash}")
}

pub(crate) fn used_code_key(hash: &str) -> String {
    format!("oauth_code_used:{hash}")
}

fn request_key(handle: &str) -> String {
    format!("oauth_req:{}", hex(&sha256(handle.as_bytes())))
}

/// The name of the cookie that binds the request under `handle` to its browser (one per
/// request, so two sign-ins in two tabs do not overwrite each other).
#[must_use]
pub fn binding_cookie(handle: &str) -> String {
    format!("oauth_req_{}", &hex(&sha256(handle.as_bytes()))[..16])
}

/// Whether `binding` (the cookie's value) is the secret `pending` was bound to.
fn bound(pending: &Pending, binding: Option<&str>) -> bool {
    pending.browser.as_deref().is_none_or(|expected| {
        binding.is_some_and(|b| {
            authservice_domain::secret::secrets_equal(
                hex(&sha256(b.as_bytes())).as_bytes(),
                expected.as_bytes(),
            )
        })
    })
}

/// The request as the hosted pages show it.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    pub client: Client,
    pub app: OidcApp,
    pub scopes: Vec<String>,
    pub login_hint: Option<String>,
    pub prompt: Option<String>,
    pub continue_url: String,
    /// The signed-in user of the browser, if any.
    pub user: Option<User>,
}

/// Why a consent decision was refused (answered in the REST envelope).
#[derive(Debug, thiserror::Error)]
pub enum AuthorizationRequestError {
    #[error("the authorization request is unknown or has expired")]
    NotFound,
    #[error("sign in first")]
    NotSignedIn,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl crate::error::UseCaseError for AuthorizationRequestError {
    fn kind(&self) -> crate::error::ErrorKind {
        match self {
            Self::NotFound => crate::error::ErrorKind::OAuthRequestNotFound,
            Self::NotSignedIn => crate::error::ErrorKind::MissingToken,
            Self::Unexpected(_) => crate::error::ErrorKind::Internal,
        }
    }
}

pub struct Authorize {
    ports: Ports,
    config: AuthConfig,
    base_url: String,
}

/// The parameters of `/authorize` as received (query or form; each at most once).
pub type AuthorizeParams = std::collections::HashMap<String, String>;

/// Splits and checks `prompt` (OpenID Connect Core 3.1.2.1): `none` stands alone.
fn parse_prompt(raw: Option<&str>) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for value in raw.unwrap_or_default().split(' ').filter(|v| !v.is_empty()) {
        if !matches!(value, "none" | "login" | "consent" | "select_account") {
            return Err(format!(
                "prompt '{}' is not supported",
                value.chars().take(40).collect::<String>()
            ));
        }
        if !out.iter().any(|v| v == value) {
            out.push(value.to_owned());
        }
    }
    if out.len() > 1 && out.iter().any(|v| v == "none") {
        return Err("prompt=none cannot be combined with other values".into());
    }
    Ok(out)
}

/// The requested scopes, each one the app may ask for.
fn parse_scopes(raw: Option<&str>, app: &OidcApp) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for scope in raw.unwrap_or_default().split(' ').filter(|s| !s.is_empty()) {
        if !app.scopes.iter().any(|s| s == scope) {
            return Err(format!(
                "scope '{}' is not allowed for this app",
                scope.chars().take(64).collect::<String>()
            ));
        }
        if !out.iter().any(|s| s == scope) {
            out.push(scope.to_owned());
        }
    }
    if out.is_empty() {
        return Err("scope is required".into());
    }
    Ok(out)
}

/// Appends `params` to `uri`'s query (it may have one already).
pub(crate) fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let mut url = match url::Url::parse(uri) {
        Ok(url) => url,
        Err(_) => return uri.to_owned(),
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
    }
    url.to_string()
}

impl Authorize {
    #[must_use]
    pub fn new(ports: &Ports, config: &AuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            config: config.clone(),
            base_url: config.issuer.trim_end_matches('/').to_owned(),
        }
    }

    fn issuer(&self, client: &Client) -> String {
        tenant_issuer(&self.base_url, client)
    }

    /// The app's `redirect_uri` with `error` (and `state`, `iss`).
    fn error_to(
        &self,
        client: &Client,
        redirect_uri: &str,
        state: Option<&str>,
        error: &str,
        description: &str,
    ) -> AuthorizeOutcome {
        let issuer = self.issuer(client);
        let mut params = vec![("error", error), ("error_description", description)];
        if let Some(state) = state {
            params.push(("state", state));
        }
        params.push(("iss", issuer.as_str()));
        AuthorizeOutcome::Redirect(with_query(redirect_uri, &params))
    }

    /// The live session of the browser's `auth_refresh` cookie at `client`, and its user (who
    /// may sign in now).
    async fn browser_session(
        &self,
        client: &Client,
        cookie: Option<&str>,
    ) -> anyhow::Result<Option<(User, PresentedToken)>> {
        let Some(cookie) = cookie
            .map(str::trim)
            .filter(|c| !c.is_empty() && c.len() <= 128)
        else {
            return Ok(None);
        };
        let Some(token) = self
            .ports
            .sessions
            .find_token(client.id, &sha256(cookie.as_bytes()))
            .await?
        else {
            return Ok(None);
        };
        let now = self.ports.clock.now();
        let limits = crate::auth::SessionLimits::of(&self.config, client)?;
        if token.consumed
            || token.revoked
            || token.grant.is_some()
            || token.expires_at <= now
            || token.started_at <= now - limits.max_lifetime
        {
            return Ok(None);
        }
        let Some(user) = self.ports.users.get(client.id, token.user_id).await? else {
            return Ok(None);
        };
        let user = user.user;
        if sign_in::admit(client, &user, Proof::Refresh, SecondFactors::default()).is_err() {
            return Ok(None);
        }
        Ok(Some((user, token)))
    }

    /// `GET|POST {issuer}/authorize`. `cookie`: the browser's `auth_refresh` cookie.
    ///
    /// # Errors
    /// A store failed.
    #[tracing::instrument(name = "oauth_authorize", level = "debug", skip_all)]
    pub async fn begin(
        &self,
        ctx: &RequestCtx,
        client: &Client,
        params: &AuthorizeParams,
        cookie: Option<&str>,
    ) -> anyhow::Result<AuthorizeOutcome> {
        // Each request may park a pending request in the store: counted per address first.
        if let Err(retry_after) = self
            .ports
            .limits
            .take(Limit::Authorize, &subject::ip(ctx))
            .await?
        {
            return Ok(AuthorizeOutcome::RateLimited { retry_after });
        }
        let get = |name: &str| {
            params
                .get(name)
                .map(String::as_str)
                .filter(|v| !v.is_empty())
        };
        // 1. Who asks, and where it may be answered: failures are shown, not redirected.
        let Some(client_id) = get("client_id").filter(|c| c.len() <= 64) else {
            return Ok(AuthorizeOutcome::Refuse {
                error: "invalid_request",
                description: "client_id is required".into(),
            });
        };
        let app = match self.ports.oidc_apps.by_public_id(client_id).await? {
            Some((app, _)) if app.client_id == client.id => app,
            _ => {
                return Ok(AuthorizeOutcome::Refuse {
                    error: "invalid_client",
                    description: "no such application at this issuer".into(),
                });
            }
        };
        let Some(redirect_uri) = get("redirect_uri") else {
            return Ok(AuthorizeOutcome::Refuse {
                error: "invalid_request",
                description: "redirect_uri is required".into(),
            });
        };
        if !app.redirect_uris.iter().any(|u| u.as_str() == redirect_uri) {
            return Ok(AuthorizeOutcome::Refuse {
                error: "invalid_request",
                description: "redirect_uri is not registered for this application".into(),
            });
        }
        // 2. Everything else is answered at the redirect URI.
        let state = get("state");
        if state.is_some_and(|s| s.len() > MAX_ECHO_LEN) {
            return Ok(self.error_to(
                client,
                redirect_uri,
                None,
                "invalid_request",
                "state is too long",
            ));
        }
        let fail = |error: &str, description: &str| {
            Ok(self.error_to(client, redirect_uri, state, error, description))
        };
        if get("request").is_some() {
            return fail("request_not_supported", "request objects are not supported");
        }
        if get("request_uri").is_some() {
            return fail("request_uri_not_supported", "request_uri is not supported");
        }
        match get("response_type") {
            Some("code") => {}
            None => return fail("invalid_request", "response_type is required"),
            Some(_) => {
                return fail(
                    "unsupported_response_type",
                    "only response_type=code is supported",
                );
            }
        }
        if get("response_mode").is_some_and(|m| m != "query") {
            return fail("invalid_request", "only response_mode=query is supported");
        }
        if !app.grant_types.contains(&GrantType::AuthorizationCode) {
            return fail(
                "unauthorized_client",
                "this application may not use the authorization code flow",
            );
        }
        let scopes = match parse_scopes(get("scope"), &app) {
            Ok(scopes) => scopes,
            Err(e) => return fail("invalid_scope", &e),
        };
        if scopes.iter().any(|s| s == "openid") && client.token_mode != TokenMode::V2Jwks {
            return fail(
                "invalid_scope",
                "this tenant signs with a shared secret (v1_hs256): ID tokens need its v2_jwks keys",
            );
        }
        let prompt = match parse_prompt(get("prompt")) {
            Ok(prompt) => prompt,
            Err(e) => return fail("invalid_request", &e),
        };
        let code_challenge = match (get("code_challenge"), get("code_challenge_method")) {
            (None, None) if app.app_type == AppType::Public => {
                return fail(
                    "invalid_request",
                    "PKCE is required: code_challenge with code_challenge_method=S256",
                );
            }
            (None, None) => None,
            (Some(challenge), Some("S256"))
                if authservice_domain::pkce::is_s256_challenge(challenge) =>
            {
                Some(challenge.to_owned())
            }
            (Some(_), Some("S256")) => {
                return fail("invalid_request", "code_challenge is not a S256 challenge");
            }
            (_, Some("plain") | None) => {
                return fail(
                    "invalid_request",
                    "code_challenge_method must be S256 (plain is not accepted)",
                );
            }
            (_, Some(_)) => {
                return fail("invalid_request", "code_challenge_method must be S256");
            }
        };
        let nonce = get("nonce");
        if nonce.is_some_and(|n| n.len() > MAX_ECHO_LEN) {
            return fail("invalid_request", "nonce is too long");
        }
        let max_age = match get("max_age").map(str::parse::<i64>) {
            None => None,
            Some(Ok(age)) if age >= 0 => Some(age),
            Some(_) => return fail("invalid_request", "max_age must be a number of seconds"),
        };
        let login_hint = get("login_hint").map(|h| h.chars().take(320).collect::<String>());
        let ui_locale = get("ui_locales")
            .and_then(|l| l.split(' ').next())
            .map(|l| l.chars().take(16).collect::<String>());
        let pending = Pending {
            client_id: client.id.as_uuid(),
            app_id: app.id,
            redirect_uri: redirect_uri.to_owned(),
            scopes,
            state: state.map(str::to_owned),
            nonce: nonce.map(str::to_owned),
            code_challenge,
            prompt,
            max_age,
            login_hint,
            ui_locale,
            created_at: self.ports.clock.now().timestamp(),
            consent_for: None,
            browser: None,
        };
        let session = self.browser_session(client, cookie).await?;
        self.decide(client, &app, pending, None, session).await
    }

    /// What comes next for `pending`: sign-in, consent, or the code. `handle`: the request is
    /// stored already under it (the browser comes back from a hosted page).
    async fn decide(
        &self,
        client: &Client,
        app: &OidcApp,
        pending: Pending,
        handle: Option<&str>,
        session: Option<(User, PresentedToken)>,
    ) -> anyhow::Result<AuthorizeOutcome> {
        let now = self.ports.clock.now().timestamp();
        let has = |p: &str| pending.prompt.iter().any(|v| v == p);
        // Back from the hosted page, a sign-in since the request began satisfies prompt=login
        // and any max_age; otherwise a session does only what max_age allows.
        let fresh =
            |s: &PresentedToken| handle.is_some() && s.auth_time.timestamp() >= pending.created_at;
        let needs_login = match &session {
            None => true,
            Some((_, s)) => {
                !fresh(s)
                    && (has("login")
                        || pending
                            .max_age
                            .is_some_and(|age| now - s.auth_time.timestamp() > age))
            }
        };
        let state = pending.state.as_deref();
        if needs_login {
            if has("none") {
                return Ok(self.error_to(
                    client,
                    &pending.redirect_uri,
                    state,
                    "login_required",
                    "the user is not signed in",
                ));
            }
            let mut extra = Vec::new();
            if let Some(hint) = &pending.login_hint {
                extra.push(("email", hint.clone()));
            }
            if let Some(locale) = &pending.ui_locale {
                extra.push(("locale", locale.clone()));
            }
            return self.park(pending, handle, "login.html", &extra).await;
        }
        let Some((user, session)) = session else {
            return Err(anyhow::anyhow!("unreachable: a session is present here"));
        };
        if !app.first_party {
            let granted = self
                .ports
                .consents
                .granted(client.id, user.id, app.id)
                .await?
                .unwrap_or_default();
            let covered = pending.scopes.iter().all(|s| granted.contains(s));
            if has("consent") || !covered {
                if has("none") {
                    return Ok(self.error_to(
                        client,
                        &pending.redirect_uri,
                        state,
                        "consent_required",
                        "the user has not allowed this application",
                    ));
                }
                let pending = Pending {
                    consent_for: Some(user.id.as_uuid()),
                    ..pending
                };
                return self.park(pending, handle, "consent.html", &[]).await;
            }
        }
        // A waiting request is answered once: of concurrent continuations one takes it.
        if let Some(handle) = handle
            && self
                .ports
                .ephemeral
                .take(&request_key(handle))
                .await?
                .is_none()
        {
            return Ok(AuthorizeOutcome::Refuse {
                error: "invalid_request",
                description: "the authorization request was already answered".into(),
            });
        }
        self.issue_code(client, &pending, &user, &session).await
    }

    /// Parks `pending` for the hosted `page` (with `extra` query parameters): a request parked
    /// for the first time is bound to this browser by a new secret (the `Park` outcome's
    /// cookie); one parked again (login, then consent) keeps its binding.
    async fn park(
        &self,
        pending: Pending,
        handle: Option<&str>,
        page: &str,
        extra: &[(&str, String)],
    ) -> anyhow::Result<AuthorizeOutcome> {
        let binding = handle.is_none().then(|| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.ports.random.bytes32())
        });
        let pending = Pending {
            browser: binding
                .as_deref()
                .map(|b| hex(&sha256(b.as_bytes())))
                .or(pending.browser),
            ..pending
        };
        let handle = self.store(&pending, handle).await?;
        let mut params = vec![("oauth_request", handle.as_str())];
        params.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
        let to = with_query(&format!("{}/{page}", self.base_url), &params);
        Ok(match binding {
            Some(binding) => AuthorizeOutcome::Park {
                to,
                cookie_name: binding_cookie(&handle),
                binding,
            },
            None => AuthorizeOutcome::Redirect(to),
        })
    }

    /// Stores `pending` (under its existing handle, or a new one); returns the handle.
    async fn store(&self, pending: &Pending, handle: Option<&str>) -> anyhow::Result<String> {
        let handle = handle.map_or_else(
            || base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.ports.random.bytes32()),
            str::to_owned,
        );
        let elapsed =
            u64::try_from(self.ports.clock.now().timestamp() - pending.created_at).unwrap_or(0);
        let ttl = REQUEST_TTL.saturating_sub(Duration::from_secs(elapsed));
        if ttl.is_zero() {
            return Err(anyhow::anyhow!("authorization request expired"));
        }
        self.ports
            .ephemeral
            .put_value(&request_key(&handle), &serde_json::to_string(pending)?, ttl)
            .await?;
        Ok(handle)
    }

    async fn issue_code(
        &self,
        client: &Client,
        pending: &Pending,
        user: &User,
        session: &PresentedToken,
    ) -> anyhow::Result<AuthorizeOutcome> {
        let code =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.ports.random.bytes32());
        let hash = hex(&sha256(code.as_bytes()));
        let ttl = self.config.oidc_code_ttl.min(MAX_CODE_TTL);
        let grant = CodeGrant {
            client_id: client.id.as_uuid(),
            app_id: pending.app_id,
            user_id: user.id.as_uuid(),
            redirect_uri: pending.redirect_uri.clone(),
            scopes: pending.scopes.clone(),
            nonce: pending.nonce.clone(),
            code_challenge: pending.code_challenge.clone(),
            auth_time: session.auth_time.timestamp(),
            amr: session.amr.clone(),
            expires_at: self.ports.clock.now().timestamp()
                + i64::try_from(ttl.as_secs()).unwrap_or(60),
        };
        self.ports
            .ephemeral
            .put_value(&code_key(&hash), &serde_json::to_string(&grant)?, ttl)
            .await?;
        let issuer = self.issuer(client);
        let mut params = vec![("code", code.as_str())];
        if let Some(state) = &pending.state {
            params.push(("state", state.as_str()));
        }
        params.push(("iss", issuer.as_str()));
        Ok(AuthorizeOutcome::Redirect(with_query(
            &pending.redirect_uri,
            &params,
        )))
    }

    /// The waiting request under `handle`, with its tenant and app (both still active).
    async fn pending(
        &self,
        handle: &str,
    ) -> Result<(Pending, Client, OidcApp), AuthorizationRequestError> {
        if handle.is_empty() || handle.len() > 64 {
            return Err(AuthorizationRequestError::NotFound);
        }
        let raw = self
            .ports
            .ephemeral
            .get_value(&request_key(handle))
            .await?
            .ok_or(AuthorizationRequestError::NotFound)?;
        let pending: Pending = serde_json::from_str(&raw).map_err(anyhow::Error::from)?;
        let client = self
            .ports
            .clients
            .get(authservice_domain::ClientId::from_uuid(pending.client_id))
            .await?
            .filter(Client::is_active)
            .ok_or(AuthorizationRequestError::NotFound)?;
        let app = self
            .ports
            .oidc_apps
            .get(client.id, pending.app_id)
            .await?
            .ok_or(AuthorizationRequestError::NotFound)?;
        Ok((pending, client, app))
    }

    /// The tenant a hosted page acts for while it serves the request under `handle` (in place
    /// of an API key).
    ///
    /// # Errors
    /// `NotFound` when the handle is unknown or expired; a store failed.
    pub async fn client_of(&self, handle: &str) -> Result<Client, AuthorizationRequestError> {
        self.pending(handle).await.map(|(_, client, _)| client)
    }

    /// `GET /api/auth/oauth-requests/{handle}`: what the hosted pages show.
    ///
    /// # Errors
    /// `NotFound`; a store failed.
    pub async fn info(
        &self,
        handle: &str,
        cookie: Option<&str>,
    ) -> Result<RequestInfo, AuthorizationRequestError> {
        let (pending, client, app) = self.pending(handle).await?;
        let user = self
            .browser_session(&client, cookie)
            .await?
            .map(|(user, _)| user);
        let issuer_path = format!("/t/{}", client.slug.as_str());
        Ok(RequestInfo {
            continue_url: format!("{issuer_path}/authorize/continue?request={handle}"),
            scopes: pending.scopes,
            login_hint: pending.login_hint,
            prompt: pending.prompt.first().cloned(),
            user,
            client,
            app,
        })
    }

    /// `GET {issuer}/authorize/continue?request=…`: the browser is back from the hosted login
    /// page.
    ///
    /// # Errors
    /// A store failed.
    pub async fn resume(
        &self,
        client: &Client,
        handle: &str,
        cookie: Option<&str>,
        binding: Option<&str>,
    ) -> anyhow::Result<AuthorizeOutcome> {
        let (pending, owner, app) = match self.pending(handle).await {
            Ok(found) => found,
            Err(AuthorizationRequestError::NotFound) => {
                return Ok(AuthorizeOutcome::Refuse {
                    error: "invalid_request",
                    description: "the authorization request is unknown or has expired; start again from the application".into(),
                });
            }
            Err(e) => return Err(anyhow::anyhow!(e)),
        };
        if owner.id != client.id {
            return Ok(AuthorizeOutcome::Refuse {
                error: "invalid_request",
                description: "the authorization request belongs to another issuer".into(),
            });
        }
        if !bound(&pending, binding) {
            return Ok(AuthorizeOutcome::Refuse {
                error: "invalid_request",
                description:
                    "this sign-in was started in another browser; start again from the application"
                        .into(),
            });
        }
        let session = self.browser_session(client, cookie).await?;
        self.decide(client, &app, pending, Some(handle), session)
            .await
    }

    /// `POST /api/auth/oauth-requests/{handle}/consent`: the signed-in user allows (or denies)
    /// the app what it asked. Returns where the browser goes next (the app's redirect URI with
    /// a code, or with `access_denied`).
    ///
    /// # Errors
    /// `NotFound`, `NotSignedIn`; a store failed.
    pub async fn consent(
        &self,
        ctx: &RequestCtx,
        handle: &str,
        cookie: Option<&str>,
        binding: Option<&str>,
        approve: bool,
    ) -> Result<String, AuthorizationRequestError> {
        let (pending, client, app) = self.pending(handle).await?;
        if !bound(&pending, binding) {
            return Err(AuthorizationRequestError::NotFound);
        }
        let Some((user, session)) = self.browser_session(&client, cookie).await? else {
            return Err(AuthorizationRequestError::NotSignedIn);
        };
        // Only a request that reached the consent page with this user's session (which then
        // passed prompt=login and max_age) may be decided.
        if pending.consent_for != Some(user.id.as_uuid()) {
            return Err(AuthorizationRequestError::NotFound);
        }
        let now = self.ports.clock.now();
        let mut event = ctx
            .audit(if approve {
                EventType::OAuthConsentGranted
            } else {
                EventType::OAuthConsentDenied
            })
            .client(client.id)
            .target("oidc_app", app.id)
            .metadata(json!({ "client_id": app.public_id, "scopes": pending.scopes }))
            .at(now);
        event.user_id = Some(user.id.as_uuid());
        if self
            .ports
            .ephemeral
            .take(&request_key(handle))
            .await?
            .is_none()
        {
            return Err(AuthorizationRequestError::NotFound);
        }
        if !approve {
            record_quietly(&self.ports, &event).await;
            let AuthorizeOutcome::Redirect(to) = self.error_to(
                &client,
                &pending.redirect_uri,
                pending.state.as_deref(),
                "access_denied",
                "the user denied the request",
            ) else {
                return Err(anyhow::anyhow!("an error answer is a redirect").into());
            };
            return Ok(to);
        }
        self.ports
            .consents
            .grant(client.id, user.id, app.id, &pending.scopes, now, &event)
            .await?;
        match self.issue_code(&client, &pending, &user, &session).await? {
            AuthorizeOutcome::Redirect(to) => Ok(to),
            AuthorizeOutcome::Refuse { description, .. } => {
                Err(anyhow::anyhow!("unexpected refusal: {description}").into())
            }
            AuthorizeOutcome::RateLimited { .. } | AuthorizeOutcome::Park { .. } => {
                Err(anyhow::anyhow!("unexpected answer issuing a code").into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_none_stands_alone() {
        assert_eq!(parse_prompt(Some("login consent")).unwrap().len(), 2);
        assert!(parse_prompt(Some("none login")).is_err());
        assert!(parse_prompt(Some("sometimes")).is_err());
        assert!(parse_prompt(None).unwrap().is_empty());
    }

    #[test]
    fn query_is_appended_to_an_existing_one() {
        let to = with_query(
            "https://rp.example/cb?x=1",
            &[("code", "a b"), ("state", "s&t")],
        );
        assert_eq!(to, "https://rp.example/cb?x=1&code=a+b&state=s%26t");
    }
}
