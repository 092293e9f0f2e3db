//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) at `{issuer}/logout`: with an
//! `id_token_hint` this service signed for the tenant, the browser's session and the app's
//! session named by the hint's `sid` end, and the browser goes to a registered
//! `post_logout_redirect_uri` (with `state`). Without a valid hint nothing ends unless the user
//! confirms on this server's page (a link alone cannot sign anyone out), and the browser is
//! never sent to an unregistered address.

use authservice_domain::oidc_app::OidcApp;
use authservice_domain::secret::sha256;
use authservice_domain::{Client, EventType, UserId};
use serde_json::{Value, json};
use uuid::Uuid;

use super::authorize::with_query;
use super::tenant_issuer;
use crate::context::RequestCtx;
use crate::ports::{Ports, TokenError};

/// What the logout endpoint answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutOutcome {
    /// Sessions ended: 302 to the app's registered address (with `state`), or without one a
    /// "signed out" page; `clear_cookie` when the browser's own session was among them.
    Done {
        redirect: Option<String>,
        clear_cookie: bool,
    },
    /// No valid hint: ask the user to confirm (a form posting `confirm=yes` back).
    Confirm,
    /// Shown, never redirected.
    Refuse(String),
}

/// The request's parameters.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogoutRequest<'a> {
    pub id_token_hint: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub post_logout_redirect_uri: Option<&'a str>,
    pub state: Option<&'a str>,
    /// The user confirmed on this server's page (a same-origin form post).
    pub confirmed: bool,
}

pub struct EndSession {
    ports: Ports,
    access_ttl: std::time::Duration,
    base_url: String,
}

impl EndSession {
    #[must_use]
    pub fn new(ports: &Ports, config: &crate::auth::AuthConfig) -> Self {
        Self {
            ports: ports.clone(),
            access_ttl: config.access_ttl,
            base_url: config.issuer.trim_end_matches('/').to_owned(),
        }
    }

    /// The hint's claims if this issuer signed it for one of the tenant's apps.
    async fn hint(&self, client: &Client, hint: &str) -> anyhow::Result<Option<(Value, OidcApp)>> {
        let claims = match self.ports.tokens.verify_id_token(client, hint).await {
            Ok(claims) => claims,
            Err(TokenError::Unexpected(e)) => return Err(e),
            Err(_) => return Ok(None),
        };
        if claims["iss"].as_str() != Some(tenant_issuer(&self.base_url, client).as_str()) {
            return Ok(None);
        }
        let Some(aud) = claims["aud"]
            .as_str()
            .or_else(|| claims["aud"].get(0).and_then(Value::as_str))
        else {
            return Ok(None);
        };
        match self.ports.oidc_apps.by_public_id(aud).await? {
            Some((app, _)) if app.client_id == client.id => Ok(Some((claims, app))),
            _ => Ok(None),
        }
    }

