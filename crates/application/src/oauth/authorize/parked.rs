//! A request waiting for the hosted pages: parked under a random handle and bound to the
//! browser that began it, shown to the login and consent pages, continued once signed in, and
//! decided on the consent page.

use std::time::Duration;

use authservice_domain::oidc_app::OidcApp;
use authservice_domain::secret::{hex, sha256};
use authservice_domain::{Client, EventType};
use base64::Engine;
use serde_json::json;

use super::{
    AuthorizationRequestError, Authorize, AuthorizeOutcome, Pending, REQUEST_TTL, RequestInfo,
    binding_cookie, bound, request_key, with_query,
};
use crate::audit::record_quietly;
use crate::context::RequestCtx;
use crate::ports::Write;

impl Authorize {
    /// Parks `pending` for the hosted `page` (with `extra` query parameters): a request parked
    /// for the first time is bound to this browser by a new secret (the `Park` outcome's
    /// cookie); one parked again (login, then consent) keeps its binding.
    pub(super) async fn park(
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
        Ok(AuthorizeOutcome::Park {
            to,
            cookie_name: binding_cookie(&handle),
            binding,
        })
    }

    /// Stores `pending` (under its existing handle, or a new one); returns the handle.
    pub(super) async fn store(
        &self,
        pending: &Pending,
        handle: Option<&str>,
    ) -> anyhow::Result<String> {
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

    /// The waiting request under `handle`, with its tenant and app (both still active).
    pub(super) async fn pending(
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
        let granted = self
            .ports
            .uow
            .commit(vec![
                Write::GrantConsent {
                    client: client.id,
                    user: user.id,
                    app: app.id,
                    scopes: pending.scopes.clone(),
                    at: now,
                },
                Write::Audit(event),
            ])
            .await?;
        if !granted.is_all() {
            // The app was deleted meanwhile.
            return Err(AuthorizationRequestError::NotFound);
        }
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
