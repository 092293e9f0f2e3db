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

use authservice_domain::oidc_app::OidcApp;
use authservice_domain::secret::{hex, sha256};
use authservice_domain::sign_in::{self, Proof, SecondFactors};
use authservice_domain::{Client, User};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::tenant_issuer;
use crate::auth::AuthConfig;
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
    /// 302 to this URL: the app's `redirect_uri` with a code or an error (the request, if it
    /// waited, is answered).
    Redirect(String),
    /// 302 to a hosted page (`to`) for a waiting request. Parked just now, it is bound to this
    /// browser by `binding`, the value of the cookie `cookie_name`, which must come back to
    /// continue or decide it (a handle leaked from an address bar is no use in another
    /// browser); `None` when it was bound before.
    Park {
        to: String,
        cookie_name: String,
        binding: Option<String>,
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
}

mod begin;
mod parked;

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