    /// Ends the sessions. `cookie`: the browser's `auth_refresh` cookie.
    ///
    /// # Errors
    /// A store failed.
    #[tracing::instrument(name = "oauth_logout", level = "debug", skip_all)]
    pub async fn execute(
        &self,
        ctx: &RequestCtx,
        client: &Client,
        request: LogoutRequest<'_>,
        cookie: Option<&str>,
    ) -> anyhow::Result<LogoutOutcome> {
        if request.id_token_hint.is_some_and(|h| h.len() > 8192)
            || request.client_id.is_some_and(|c| c.len() > 64)
            || request.state.is_some_and(|s| s.len() > 1024)
            || request
                .post_logout_redirect_uri
                .is_some_and(|u| u.len() > 2048)
        {
            return Ok(LogoutOutcome::Refuse("a parameter is too long".into()));
        }
        let hinted = match request.id_token_hint.filter(|h| !h.is_empty()) {
            Some(hint) => match self.hint(client, hint).await? {
                Some(found) => Some(found),
                None => {
                    return Ok(LogoutOutcome::Refuse(
                        "id_token_hint is not an ID token of this issuer".into(),
                    ));
                }
            },
            None => None,
        };
        let app = match (&hinted, request.client_id.filter(|c| !c.is_empty())) {
            (Some((_, app)), Some(id)) if app.public_id != id => {
                return Ok(LogoutOutcome::Refuse(
                    "client_id differs from the id_token_hint's audience".into(),
                ));
            }
            (Some((_, app)), _) => Some(app.clone()),
            (None, Some(id)) => match self.ports.oidc_apps.by_public_id(id).await? {
                Some((app, _)) if app.client_id == client.id => Some(app),
                _ => {
                    return Ok(LogoutOutcome::Refuse(
                        "no such application at this issuer".into(),
                    ));
                }
            },
            (None, None) => None,
        };
        let redirect = match request.post_logout_redirect_uri.filter(|u| !u.is_empty()) {
            None => None,
            Some(uri) => match &app {
                Some(app)
                    if app
                        .post_logout_redirect_uris
                        .iter()
                        .any(|u| u.as_str() == uri) =>
                {
                    Some(uri.to_owned())
                }
                Some(_) => {
                    return Ok(LogoutOutcome::Refuse(
                        "post_logout_redirect_uri is not registered for this application".into(),
                    ));
                }
                None => {
                    return Ok(LogoutOutcome::Refuse(
                        "post_logout_redirect_uri needs id_token_hint or client_id".into(),
                    ));
                }
            },
        };
        if hinted.is_none() && !request.confirmed {
            return Ok(LogoutOutcome::Confirm);
        }
        let now = self.ports.clock.now();
        let mut ended: Vec<(UserId, Uuid)> = Vec::new();
        let hinted_user = hinted
            .as_ref()
            .and_then(|(claims, _)| claims["sub"].as_str())
            .and_then(|s| UserId::parse(s).ok());
        // The browser's own session ends only when it is the hint's user's (or the user
        // confirmed here): someone else's ID token signs nobody out.
        let mut browser_ended = false;
        if let Some(cookie) = cookie
            .map(str::trim)
            .filter(|c| !c.is_empty() && c.len() <= 128)
        {
            let hash = sha256(cookie.as_bytes());
            let owner = self
                .ports
                .sessions
                .find_token(client.id, &hash)
                .await?
                .map(|t| t.user_id);
            if owner.is_some()
                && (hinted.is_none() || owner == hinted_user)
                && let Some(found) = self
                    .ports
                    .sessions
                    .revoke_by_token(client.id, &hash, now)
                    .await?
            {
                ended.push(found);
                browser_ended = true;
            }
        }
        if let Some((claims, _)) = &hinted
            && let (Some(user), Some(sid)) = (
                claims["sub"].as_str().and_then(|s| UserId::parse(s).ok()),
                claims["sid"].as_str().and_then(|s| Uuid::parse_str(s).ok()),
            )
            && self
                .ports
                .sessions
                .revoke_family(client.id, user, sid, "oidc_logout", now)
                .await?
        {
            ended.push((user, sid));
        }
        for (user, family) in &ended {
            crate::tokens::note_session_end(&self.ports, self.access_ttl, client.id, *user).await?;
            let mut event = ctx
                .audit(EventType::OAuthLogout)
                .client(client.id)
                .target("session", family)
                .metadata(json!({ "client_id": app.as_ref().map(|a| a.public_id.clone()) }))
                .at(now);
            event.user_id = Some(user.as_uuid());
            crate::audit::record_quietly(&self.ports, &event).await;
        }
        Ok(LogoutOutcome::Done {
            redirect: redirect.map(|uri| match request.state {
                Some(state) if !state.is_empty() => with_query(&uri, &[("state", state)]),
                _ => uri,
            }),
            clear_cookie: browser_ended,
        })
    }
}
